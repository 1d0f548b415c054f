/* channel_scribble.c — run() writes 64 bytes of 0xff to every fd from 3 to 20 (the worker's channel among them), ignoring errors; returns 1. */
#include "plughost/plughost.h"

#include <string.h>
#include <unistd.h>

static int32_t run(void) {
    unsigned char garbage[64];
    memset(garbage, 0xff, sizeof garbage); /* as a frame header: a length of 4 GiB - 1 */
    for (int fd = 3; fd <= 20; fd++) {
        ssize_t ignored = write(fd, garbage, sizeof garbage);
        (void)ignored;
    }
    return 1;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: writes garbage to inherited descriptors",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "channel_scribble",
    .version = "1.0.0",
    .description = "broken: writes garbage to inherited descriptors",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
