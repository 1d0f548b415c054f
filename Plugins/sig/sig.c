/*
 * sig — a signature torture plugin for plughost.
 *
 * Identity functions for every value type, functions with more arguments than
 * the calling convention passes in registers, a mixed-type function whose
 * result changes if any argument lands in the wrong slot, every return
 * ownership mode, error reporting and logging. Used by the host's tests and
 * its call benchmark.
 */
#include "plughost/plughost.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/** The host table from init. */
static const ph_host_api *g_host;

/** How many values free_value has released (see freed_count). */
static atomic_llong g_freed;

/* ------------------------------------------------------------------------- */
/* Identity functions                                                        */
/* ------------------------------------------------------------------------- */

static bool sig_id_bool(bool v) { return v; }
static int8_t sig_id_i8(int8_t v) { return v; }
static int16_t sig_id_i16(int16_t v) { return v; }
static int32_t sig_id_i32(int32_t v) { return v; }
static int64_t sig_id_i64(int64_t v) { return v; }
static uint8_t sig_id_u8(uint8_t v) { return v; }
static uint16_t sig_id_u16(uint16_t v) { return v; }
static uint32_t sig_id_u32(uint32_t v) { return v; }
static uint64_t sig_id_u64(uint64_t v) { return v; }
static float sig_id_f32(float v) { return v; }
static double sig_id_f64(double v) { return v; }
static void *sig_id_ptr(void *v) { return v; }

/** A malloc'd copy, released by free_value. NULL (reported by the host as a bad return) when out of memory. */
static char *sig_id_str(const char *v) {
    size_t n = strlen(v) + 1;
    char *copy = malloc(n);
    if (copy) memcpy(copy, v, n);
    return copy;
}

static const char *sig_static_str(void) { return "static string from sig"; }

/*
 * Buffer results come from host->alloc. These functions have no context to
 * report an error with, so when the allocation fails they return NULL data with
 * the non-zero length, which the host rejects as a bad return instead of
 * silently passing on an empty buffer.
 */
static ph_buffer sig_id_buf(ph_buffer v) {
    ph_buffer out = {NULL, 0};
    if (v.len == 0 || v.data == NULL) return out;
    uint8_t *copy = g_host ? g_host->alloc(v.len) : NULL;
    out.len = v.len;
    if (!copy) return out;
    memcpy(copy, v.data, v.len);
    out.data = copy;
    return out;
}

static ph_buffer sig_buf_reverse(ph_buffer v) {
    ph_buffer out = {NULL, 0};
    if (v.len == 0 || v.data == NULL) return out;
    uint8_t *copy = g_host ? g_host->alloc(v.len) : NULL;
    out.len = v.len;
    if (!copy) return out;
    for (size_t i = 0; i < v.len; i++) copy[i] = v.data[v.len - 1 - i];
    out.data = copy;
    return out;
}

static uint64_t sig_buf_sum(ph_buffer v) {
    uint64_t sum = 0;
    if (v.data == NULL) return 0;
    for (size_t i = 0; i < v.len; i++) sum += v.data[i];
    return sum;
}

static uint64_t sig_str_len(const char *v) { return (uint64_t)strlen(v); }

/* ------------------------------------------------------------------------- */
/* Many and mixed arguments                                                  */
/* ------------------------------------------------------------------------- */

static int64_t sig_sum_i64x10(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e,
                              int64_t f, int64_t g, int64_t h, int64_t i, int64_t j) {
    /* Unsigned arithmetic: wraps instead of overflowing (undefined for signed). */
    uint64_t s = (uint64_t)a + (uint64_t)b + (uint64_t)c + (uint64_t)d + (uint64_t)e +
                 (uint64_t)f + (uint64_t)g + (uint64_t)h + (uint64_t)i + (uint64_t)j;
    return (int64_t)s;
}

static double sig_sum_f64x10(double a, double b, double c, double d, double e,
                             double f, double g, double h, double i, double j) {
    return a + b + c + d + e + f + g + h + i + j;
}

/** Weighted sum: each argument has its own weight, so a misplaced argument changes the result. */
static double sig_mixed(int8_t a, uint16_t b, int32_t c, float d, uint64_t e, double f,
                        int16_t g, float h, bool i, int64_t j, double k, uint8_t l) {
    return (double)a * 1 + (double)b * 2 + (double)c * 3 + (double)d * 4 + (double)e * 5 +
           f * 6 + (double)g * 7 + (double)h * 8 + (i ? 9.0 : 0.0) + (double)j * 10 + k * 11 +
           (double)l * 12;
}

