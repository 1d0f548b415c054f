/* ctor_hang.c — a constructor sleeps for ever: dlopen never returns. */
#include "plughost/plughost.h"

#include <unistd.h>

__attribute__((constructor)) static void sleep_at_dlopen(void) {
    for (;;) sleep(1000);
}

static int32_t run(void) {
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: constructor never returns",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "ctor_hang",
    .version = "1.0.0",
    .description = "broken: constructor never returns",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
