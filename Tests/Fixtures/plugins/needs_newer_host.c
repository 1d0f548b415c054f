/* needs_newer_host.c — min_host_abi_minor = PLUGHOST_ABI_MINOR + 1: the loader must refuse it (needs a newer host). */
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

/* Built "against" the next minor and needs it: an older host must say no. */
static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR + 1,
    .min_host_abi_minor = PLUGHOST_ABI_MINOR + 1,
    .name = "needs_newer_host",
    .version = "1.0.0",
    .description = "needs a host one minor version newer",
    .function_count = 1,
    .functions = functions,
    .init = NULL,
    .shutdown = NULL,
    .free_value = NULL,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
