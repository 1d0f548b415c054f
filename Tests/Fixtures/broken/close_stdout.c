/* close_stdout.c — run() closes its stdout and stderr, then returns 42. */
#include "plughost/plughost.h"

#include <unistd.h>

static int32_t run(void) {
    close(1);
    close(2);
    return 42;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: closes fds 1 and 2",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "close_stdout",
    .version = "1.0.0",
    .description = "broken: closes fds 1 and 2",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
