/* buffer_len_lie.c — run() returns 16 bytes of static data with len = 1 << 36: the host must check len before it reads. */
#include "plughost/plughost.h"

static const uint8_t data[16] = "sixteen bytes..";

static ph_buffer run(void) {
    ph_buffer buffer = {data, 1ull << 36};
    return buffer;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "returns a buffer that claims 64 GiB",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_BUFFER,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "buffer_len_lie",
    .version = "1.0.0",
    .description = "broken: buffer length lies",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
