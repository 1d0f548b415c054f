/* other_thread_context.c — run() starts a thread that calls context_set with run's ctx while run waits in pthread_join; returns that status (int32). */
#include "plughost/plughost.h"

#include <pthread.h>

struct attempt {
    const ph_call_context *ctx;
    ph_status status;
};

static void *set_from_thread(void *arg) {
    struct attempt *attempt = arg;
    attempt->status = attempt->ctx->host->context_set(attempt->ctx, "k", "v"); /* [thread: call] broken */
    return NULL;
}

static int32_t run(const ph_call_context *ctx) {
    struct attempt attempt = {ctx, PH_OK};
    pthread_t thread;
    if (pthread_create(&thread, NULL, set_from_thread, &attempt) != 0) return -1;
    pthread_join(thread, NULL);
    return (int32_t)attempt.status;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "context_set from another thread; returns the status",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
    .flags = PH_FN_TAKES_CONTEXT,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "other_thread_context",
    .version = "1.0.0",
    .description = "broken: uses the call context on another thread",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
