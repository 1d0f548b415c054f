/* recall_callback_crash.c — run() writes a memory, recalls it by concept, and the recall callback writes through NULL (SIGSEGV). */
#include "plughost/plughost.h"

static bool on_memory(void *user, const ph_memory *memory) {
    (void)user;
    (void)memory;
    volatile int *volatile target = NULL;
    *target = 1;
    return true;
}

/* Returns the status of a failed host call; 100 + status when the callback never ran. */
static int32_t run(const ph_call_context *ctx) {
    static const char *const concepts[] = {"recall crash"};
    ph_memory_write memory = {
        .struct_size = sizeof(ph_memory_write),
        .content = "recalled, then crashed on",
        .concepts = concepts,
        .concept_count = 1,
    };
    ph_status status = ctx->host->memory_write(ctx, &memory, NULL, 0);
    if (status != PH_OK) return (int32_t)status;
    ph_recall_query query = {.struct_size = sizeof(ph_recall_query), .concept = "recall crash", .limit = 1};
    return 100 + (int32_t)ctx->host->memory_recall(ctx, &query, on_memory, NULL);
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "writes, recalls, crashes in the callback",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
    .flags = PH_FN_TAKES_CONTEXT,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "recall_callback_crash",
    .version = "1.0.0",
    .description = "broken: the recall callback crashes",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
