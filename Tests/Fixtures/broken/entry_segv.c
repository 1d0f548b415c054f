/* entry_segv.c — plughost_plugin_entry() itself writes through NULL: the load crashes (SIGSEGV) before a descriptor exists. */
#include "plughost/plughost.h"

static int32_t run(void) {
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: entry point crashes",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "entry_segv",
    .version = "1.0.0",
    .description = "broken: entry point crashes",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    volatile int *volatile target = NULL; /* crashes before it can return the descriptor */
    *target = 1;
    return &plugin;
}