static int64_t sig_add3(int64_t a, int64_t b, int64_t c) {
    return (int64_t)((uint64_t)a + (uint64_t)b + (uint64_t)c);
}

static void sig_noop(void) {}

/* ------------------------------------------------------------------------- */
/* Context, errors, logging, ownership                                       */
/* ------------------------------------------------------------------------- */

static int32_t sig_fail(const ph_call_context *ctx, const char *message) {
    ctx->host->set_error(ctx, message);
    return -1;
}

static void sig_log_hello(const ph_call_context *ctx) {
    ctx->host->log(ctx, PH_LOG_INFO, "hello from sig");
}

/** Writes one memory (content `text`, concept "sig") and returns the host's status. */
static int32_t sig_remember(const ph_call_context *ctx, const char *text) {
    const char *concepts[] = {"sig"};
    ph_memory_write w = {sizeof(ph_memory_write), NULL, text, concepts, 1, NULL, 0, NULL, 0};
    char id[PH_MEMORY_ID_CAPACITY];
    return (int32_t)ctx->host->memory_write(ctx, &w, id, sizeof id);
}

/** Sleeps `ms` milliseconds and returns it: a slow call, thread-safe. */
static uint32_t sig_sleep_ms(uint32_t ms) {
    struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0) {
    }
    return ms;
}

/** {"n":N,"square":N*N} (wrapping): a string result that carries JSON, with a declared schema. */
static const char *sig_square_json(int64_t n) {
    char *out = g_host ? g_host->alloc(64) : NULL;
    if (!out) return NULL;
    int64_t square = (int64_t)((uint64_t)n * (uint64_t)n);
    snprintf(out, 64, "{\"n\":%lld,\"square\":%lld}", (long long)n, (long long)square);
    return out;
}

static int64_t sig_freed_count(void) { return (int64_t)atomic_load(&g_freed); }

static void sig_free_value(void *value) {
    free(value);
    atomic_fetch_add(&g_freed, 1);
}

static bool sig_init(const ph_host_api *host) {
    g_host = host;
    return true;
}

/* The host table lives as long as the process, and another host in the same process may
 * still use this mapping (plughost.h: init and shutdown run once per load), so keep g_host. */
static void sig_shutdown(void) {}

/* ------------------------------------------------------------------------- */
/* Descriptor                                                                */
/* ------------------------------------------------------------------------- */

#define FN(fn) ((void (*)(void))(fn))

