/* read_home.c — run() opens $HOME/.profile, $HOME/.bashrc or /root/.bashrc for reading; returns 0 on the first it could open, else the errno. */
#include "plughost/plughost.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int32_t run(void) {
    const char *home = getenv("HOME");
    char profile[4096], bashrc[4096];
    snprintf(profile, sizeof profile, "%s/.profile", home != NULL ? home : "/root");
    snprintf(bashrc, sizeof bashrc, "%s/.bashrc", home != NULL ? home : "/root");
    const char *paths[] = {profile, bashrc, "/root/.bashrc"};
    int32_t result = ENOENT;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int fd = open(paths[i], O_RDONLY);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        if (errno != ENOENT && result == ENOENT) result = errno; /* the first refusal, not a missing file */
    }
    return result;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "probe: reads the user's home",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "read_home",
    .version = "1.0.0",
    .description = "probe: reads the user's home",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
