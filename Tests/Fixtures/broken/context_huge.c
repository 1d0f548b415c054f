/* context_huge.c — run() calls context_set with a 64 MiB value and returns the ph_status as int32: over the context value limit. */
#include "plughost/plughost.h"

#include <stdlib.h>
#include <string.h>

#define VALUE_BYTES ((size_t)64 << 20)

static int32_t run(const ph_call_context *ctx) {
    char *value = malloc(VALUE_BYTES + 1);
    if (value == NULL) return -1;
    memset(value, 'c', VALUE_BYTES);
    value[VALUE_BYTES] = '\0';
    ph_status status = ctx->host->context_set(ctx, "huge", value);
    free(value);
    return (int32_t)status;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "context_set of 64 MiB; returns the status",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
    .flags = PH_FN_TAKES_CONTEXT,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "context_huge",
    .version = "1.0.0",
    .description = "broken: context value of 64 MiB",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
