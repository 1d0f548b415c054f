/* stale_context.c — keep() stores its ctx in a static; a later run() (no ctx of its own) writes a memory through it; returns the status (int32). */
#include "plughost/plughost.h"

static const ph_call_context *stored;
static const ph_host_api *host; /* the table itself stays valid: only the ctx goes stale */

static int32_t keep(const ph_call_context *ctx) {
    stored = ctx; /* forbidden: ctx is valid only until keep returns */
    host = ctx->host;
    return 0;
}

static int32_t run(void) {
    static const char *const concepts[] = {"stale"};
    ph_memory_write memory = {
        .struct_size = sizeof(ph_memory_write),
        .content = "written through a stale context",
        .concepts = concepts,
        .concept_count = 1,
    };
    if (host == NULL) return -1;
    return (int32_t)host->memory_write(stored, &memory, NULL, 0); /* never reads *stored itself */
}

static const ph_function keep_fn = {
    .struct_size = sizeof(ph_function),
    .name = "keep",
    .doc = "stores its ctx (call first)",
    .fn = (void (*)(void))keep,
    .return_type = PH_TYPE_INT32,
    .flags = PH_FN_TAKES_CONTEXT,
};

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "memory_write through the stored ctx; returns the status",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&keep_fn, &run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "stale_context",
    .version = "1.0.0",
    .description = "broken: uses a call context after its call",
    .function_count = 2,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
