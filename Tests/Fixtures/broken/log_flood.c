/* log_flood.c — run() sends 20,000 1 KiB log messages from its thread (with ctx) while a second thread sends 20,000 more (ctx NULL); returns 1. */
#include "plughost/plughost.h"

#include <pthread.h>
#include <string.h>

#define MESSAGES 20000

static const ph_host_api *g_host;
static char message[1024];

static bool init(const ph_host_api *host) {
    g_host = host;
    memset(message, 'l', sizeof message - 1);
    return true;
}

static void *log_from_thread(void *unused) {
    (void)unused;
    for (int i = 0; i < MESSAGES; i++) g_host->log(NULL, PH_LOG_DEBUG, message);
    return NULL;
}

static int32_t run(const ph_call_context *ctx) {
    pthread_t thread;
    int started = pthread_create(&thread, NULL, log_from_thread, NULL) == 0;
    for (int i = 0; i < MESSAGES; i++) ctx->host->log(ctx, PH_LOG_INFO, message);
    if (started) pthread_join(thread, NULL);
    return 1;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "logs 40,000 KiB-long messages",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
    .flags = PH_FN_TAKES_CONTEXT,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "log_flood",
    .version = "1.0.0",
    .description = "broken: floods host->log from two threads",
    .function_count = 1,
    .functions = functions,
    .init = init,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
