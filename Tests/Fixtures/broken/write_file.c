/* write_file.c — run() creates /tmp/plughost-broken-write-test for writing; returns errno, or 0 when it could (then removes it). */
#include "plughost/plughost.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define PROBE_PATH "/tmp/plughost-broken-write-test"

static int32_t run(void) {
    int fd = open(PROBE_PATH, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return errno;
    close(fd);
    unlink(PROBE_PATH);
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "probe: writes a file outside the grants",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "write_file",
    .version = "1.0.0",
    .description = "probe: writes a file outside the grants",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
