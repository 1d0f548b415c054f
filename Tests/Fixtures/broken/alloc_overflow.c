/* alloc_overflow.c — run() asks host->alloc for SIZE_MAX and SIZE_MAX - 15 bytes: both must come back NULL, not crash; returns 1 if they did. */
#include "plughost/plughost.h"

#include <stdint.h>

static int32_t run(const ph_call_context *ctx) {
    void *a = ctx->host->alloc(SIZE_MAX);
    void *b = ctx->host->alloc(SIZE_MAX - 15);
    int32_t both_null = a == NULL && b == NULL;
    ctx->host->free(a);
    ctx->host->free(b);
    return both_null;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "1 when host->alloc refused both sizes",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
    .flags = PH_FN_TAKES_CONTEXT,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "alloc_overflow",
    .version = "1.0.0",
    .description = "broken: absurd host->alloc sizes",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
