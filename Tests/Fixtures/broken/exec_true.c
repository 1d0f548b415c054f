/* exec_true.c — run() replaces the worker with /bin/true (execl): the process lives on as another program and exits 0. */
#include "plughost/plughost.h"

#include <errno.h>
#include <unistd.h>

static int32_t run(void) {
    execl("/bin/true", "true", (char *)NULL);
    return errno; /* only if the exec was refused */
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: run execs /bin/true",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "exec_true",
    .version = "1.0.0",
    .description = "broken: run execs /bin/true",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
