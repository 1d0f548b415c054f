/* big_ok.c — not broken: run() returns 16 MiB of 'a' from host->alloc, under the 64 MiB limit; it must be accepted and printed quickly. */
#include "plughost/plughost.h"

#include <string.h>

#define BIG_BYTES ((size_t)16 << 20)

static ph_buffer run(const ph_call_context *ctx) {
    ph_buffer buffer = {NULL, 0};
    uint8_t *data = ctx->host->alloc(BIG_BYTES);
    if (data == NULL) {
        ctx->host->set_error(ctx, "big_ok: host->alloc(16 MiB) failed");
        return buffer;
    }
    memset(data, 'a', BIG_BYTES);
    buffer.data = data;
    buffer.len = BIG_BYTES;
    return buffer;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "returns 16 MiB of 'a'",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_BUFFER,
    .flags = PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "big_ok",
    .version = "1.0.0",
    .description = "returns a 16 MiB buffer (allowed)",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
