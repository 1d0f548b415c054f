/* plugin_free_missing.c — a function is flagged PH_FN_RETURNS_PLUGIN_ALLOC but the descriptor's free_value is NULL: the loader must refuse it (invalid function). */
#include "plughost/plughost.h"

#include <stdlib.h>
#include <string.h>

/* Returns malloc'd memory; with free_value NULL the host could never free it. */
static const char *f(void) {
    static const char text[] = "leaked";
    char *out = malloc(sizeof text);
    if (out != NULL) memcpy(out, text, sizeof text);
    return out;
}

static const ph_function bad_fn = {
    .struct_size = sizeof(ph_function),
    .name = "f",
    .doc = "see the first line of this file",
    .fn = (void (*)(void))f,
    .return_type = PH_TYPE_STRING,
    .param_count = 0,
    .param_types = NULL,
    .param_names = NULL,
    .flags = PH_FN_RETURNS_PLUGIN_ALLOC,
};

static const ph_function *const functions[] = {&bad_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .min_host_abi_minor = 0,
    .name = "plugin_free_missing",
    .version = "1.0.0",
    .description = "plugin-owned return without free_value",
    .function_count = 1,
    .functions = functions,
    .init = NULL,
    .shutdown = NULL,
    .free_value = NULL /* the defect: required by PH_FN_RETURNS_PLUGIN_ALLOC */,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
