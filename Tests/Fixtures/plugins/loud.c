/* loud.c — a valid plugin ("loud") that logs: init logs "loud ready" at INFO (NULL context);
 * say(ctx, text) logs "debug TEXT", "info TEXT", "warn TEXT" and "error TEXT" at each level and
 * returns text's length; print(text) writes "stdout TEXT" to standard output. For LoggingTests. */
#include "plughost/plughost.h"

#include <stdio.h>
#include <string.h>


static void log_at(const ph_call_context *ctx, ph_log_level level, const char *tag, const char *text) {
    char line[512];
    snprintf(line, sizeof line, "%s %s", tag, text);
    ctx->host->log(ctx, level, line);
}

static int32_t loud_say(const ph_call_context *ctx, const char *text) {
    log_at(ctx, PH_LOG_DEBUG, "debug", text);
    log_at(ctx, PH_LOG_INFO, "info", text);
    log_at(ctx, PH_LOG_WARN, "warn", text);
    log_at(ctx, PH_LOG_ERROR, "error", text);
    return (int32_t)strlen(text);
}

static int32_t loud_print(const char *text) {
    printf("stdout %s\n", text);
    fflush(stdout);
    return (int32_t)strlen(text);
}

static bool loud_init(const ph_host_api *host) {
    host->log(NULL, PH_LOG_INFO, "loud ready");
    return true;
}

static const uint32_t say_types[] = {PH_TYPE_STRING};
static const char *const say_names[] = {"text"};
static const ph_function say_fn = {
    .struct_size = sizeof(ph_function),
    .name = "say",
    .doc = "Logs text at debug, info, warn and error; returns its length.",
    .fn = (void (*)(void))loud_say,
    .return_type = PH_TYPE_INT32,
    .param_count = 1,
    .param_types = say_types,
    .param_names = say_names,
    .flags = PH_FN_TAKES_CONTEXT | PH_FN_THREAD_SAFE,
};
static const ph_function print_fn = {
    .struct_size = sizeof(ph_function),
    .name = "print",
    .doc = "Writes \"stdout TEXT\" to standard output; returns text's length.",
    .fn = (void (*)(void))loud_print,
    .return_type = PH_TYPE_INT32,
    .param_count = 1,
    .param_types = say_types,
    .param_names = say_names,
    .flags = PH_FN_THREAD_SAFE,
};
static const ph_function *const functions[] = {&say_fn, &print_fn};

static const ph_plugin descriptor = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "loud",
    .version = "1.0.0",
    .description = "Logs at every level, for the logging tests.",
    .function_count = 2,
    .functions = functions,
    .init = loud_init,
};

PLUGHOST_DECLARE_ENTRY() { return &descriptor; }
