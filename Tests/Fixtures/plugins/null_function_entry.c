/* null_function_entry.c — the functions array holds a NULL pointer: the loader must refuse it (invalid function: functions[1] is NULL). */
#include "plughost/plughost.h"

static int32_t answer(void) {
    return 42;
}

static const ph_function answer_fn = {
    .struct_size = sizeof(ph_function),
    .name = "answer",
    .doc = "returns 42",
    .fn = (void (*)(void))answer,
    .return_type = PH_TYPE_INT32,
    .param_count = 0,
    .param_types = NULL,
    .param_names = NULL,
    .flags = PH_FN_THREAD_SAFE,
};

/* Two entries declared; the second one is NULL. */
static const ph_function *const functions[] = {&answer_fn, NULL};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .min_host_abi_minor = 0,
    .name = "null_function_entry",
    .version = "1.0.0",
    .description = "functions[1] is NULL",
    .function_count = 2,
    .functions = functions,
    .init = NULL,
    .shutdown = NULL,
    .free_value = NULL,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
