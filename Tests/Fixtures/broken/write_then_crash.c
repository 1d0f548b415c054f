/* write_then_crash.c — run() writes one memory (id ack-1, concept durable), which the host acknowledged, then writes through NULL: the memory must survive. */
#include "plughost/plughost.h"

static int32_t run(const ph_call_context *ctx) {
    static const char *const concepts[] = {"durable"};
    ph_memory_write memory = {
        .struct_size = sizeof(ph_memory_write),
        .id = "ack-1",
        .content = "acknowledged before the crash",
        .concepts = concepts,
        .concept_count = 1,
    };
    ph_status status = ctx->host->memory_write(ctx, &memory, NULL, 0);
    if (status != PH_OK) return (int32_t)status; /* nothing acknowledged: do not crash */
    volatile int *volatile target = NULL;
    *target = 1;
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "writes ack-1, then crashes",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
    .flags = PH_FN_TAKES_CONTEXT,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "write_then_crash",
    .version = "1.0.0",
    .description = "broken: crashes after an acknowledged write",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
