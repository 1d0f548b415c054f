/* exit0.c — run() calls exit(0): the worker quits with success but never answers. */
#include "plughost/plughost.h"

#include <stdlib.h>

static int32_t run(void) {
    exit(0);
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: run calls exit(0)",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "exit0",
    .version = "1.0.0",
    .description = "broken: run calls exit(0)",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
