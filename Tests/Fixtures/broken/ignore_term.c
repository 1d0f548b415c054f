/* ignore_term.c — run() ignores SIGTERM (and SIGINT, SIGHUP), then spins: only SIGKILL stops it. */
#include "plughost/plughost.h"

#include <signal.h>

static int32_t run(void) {
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    for (volatile unsigned long spins = 0;; spins++) {
    }
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: run ignores SIGTERM and spins",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "ignore_term",
    .version = "1.0.0",
    .description = "broken: run ignores SIGTERM and spins",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
