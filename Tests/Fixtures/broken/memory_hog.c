/* memory_hog.c — run() mallocs and touches 64 MiB chunks, up to 8 GiB, never frees, and returns how many it got (int64). */
#include "plughost/plughost.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_BYTES ((size_t)64 << 20)
#define MAX_CHUNKS 128 /* 8 GiB */

/* Kept in a static so that no compiler may drop the allocations as unused (clang would). */
static void *volatile kept[MAX_CHUNKS];

static int64_t run(void) {
    int64_t chunks = 0;
    while (chunks < MAX_CHUNKS) {
        void *chunk = malloc(CHUNK_BYTES);
        if (chunk == NULL) break;
        memset(chunk, 0x5a, CHUNK_BYTES); /* touch every page: resident, not just reserved */
        kept[chunks++] = chunk;
    }
    return chunks;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "number of 64 MiB chunks obtained",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT64,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "memory_hog",
    .version = "1.0.0",
    .description = "broken: allocates up to 8 GiB",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
