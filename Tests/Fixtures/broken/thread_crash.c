/* thread_crash.c — run() starts a thread that writes through NULL 50 ms later, while run sleeps 2 s: the whole worker dies (SIGSEGV). */
#include "plughost/plughost.h"

#include <pthread.h>
#include <unistd.h>

static void *crash_later(void *unused) {
    (void)unused;
    usleep(50 * 1000);
    volatile int *volatile target = NULL;
    *target = 1;
    return NULL;
}

static int32_t run(void) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, crash_later, NULL) != 0) return -1;
    sleep(2); /* the crash comes long before this returns */
    return 1;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: a thread of run crashes",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "thread_crash",
    .version = "1.0.0",
    .description = "broken: a thread of run crashes",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
