/* abi_major_new.c — built for ABI major PLUGHOST_ABI_MAJOR + 1: the loader must refuse it (ABI major mismatch). */
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

/* Otherwise valid: only abi_major is wrong. */
static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR + 1,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .min_host_abi_minor = 0,
    .name = "abi_major_new",
    .version = "1.0.0",
    .description = "claims the next ABI major version",
    .function_count = 1,
    .functions = functions,
    .init = NULL,
    .shutdown = NULL,
    .free_value = NULL,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
