/* sleep_forever.c — run() calls pause() in a loop: it never returns and uses no CPU. */
#include "plughost/plughost.h"

#include <unistd.h>

static int32_t run(void) {
    for (;;) pause();
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: run sleeps for ever",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "sleep_forever",
    .version = "1.0.0",
    .description = "broken: run sleeps for ever",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
