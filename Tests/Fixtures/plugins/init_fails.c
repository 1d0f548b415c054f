/* init_fails.c — init logs an error through host->log and returns false: the loader must refuse it (init failed) and pass on the logged message. */
#include "plughost/plughost.h"

/** The message init logs; the loader's error should contain it. */
#define INIT_FAILS_MESSAGE "init_fails: the required resource is missing"

static int32_t answer(void) {
    return 42;
}

static bool refuse(const ph_host_api *host) {
    host->log(NULL, PH_LOG_ERROR, INIT_FAILS_MESSAGE);
    return false;
}

static const ph_function answer_fn = {
    .struct_size = sizeof(ph_function),
    .name = "answer",
    .doc = "returns 42 (never reachable: init refuses)",
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
    .name = "init_fails",
    .version = "1.0.0",
    .description = "init always refuses",
    .function_count = 1,
    .functions = functions,
    .init = refuse,
    .shutdown = NULL,
    .free_value = NULL,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
