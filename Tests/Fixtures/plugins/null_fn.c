/* null_fn.c — a function's fn pointer is NULL: the loader must refuse it (invalid function: function pointer is NULL). */
#include "plughost/plughost.h"

static const ph_function bad_fn = {
    .struct_size = sizeof(ph_function),
    .name = "f",
    .doc = "see the first line of this file",
    .fn = NULL /* the defect */,
    .return_type = PH_TYPE_INT32,
    .param_count = 0,
    .param_types = NULL,
    .param_names = NULL,
    .flags = 0,
};

static const ph_function *const functions[] = {&bad_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .min_host_abi_minor = 0,
    .name = "null_fn",
    .version = "1.0.0",
    .description = "function without code",
    .function_count = 1,
    .functions = functions,
    .init = NULL,
    .shutdown = NULL,
    .free_value = NULL,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
