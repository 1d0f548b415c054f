/* no_entry.c — exports no plughost_plugin_entry (only a near-miss name): the loader must report a missing entry point. */
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
    .name = "no_entry",
    .version = "1.0.0",
    .description = "a valid descriptor behind the wrong symbol name",
    .function_count = 1,
    .functions = functions,
    .init = NULL,
    .shutdown = NULL,
    .free_value = NULL,
};

/* Wrong name on purpose: the host looks up PLUGHOST_ENTRY_NAME ("plughost_plugin_entry") only. */
PH_EXPORT const ph_plugin *plughost_plugin_main(void);
PH_EXPORT const ph_plugin *plughost_plugin_main(void) {
    return &plugin;
}
