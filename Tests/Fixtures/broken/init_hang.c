/* init_hang.c — init() spins for ever: the load never finishes. */
#include "plughost/plughost.h"

static bool init(const ph_host_api *host) {
    (void)host;
    for (volatile unsigned long spins = 0;; spins++) {
    }
    return true;
}

static int32_t run(void) {
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: init never returns",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "init_hang",
    .version = "1.0.0",
    .description = "broken: init never returns",
    .function_count = 1,
    .functions = functions,
    .init = init,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
