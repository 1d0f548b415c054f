/* dup_param_names.c — a function has two parameters both named "x": the loader must refuse it (invalid function: parameter name x is used twice). */
#include "plughost/plughost.h"

static int32_t f(int32_t x, int32_t y) {
    return x + y;
}

static const uint32_t param_types[] = {PH_TYPE_INT32, PH_TYPE_INT32};
static const char *const param_names[] = {"x", "x"};

static const ph_function bad_fn = {
    .struct_size = sizeof(ph_function),
    .name = "f",
    .doc = "see the first line of this file",
    .fn = (void (*)(void))f,
    .return_type = PH_TYPE_INT32,
    .param_count = 2,
    .param_types = param_types,
    .param_names = param_names,
    .flags = 0,
};

static const ph_function *const functions[] = {&bad_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .min_host_abi_minor = 0,
    .name = "dup_param_names",
    .version = "1.0.0",
    .description = "parameter name used twice",
    .function_count = 1,
    .functions = functions,
    .init = NULL,
    .shutdown = NULL,
    .free_value = NULL,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
