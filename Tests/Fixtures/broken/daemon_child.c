/* daemon_child.c — run() forks a child that setsid()s and sleeps 60 s holding every inherited fd; the parent then writes through NULL. */
#include "plughost/plughost.h"

#include <unistd.h>

static int32_t run(void) {
    pid_t child = fork();
    if (child == 0) {
        setsid(); /* leaves the worker's process group */
        sleep(60);
        _exit(0);
    }
    volatile int *volatile target = NULL;
    *target = 1;
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: leaves a daemon behind, then crashes",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "daemon_child",
    .version = "1.0.0",
    .description = "broken: leaves a daemon behind, then crashes",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
