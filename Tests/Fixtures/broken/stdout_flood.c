/* stdout_flood.c — run() prints 4 MiB of 'x' lines to stdout and 4 MiB to stderr, then returns 42: the host must drain both pipes. */
#include "plughost/plughost.h"

#include <stdio.h>
#include <string.h>

#define FLOOD_BYTES (4 << 20)
#define LINE_BYTES 64

static int32_t run(void) {
    char line[LINE_BYTES + 1];
    memset(line, 'x', LINE_BYTES - 1);
    line[LINE_BYTES - 1] = '\n';
    line[LINE_BYTES] = '\0';
    for (int i = 0; i < FLOOD_BYTES / LINE_BYTES; i++) printf("%s", line);
    fflush(stdout);
    for (int i = 0; i < FLOOD_BYTES / LINE_BYTES; i++) fputs(line, stderr);
    fflush(stderr);
    return 42;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: floods stdout and stderr",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "stdout_flood",
    .version = "1.0.0",
    .description = "broken: floods stdout and stderr",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
