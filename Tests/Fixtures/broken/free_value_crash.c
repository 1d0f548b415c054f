/* free_value_crash.c — run() returns a malloc'd string (RETURNS_PLUGIN_ALLOC) and the descriptor's free_value then writes through NULL (SIGSEGV). */
#include "plughost/plughost.h"

#include <stdlib.h>
#include <string.h>

static const char *run(void) {
    char *value = malloc(32);
    if (value != NULL) strcpy(value, "a perfectly fine string");
    return value;
}

/* Called by the host after it copied the string. */
static void free_value(void *value) {
    (void)value;
    volatile int *volatile target = NULL;
    *target = 1;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "returns a malloc'd string",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_STRING,
    .flags = PH_FN_RETURNS_PLUGIN_ALLOC,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "free_value_crash",
    .version = "1.0.0",
    .description = "broken: free_value crashes",
    .function_count = 1,
    .functions = functions,
    .free_value = free_value,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
