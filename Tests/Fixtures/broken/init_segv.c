/* init_segv.c — init() writes through NULL: the load crashes (SIGSEGV) before any call. */
#include "plughost/plughost.h"

static bool init(const ph_host_api *host) {
    (void)host;
    volatile int *volatile target = NULL;
    *target = 1;
    return true;
}

static int32_t run(void) {
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: init crashes",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "init_segv",
    .version = "1.0.0",
    .description = "broken: init crashes",
    .function_count = 1,
    .functions = functions,
    .init = init,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
