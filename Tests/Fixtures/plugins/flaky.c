/* flaky: a plugin for the retry and timeout tests. Each function counts its calls in the goal
 * context (key `key`), so the count survives a worker restart: while the count is below `n` it
 * fails (fail_times), sleeps 60 s (stall_times) or dies of SIGSEGV (crash_times); then it
 * returns `value`. */
#define _POSIX_C_SOURCE 200809L
#include "plughost/plughost.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Reads counter `key` (0 when unset), stores it plus one; returns the value read, or -1 when the
 * host API failed (the call's error is then set). */
static long flaky_bump(const ph_call_context *ctx, const char *key) {
    char *v = ctx->host->context_get(ctx, key);
    long count = v != NULL ? strtol(v, NULL, 10) : 0;
    ctx->host->free(v);
    char text[32];
    snprintf(text, sizeof text, "%ld", count + 1);
    if (ctx->host->context_set(ctx, key, text) != PH_OK) return -1;
    return count;
}

/* `value` in memory from host->alloc (the host frees it after copying). */
static const char *flaky_copy(const ph_call_context *ctx, const char *value) {
    size_t len = strlen(value);
    char *out = ctx->host->alloc(len + 1);
    if (out == NULL) {
        ctx->host->set_error(ctx, "flaky: out of memory");
        return NULL;
    }
    memcpy(out, value, len + 1);
    return out;
}

static const char *flaky_fail_times(const ph_call_context *ctx, const char *key, int32_t n, const char *value) {
    long count = flaky_bump(ctx, key);
    if (count < 0) return NULL;
    if (count < n) {
        char message[128];
        snprintf(message, sizeof message, "flaky: failure %ld of %d", count + 1, (int)n);
        ctx->host->set_error(ctx, message);
        return NULL;
    }
    return flaky_copy(ctx, value);
}

static const char *flaky_stall_times(const ph_call_context *ctx, const char *key, int32_t n, const char *value) {
    long count = flaky_bump(ctx, key);
    if (count < 0) return NULL;
    if (count < n) {
        struct timespec t = {60, 0};
        while (nanosleep(&t, &t) != 0) {
        }
    }
    return flaky_copy(ctx, value);
}

static const char *flaky_crash_times(const ph_call_context *ctx, const char *key, int32_t n, const char *value) {
    long count = flaky_bump(ctx, key);
    if (count < 0) return NULL;
    if (count < n) raise(SIGSEGV);
    return flaky_copy(ctx, value);
}

#define FN(f) ((void (*)(void))(f))
static const uint32_t t_args[] = {PH_TYPE_STRING, PH_TYPE_INT32, PH_TYPE_STRING};
static const char *const n_args[] = {"key", "n", "value"};
static const ph_function f_fail_times = {
    sizeof(ph_function), "fail_times", "Fails while counter key < n (counting the call), then returns value.",
    FN(flaky_fail_times), PH_TYPE_STRING, 3, t_args, n_args, PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC, 0};
static const ph_function f_stall_times = {
    sizeof(ph_function), "stall_times", "Sleeps 60 s while counter key < n (counted first), then returns value.",
    FN(flaky_stall_times), PH_TYPE_STRING, 3, t_args, n_args, PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC, 0};
static const ph_function f_crash_times = {
    sizeof(ph_function), "crash_times", "Dies of SIGSEGV while counter key < n (counted first), then returns value.",
    FN(flaky_crash_times), PH_TYPE_STRING, 3, t_args, n_args, PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC, 0};
static const ph_function *const functions[] = {&f_fail_times, &f_stall_times, &f_crash_times};

static const ph_plugin descriptor = {
    sizeof(ph_plugin), PLUGHOST_ABI_MAJOR, PLUGHOST_ABI_MINOR, 0, "flaky", "1.0.0",
    "Fails, stalls or crashes a given number of times, then works; for the retry tests.", 3, functions, NULL, NULL, NULL,
};

PLUGHOST_DECLARE_ENTRY() { return &descriptor; }
