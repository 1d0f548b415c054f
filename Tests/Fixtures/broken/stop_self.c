/* stop_self.c — run() sends itself SIGSTOP: the worker is stopped, not dead (no exit for a pidfd to report). */
#include "plughost/plughost.h"

#include <signal.h>

static int32_t run(void) {
    raise(SIGSTOP);
    return 1; /* reached only if someone sends SIGCONT */
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: run stops its own process",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "stop_self",
    .version = "1.0.0",
    .description = "broken: run stops its own process",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
