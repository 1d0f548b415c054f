/* unknown_flag.c — a function's flags has bit 1u << 20 set, unknown to ABI 1.0: the loader must refuse it (invalid function: unknown flag bits 0x100000). */
#include "plughost/plughost.h"

static int32_t f(int32_t x) {
    return x;
}

static const uint32_t param_types[] = {PH_TYPE_INT32};
static const char *const param_names[] = {"x"};

static const ph_function bad_fn = {
    .struct_size = sizeof(ph_function),
    .name = "f",
    .doc = "see the first line of this file",
    .fn = (void (*)(void))f,
    .return_type = PH_TYPE_INT32,
    .param_count = 1,
    .param_types = param_types,
    .param_names = param_names,
    .flags = PH_FN_THREAD_SAFE | (1u << 20),
};

static const ph_function *const functions[] = {&bad_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .min_host_abi_minor = 0,
    .name = "unknown_flag",
    .version = "1.0.0",
    .description = "function with an unknown flag bit",
    .function_count = 1,
    .functions = functions,
    .init = NULL,
    .shutdown = NULL,
    .free_value = NULL,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
