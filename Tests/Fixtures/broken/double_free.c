/* double_free.c — run() frees the same malloc'd block twice: glibc detects it and aborts (SIGABRT). */
#include "plughost/plughost.h"

#include <stdlib.h>

static int32_t run(void) {
    char *volatile block = malloc(32); /* volatile: the compiler cannot see (and drop) the second free */
    free(block);
    free(block);
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: double free in run",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "double_free",
    .version = "1.0.0",
    .description = "broken: double free in run",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
