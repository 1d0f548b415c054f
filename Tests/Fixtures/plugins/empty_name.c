/* empty_name.c — the descriptor's name is "": the loader must refuse it (invalid descriptor: name is empty). */
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

static const ph_function *const functions[] = {&answer_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .min_host_abi_minor = 0,
    .name = "",
    .version = "1.0.0",
    .description = "plugin with an empty name",
    .function_count = 1,
    .functions = functions,
    .init = NULL,
    .shutdown = NULL,
    .free_value = NULL,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
