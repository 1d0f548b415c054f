/* null_string.c — run() returns a NULL string without calling set_error. */
#include "plughost/plughost.h"

static const char *run(void) {
    return NULL;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "returns NULL",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_STRING,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "null_string",
    .version = "1.0.0",
    .description = "broken: returns NULL for a string",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
