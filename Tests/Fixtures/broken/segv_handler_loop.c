/* segv_handler_loop.c — run() installs a SIGSEGV handler that just returns, then writes through NULL: the fault repeats for ever (a hang, not a crash). */
#include "plughost/plughost.h"

#include <signal.h>
#include <string.h>

static void ignore_fault(int sig) {
    (void)sig; /* returning re-runs the faulting store */
}

static int32_t run(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = ignore_fault;
    sigaction(SIGSEGV, &action, NULL);
    volatile int *volatile target = NULL;
    *target = 1;
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: run faults in a loop",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "segv_handler_loop",
    .version = "1.0.0",
    .description = "broken: run faults in a loop",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
