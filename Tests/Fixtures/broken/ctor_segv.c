/* ctor_segv.c — a constructor writes through NULL: dlopen itself crashes (SIGSEGV). */
#include "plughost/plughost.h"

__attribute__((constructor)) static void crash_at_dlopen(void) {
    volatile int *volatile target = NULL;
    *target = 1;
}

static int32_t run(void) {
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: constructor crashes",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "ctor_segv",
    .version = "1.0.0",
    .description = "broken: constructor crashes",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
