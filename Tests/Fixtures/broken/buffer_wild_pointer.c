/* buffer_wild_pointer.c — run() returns a buffer {0x10, 64}: the host's copy of it reads unmapped memory (SIGSEGV, in the worker). */
#include "plughost/plughost.h"

#include <stdint.h>

static ph_buffer run(void) {
    ph_buffer buffer = {(const uint8_t *)(uintptr_t)0x10, 64};
    return buffer;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "returns a buffer at address 0x10",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_BUFFER,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "buffer_wild_pointer",
    .version = "1.0.0",
    .description = "broken: buffer data is a wild pointer",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
