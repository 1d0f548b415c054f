/* dup_functions.c — two functions are both named "f": the loader must refuse it (invalid function: repeated name). */
#include "plughost/plughost.h"

static int32_t f_one(void) {
    return 1;
}

static int32_t f_two(void) {
    return 2;
}

static const ph_function f1 = {
    .struct_size = sizeof(ph_function),
    .name = "f",
    .doc = "returns 1",
    .fn = (void (*)(void))f_one,
    .return_type = PH_TYPE_INT32,
    .param_count = 0,
    .param_types = NULL,
    .param_names = NULL,
    .flags = 0,
};

/* Same name as f1. */
static const ph_function f2 = {
    .struct_size = sizeof(ph_function),
    .name = "f",
    .doc = "returns 2",
    .fn = (void (*)(void))f_two,
    .return_type = PH_TYPE_INT32,
    .param_count = 0,
    .param_types = NULL,
    .param_names = NULL,
    .flags = 0,
};

static const ph_function *const functions[] = {&f1, &f2};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .min_host_abi_minor = 0,
    .name = "dup_functions",
    .version = "1.0.0",
    .description = "two functions named f",
    .function_count = 2,
    .functions = functions,
    .init = NULL,
    .shutdown = NULL,
    .free_value = NULL,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
