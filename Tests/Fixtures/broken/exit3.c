/* exit3.c — run() calls _exit(3): the worker quits at once with status 3. */
#include "plughost/plughost.h"

#include <unistd.h>

static int32_t run(void) {
    _exit(3);
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: run calls _exit(3)",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "exit3",
    .version = "1.0.0",
    .description = "broken: run calls _exit(3)",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
