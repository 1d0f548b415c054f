/* sigbus_or_kill.c — run() sends itself SIGKILL: the worker vanishes without a handler, a core or a message. */
#include "plughost/plughost.h"

#include <signal.h>

static int32_t run(void) {
    raise(SIGKILL);
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: raise(SIGKILL) in run",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "sigbus_or_kill",
    .version = "1.0.0",
    .description = "broken: raise(SIGKILL) in run",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
