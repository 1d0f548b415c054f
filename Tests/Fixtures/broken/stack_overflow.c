/* stack_overflow.c — run() recurses without end, 4 KiB of volatile stack per frame: the stack overflows (SIGSEGV). */
#include "plughost/plughost.h"

static volatile int32_t bottom = -1; /* never reached: only silences -Winfinite-recursion */

/* noinline and the use of pad after the call keep it a real, non-tail recursion. */
__attribute__((noinline)) static int32_t dive(int32_t depth) {
    volatile char pad[4096];
    if (depth == bottom) return 0;
    pad[0] = (char)depth;
    pad[sizeof pad - 1] = (char)depth;
    return dive(depth + 1) + pad[0] + pad[sizeof pad - 1];
}

static int32_t run(void) {
    return dive(0);
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: unbounded recursion in run",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "stack_overflow",
    .version = "1.0.0",
    .description = "broken: unbounded recursion in run",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
