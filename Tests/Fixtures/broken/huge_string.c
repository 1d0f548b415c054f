/* huge_string.c — run() returns a 65 MiB string from host->alloc (RETURNS_HOST_ALLOC): over the result limit. */
#include "plughost/plughost.h"

#include <string.h>

#define HUGE_CHARS ((size_t)65 << 20)

static const char *run(const ph_call_context *ctx) {
    char *text = ctx->host->alloc(HUGE_CHARS + 1);
    if (text == NULL) {
        ctx->host->set_error(ctx, "huge_string: host->alloc(65 MiB) failed");
        return NULL;
    }
    memset(text, 's', HUGE_CHARS);
    text[HUGE_CHARS] = '\0';
    return text;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "returns 65 MiB of 's'",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_STRING,
    .flags = PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "huge_string",
    .version = "1.0.0",
    .description = "broken: returns a 65 MiB string",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
