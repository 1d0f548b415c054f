/* shutdown_crash.c — run() returns 1 fine; shutdown() then writes through NULL when the worker unloads the plugin. */
#include "plughost/plughost.h"

static void shutdown(void) {
    volatile int *volatile target = NULL;
    *target = 1;
}

static int32_t run(void) {
    return 1;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: shutdown crashes",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "shutdown_crash",
    .version = "1.0.0",
    .description = "broken: shutdown crashes",
    .function_count = 1,
    .functions = functions,
    .shutdown = shutdown,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
