/* bad_utf8.c — run() returns the string "\xff\xfe", which is not UTF-8. */
#include "plughost/plughost.h"

static const char *run(void) {
    return "\xff\xfe";
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "returns bytes ff fe",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_STRING,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "bad_utf8",
    .version = "1.0.0",
    .description = "broken: returns a string that is not UTF-8",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
