/* fork_child.c — run() forks; parent and child each write a memory (content forked, concept fork) and return 7: only the parent's may count. */
#include "plughost/plughost.h"

#include <unistd.h>

static int32_t run(const ph_call_context *ctx) {
    static const char *const concepts[] = {"fork"};
    ph_memory_write memory = {
        .struct_size = sizeof(ph_memory_write),
        .content = "forked",
        .concepts = concepts,
        .concept_count = 1,
    };
    fork(); /* from here on, two processes run the rest */
    ctx->host->memory_write(ctx, &memory, NULL, 0);
    return 7;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "forks, writes a memory in both processes",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
    .flags = PH_FN_TAKES_CONTEXT,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "fork_child",
    .version = "1.0.0",
    .description = "broken: forks inside a call",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
