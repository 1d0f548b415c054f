/* segv.c — run() writes through a NULL pointer: the worker dies of SIGSEGV. */
#include "plughost/plughost.h"

#include <stddef.h>

static int32_t run(void) {
    volatile int *volatile target = NULL; /* both volatile: the store can be neither dropped nor turned into a trap */
    *target = 42;
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "writes through NULL",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "segv",
    .version = "1.0.0",
    .description = "broken: SIGSEGV in run",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
