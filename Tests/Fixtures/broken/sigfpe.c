/* sigfpe.c — run() divides an integer by a volatile zero: the worker dies of SIGFPE (x86-64; arm64 does not trap). */
#include "plughost/plughost.h"

static int32_t run(void) {
    volatile int32_t zero = 0;
    volatile int32_t one = 1;
    return one / zero;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: integer division by zero in run",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "sigfpe",
    .version = "1.0.0",
    .description = "broken: integer division by zero in run",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
