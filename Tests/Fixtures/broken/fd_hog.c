/* fd_hog.c — run() opens /dev/null until open() fails, never closes, and returns the count (int64). */
#include "plughost/plughost.h"

#include <fcntl.h>

static int64_t run(void) {
    int64_t opened = 0;
    while (opened < 10000000 && open("/dev/null", O_RDONLY) >= 0) opened++;
    return opened;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "number of descriptors opened",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT64,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "fd_hog",
    .version = "1.0.0",
    .description = "broken: opens files until it cannot",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
