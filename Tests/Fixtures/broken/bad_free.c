/* bad_free.c — run() hands host->free a pointer into the middle of a static array: glibc aborts (SIGABRT) when the host's free is free(). */
#include "plughost/plughost.h"

static const ph_host_api *g_host;
static unsigned char arena[256]; /* zero-filled: the "chunk header" before arena + 64 says size 0 */

static bool init(const ph_host_api *host) {
    g_host = host;
    return true;
}

static int32_t run(void) {
    g_host->free(arena + 64);
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: host->free on a static address",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "bad_free",
    .version = "1.0.0",
    .description = "broken: host->free on a static address",
    .function_count = 1,
    .functions = functions,
    .init = init,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
