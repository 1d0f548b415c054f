/* init_exit.c — init() calls _exit(0): the worker quits in the middle of the load, with status 0 and no signal. */
#include "plughost/plughost.h"

#include <unistd.h>

static bool init(const ph_host_api *host) {
    (void)host;
    _exit(0);
}

static int32_t run(void) {
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: init exits the process",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "init_exit",
    .version = "1.0.0",
    .description = "broken: init exits the process",
    .function_count = 1,
    .functions = functions,
    .init = init,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
