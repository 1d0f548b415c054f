/* huge_buffer.c — run() fills and returns 1 GiB from host->alloc (RETURNS_HOST_ALLOC): over the result limit. */
#include "plughost/plughost.h"

#include <string.h>

#define HUGE_BYTES ((size_t)1 << 30)

static ph_buffer run(const ph_call_context *ctx) {
    ph_buffer buffer = {NULL, 0};
    uint8_t *data = ctx->host->alloc(HUGE_BYTES);
    if (data == NULL) {
        ctx->host->set_error(ctx, "huge_buffer: host->alloc(1 GiB) failed");
        return buffer;
    }
    memset(data, 'h', HUGE_BYTES);
    buffer.data = data;
    buffer.len = HUGE_BYTES;
    return buffer;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "returns 1 GiB of 'h'",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_BUFFER,
    .flags = PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "huge_buffer",
    .version = "1.0.0",
    .description = "broken: returns a 1 GiB buffer",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
