/* channel_close.c — run() closes fds 3 and 4 (the worker's channel), then returns 1: the answer has nowhere to go. */
#include "plughost/plughost.h"

#include <unistd.h>

static int32_t run(void) {
    close(3);
    close(4);
    return 1;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: closes the worker's channel",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "channel_close",
    .version = "1.0.0",
    .description = "broken: closes the worker's channel",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