static const char *const names_v[] = {"v"};
static const char *const names_message[] = {"message"};
static const char *const names_abc[] = {"a", "b", "c"};
static const char *const names_a_to_j[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
static const char *const names_a_to_l[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"};

static const uint32_t t_bool[] = {PH_TYPE_BOOL};
static const uint32_t t_i8[] = {PH_TYPE_INT8};
static const uint32_t t_i16[] = {PH_TYPE_INT16};
static const uint32_t t_i32[] = {PH_TYPE_INT32};
static const uint32_t t_i64[] = {PH_TYPE_INT64};
static const uint32_t t_u8[] = {PH_TYPE_UINT8};
static const uint32_t t_u16[] = {PH_TYPE_UINT16};
static const uint32_t t_u32[] = {PH_TYPE_UINT32};
static const uint32_t t_u64[] = {PH_TYPE_UINT64};
static const uint32_t t_f32[] = {PH_TYPE_FLOAT};
static const uint32_t t_f64[] = {PH_TYPE_DOUBLE};
static const uint32_t t_ptr[] = {PH_TYPE_POINTER};
static const uint32_t t_str[] = {PH_TYPE_STRING};
static const uint32_t t_buf[] = {PH_TYPE_BUFFER};
static const uint32_t t_i64x3[] = {PH_TYPE_INT64, PH_TYPE_INT64, PH_TYPE_INT64};
static const uint32_t t_i64x10[] = {
    PH_TYPE_INT64, PH_TYPE_INT64, PH_TYPE_INT64, PH_TYPE_INT64, PH_TYPE_INT64,
    PH_TYPE_INT64, PH_TYPE_INT64, PH_TYPE_INT64, PH_TYPE_INT64, PH_TYPE_INT64,
};
static const uint32_t t_f64x10[] = {
    PH_TYPE_DOUBLE, PH_TYPE_DOUBLE, PH_TYPE_DOUBLE, PH_TYPE_DOUBLE, PH_TYPE_DOUBLE,
    PH_TYPE_DOUBLE, PH_TYPE_DOUBLE, PH_TYPE_DOUBLE, PH_TYPE_DOUBLE, PH_TYPE_DOUBLE,
};
static const uint32_t t_mixed[] = {
    PH_TYPE_INT8, PH_TYPE_UINT16, PH_TYPE_INT32, PH_TYPE_FLOAT, PH_TYPE_UINT64, PH_TYPE_DOUBLE,
    PH_TYPE_INT16, PH_TYPE_FLOAT, PH_TYPE_BOOL, PH_TYPE_INT64, PH_TYPE_DOUBLE, PH_TYPE_UINT8,
};

/* struct_size, name, doc, fn, return_type, param_count, param_types, param_names, flags */
#define ID_FN(var, name, fn, type, types)                                                       \
    static const ph_function var = {                                                            \
        sizeof(ph_function), name, "Returns its argument.", FN(fn), type, 1, types, names_v,    \
        PH_FN_THREAD_SAFE, 0,                                                                   \
    }

ID_FN(fn_id_bool, "id_bool", sig_id_bool, PH_TYPE_BOOL, t_bool);
ID_FN(fn_id_i8, "id_i8", sig_id_i8, PH_TYPE_INT8, t_i8);
ID_FN(fn_id_i16, "id_i16", sig_id_i16, PH_TYPE_INT16, t_i16);
ID_FN(fn_id_i32, "id_i32", sig_id_i32, PH_TYPE_INT32, t_i32);
ID_FN(fn_id_i64, "id_i64", sig_id_i64, PH_TYPE_INT64, t_i64);
ID_FN(fn_id_u8, "id_u8", sig_id_u8, PH_TYPE_UINT8, t_u8);
ID_FN(fn_id_u16, "id_u16", sig_id_u16, PH_TYPE_UINT16, t_u16);
ID_FN(fn_id_u32, "id_u32", sig_id_u32, PH_TYPE_UINT32, t_u32);
ID_FN(fn_id_u64, "id_u64", sig_id_u64, PH_TYPE_UINT64, t_u64);
ID_FN(fn_id_f32, "id_f32", sig_id_f32, PH_TYPE_FLOAT, t_f32);
ID_FN(fn_id_f64, "id_f64", sig_id_f64, PH_TYPE_DOUBLE, t_f64);
ID_FN(fn_id_ptr, "id_ptr", sig_id_ptr, PH_TYPE_POINTER, t_ptr);

static const ph_function fn_id_str = {
    sizeof(ph_function), "id_str", "Returns a malloc'd copy of its argument (released by free_value).",
    FN(sig_id_str), PH_TYPE_STRING, 1, t_str, names_v, PH_FN_RETURNS_PLUGIN_ALLOC,
    0, /* reserved */
};
static const ph_function fn_static_str = {
    sizeof(ph_function), "static_str", "Returns a string literal.",
    FN(sig_static_str), PH_TYPE_STRING, 0, NULL, NULL, 0,
    0, /* reserved */
};
static const ph_function fn_id_buf = {
    sizeof(ph_function), "id_buf", "Returns a copy of its buffer, allocated with host->alloc.",
    FN(sig_id_buf), PH_TYPE_BUFFER, 1, t_buf, names_v, PH_FN_RETURNS_HOST_ALLOC,
    0, /* reserved */
};
static const ph_function fn_buf_sum = {
    sizeof(ph_function), "buf_sum", "Sum of the buffer's bytes.",
    FN(sig_buf_sum), PH_TYPE_UINT64, 1, t_buf, names_v, PH_FN_THREAD_SAFE,
    0, /* reserved */
};
static const ph_function fn_buf_reverse = {
    sizeof(ph_function), "buf_reverse", "The buffer's bytes in reverse order, allocated with host->alloc.",
    FN(sig_buf_reverse), PH_TYPE_BUFFER, 1, t_buf, names_v, PH_FN_THREAD_SAFE | PH_FN_RETURNS_HOST_ALLOC,
    0, /* reserved */
};
static const ph_function fn_str_len = {
    sizeof(ph_function), "str_len", "Length of the string in bytes.",
    FN(sig_str_len), PH_TYPE_UINT64, 1, t_str, names_v, PH_FN_THREAD_SAFE,
    0, /* reserved */
};
static const ph_function fn_sum_i64x10 = {
    sizeof(ph_function), "sum_i64x10", "Sum of ten int64 (some passed on the stack), wrapping.",
    FN(sig_sum_i64x10), PH_TYPE_INT64, 10, t_i64x10, names_a_to_j, PH_FN_THREAD_SAFE,
    0, /* reserved */
};
static const ph_function fn_sum_f64x10 = {
    sizeof(ph_function), "sum_f64x10", "Sum of ten doubles (some passed on the stack).",
    FN(sig_sum_f64x10), PH_TYPE_DOUBLE, 10, t_f64x10, names_a_to_j, PH_FN_THREAD_SAFE,
    0, /* reserved */
};
static const ph_function fn_mixed = {
    sizeof(ph_function), "mixed",
    "a*1 + b*2 + c*3 + d*4 + e*5 + f*6 + g*7 + h*8 + (i ? 9 : 0) + j*10 + k*11 + l*12.",
    FN(sig_mixed), PH_TYPE_DOUBLE, 12, t_mixed, names_a_to_l, PH_FN_THREAD_SAFE,
    0, /* reserved */
};
static const ph_function fn_add3 = {
    sizeof(ph_function), "add3", "a + b + c, wrapping.",
    FN(sig_add3), PH_TYPE_INT64, 3, t_i64x3, names_abc, PH_FN_THREAD_SAFE,
    0, /* reserved */
};
static const ph_function fn_noop = {
    sizeof(ph_function), "noop", "Does nothing (not thread-safe, so calls are serialised).",
    FN(sig_noop), PH_TYPE_VOID, 0, NULL, NULL, 0,
    0, /* reserved */
};
static const ph_function fn_fail = {
    sizeof(ph_function), "fail", "Reports `message` as the call's error and returns -1.",
    FN(sig_fail), PH_TYPE_INT32, 1, t_str, names_message, PH_FN_TAKES_CONTEXT,
    0, /* reserved */
};
static const ph_function fn_log_hello = {
    sizeof(ph_function), "log_hello", "Logs \"hello from sig\" at INFO.",
    FN(sig_log_hello), PH_TYPE_VOID, 0, NULL, NULL, PH_FN_TAKES_CONTEXT,
    0, /* reserved */
};
static const ph_function fn_freed_count = {
    sizeof(ph_function), "freed_count", "How many values free_value has released.",
    FN(sig_freed_count), PH_TYPE_INT64, 0, NULL, NULL, PH_FN_THREAD_SAFE,
    0, /* reserved */
};

static const char *const names_text[] = {"text"};
static const ph_function fn_remember = {
    sizeof(ph_function), "remember", "Writes one memory (content text, concept \"sig\"); returns the status.",
    FN(sig_remember), PH_TYPE_INT32, 1, t_str, names_text, PH_FN_TAKES_CONTEXT | PH_FN_THREAD_SAFE,
    0, /* reserved */
};

static const char *const names_ms[] = {"ms"};
static const ph_function fn_sleep_ms = {
    sizeof(ph_function), "sleep_ms", "Sleeps ms milliseconds and returns ms (a slow call).",
    FN(sig_sleep_ms), PH_TYPE_UINT32, 1, t_u32, names_ms, PH_FN_THREAD_SAFE,
    0, /* reserved */
};

static const char *const names_n[] = {"n"};
static const ph_function fn_square_json = {
    sizeof(ph_function), "square_json", "n and its square as a JSON object.",
    FN(sig_square_json), PH_TYPE_STRING, 1, t_i64, names_n, PH_FN_THREAD_SAFE | PH_FN_RETURNS_HOST_ALLOC,
    0, /* reserved */
    NULL, "The JSON object {\"n\": n, \"square\": n*n}.",
    "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"},\"square\":{\"type\":\"integer\"}},"
    "\"required\":[\"n\",\"square\"],\"additionalProperties\":false}",
};

static const ph_function *const functions[] = {
    &fn_id_bool, &fn_id_i8, &fn_id_i16, &fn_id_i32, &fn_id_i64, &fn_id_u8,
    &fn_id_u16, &fn_id_u32, &fn_id_u64, &fn_id_f32, &fn_id_f64, &fn_id_ptr,
    &fn_id_str, &fn_static_str, &fn_id_buf, &fn_buf_sum, &fn_buf_reverse, &fn_str_len,
    &fn_sum_i64x10, &fn_sum_f64x10, &fn_mixed, &fn_add3, &fn_noop, &fn_fail,
    &fn_log_hello, &fn_freed_count, &fn_remember, &fn_sleep_ms, &fn_square_json,
};

static const ph_plugin descriptor = {
    sizeof(ph_plugin),
    PLUGHOST_ABI_MAJOR,
    PLUGHOST_ABI_MINOR,
    0,
    "sig",
    "1.0.0",
    "Signature torture plugin: every type, stack-spilled arguments, every return ownership.",
    (uint32_t)(sizeof functions / sizeof functions[0]),
    functions,
    sig_init,
    sig_shutdown,
    sig_free_value,
};

PLUGHOST_DECLARE_ENTRY() { return &descriptor; }
