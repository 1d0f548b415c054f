/* sigill.c — run() executes __builtin_trap(): SIGILL on x86-64 (ud2), SIGTRAP on arm64 (brk). */
#include "plughost/plughost.h"

static int32_t run(void) {
    __builtin_trap();
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: trap instruction in run",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "sigill",
    .version = "1.0.0",
    .description = "broken: trap instruction in run",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
