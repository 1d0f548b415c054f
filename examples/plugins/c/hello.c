/*
 * hello_c — an example plughost plugin in plain C, built from nothing but
 * include/plughost/plughost.h and a C compiler (see Makefile and README.md).
 *
 *   add(a: int64, b: int64) -> int64        a + b, wrapping on overflow
 *   shout(text: string) -> string           ASCII upper-case copy of text
 *   remember(text: string) -> int32         stores text as a memory whose
 *                                           concepts are its distinct words of
 *                                           4+ characters, lower-cased, first 8;
 *                                           returns how many, or -1 on error
 *
 * A word is a run of ASCII letters, ASCII digits and non-ASCII characters
 * (every byte >= 0x80, so a UTF-8 sequence is never cut); its length is
 * counted in characters. Only ASCII letters are lower-cased here: the host
 * normalises concept keys further. A word longer than PH_MAX_CONCEPT_KEY_BYTES
 * is skipped (the host would reject the whole write).
 */
#include "plughost/plughost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** Most concepts `remember` attaches to a memory. */
#define REMEMBER_MAX_CONCEPTS 8
/** Shortest word `remember` turns into a concept. */
#define REMEMBER_MIN_WORD 4

/** The host table from init. Functions use ctx->host, which is the same table. */
static const ph_host_api *g_host;

/* ------------------------------------------------------------------------- */
/* Functions                                                                 */
/* ------------------------------------------------------------------------- */

static int64_t hello_add(int64_t a, int64_t b) {
    /* Signed overflow is undefined in C; unsigned arithmetic wraps. */
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC: the result comes from
 * ctx->host->alloc and the host frees it after copying. */
static const char *hello_shout(const ph_call_context *ctx, const char *text) {
    size_t len = strlen(text);
    char *out = ctx->host->alloc(len + 1);
    if (out == NULL) {
        ctx->host->set_error(ctx, "shout: out of memory");
        return NULL; /* ignored by the host once set_error was called */
    }
    for (size_t i = 0; i <= len; i++) {
        char c = text[i];
        out[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    return out;
}

static const char *status_name(ph_status status) {
    switch (status) {
    case PH_OK: return "PH_OK";
    case PH_ERR_INVALID: return "PH_ERR_INVALID";
    case PH_ERR_NOT_FOUND: return "PH_ERR_NOT_FOUND";
    case PH_ERR_STORAGE: return "PH_ERR_STORAGE";
    case PH_ERR_NO_MEMORY: return "PH_ERR_NO_MEMORY";
    case PH_ERR_STATE: return "PH_ERR_STATE";
    }
    return "unknown status";
}

static int is_word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/* PH_FN_TAKES_CONTEXT: writes one memory through the host. */
static int32_t hello_remember(const ph_call_context *ctx, const char *text) {
    const ph_host_api *host = ctx->host;
    /* The lower-cased copy is cut into NUL-terminated words in place. */
    size_t len = strlen(text);
    char *words = malloc(len + 1);
    if (words == NULL) {
        host->set_error(ctx, "remember: out of memory");
        return -1;
    }
    const char *concepts[REMEMBER_MAX_CONCEPTS];
    size_t count = 0;
    size_t i = 0;
    while (i < len && count < REMEMBER_MAX_CONCEPTS) {
        if (!is_word_byte((unsigned char)text[i])) {
            i++;
            continue;
        }
        size_t start = i, chars = 0;
        while (i < len && is_word_byte((unsigned char)text[i])) {
            char c = text[i];
            if (((unsigned char)c & 0xC0) != 0x80) chars++; /* not a UTF-8 continuation byte */
            words[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
            i++;
        }
        words[i] = '\0';
        if (chars < REMEMBER_MIN_WORD || i - start > PH_MAX_CONCEPT_KEY_BYTES) continue;
        const char *word = words + start;
        int seen = 0;
        for (size_t k = 0; k < count && !seen; k++) seen = strcmp(concepts[k], word) == 0;
        if (!seen) concepts[count++] = word;
    }

    ph_memory_write write = {
        .struct_size = sizeof write,
        .id = NULL,                 /* let the host choose one */
        .content = text,
        .concepts = concepts,
        .concept_count = count,
        .depends_on = NULL,
        .depends_on_count = 0,
        .metadata_json = "{\"source\":\"hello_c\"}",
        .ttl_ms = 0,                /* keep forever */
    };
    char id[PH_MEMORY_ID_CAPACITY];
    ph_status status = host->memory_write(ctx, &write, id, sizeof id);
    free(words); /* the host copied what it keeps */
    if (status != PH_OK) {
        /* The host has already recorded why as the call's error (see ph_host_api):
         * do not overwrite it with a vaguer message; just fail. */
        char line[64];
        snprintf(line, sizeof line, "remember: memory_write failed: %s", status_name(status));
        host->log(ctx, PH_LOG_DEBUG, line);
        return -1;
    }
    char line[64 + PH_MEMORY_ID_CAPACITY];
    snprintf(line, sizeof line, "remember: wrote memory %s with %zu concept(s)", id, count);
    host->log(ctx, PH_LOG_DEBUG, line);
    return (int32_t)count;
}

/* ------------------------------------------------------------------------- */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------- */

static bool hello_init(const ph_host_api *host) {
    g_host = host;
    host->log(NULL, PH_LOG_DEBUG, "hello_c: ready");
    return true;
}

static void hello_shutdown(void) {
    g_host = NULL;
}

/* ------------------------------------------------------------------------- */
/* Descriptor: all static, so it lives as long as the library is loaded.     */
/* ------------------------------------------------------------------------- */

/* Parameter metadata (ABI 1.1): what each parameter means, for people, `plughost tools`
 * and MCP clients. A parameter can also declare a range (PH_PARAM_HAS_MINIMUM/MAXIMUM), a
 * set of allowed strings, or a default that lets callers omit it (PH_PARAM_OPTIONAL with
 * default_json); the host checks arguments against them (docs/plugin-authoring.md §3). */
static const ph_param_info p_a = {.struct_size = sizeof(ph_param_info), .description = "the first addend"};
static const ph_param_info p_b = {.struct_size = sizeof(ph_param_info), .description = "the second addend"};
static const ph_param_info p_shout_text = {.struct_size = sizeof(ph_param_info), .description = "the text to upper-case"};
static const ph_param_info p_note = {
    .struct_size = sizeof(ph_param_info),
    .description = "a note; its distinct words of 4 or more characters (the first 8) become its concepts",
};
static const ph_param_info *const add_params[] = {&p_a, &p_b};
static const ph_param_info *const shout_params[] = {&p_shout_text};
static const ph_param_info *const remember_params[] = {&p_note};

static const uint32_t add_types[] = {PH_TYPE_INT64, PH_TYPE_INT64};
static const char *const add_names[] = {"a", "b"};
static const ph_function add_fn = {
    .struct_size = sizeof(ph_function),
    .name = "add",
    .doc = "a + b (wraps on overflow)",
    .fn = (void (*)(void))hello_add,
    .return_type = PH_TYPE_INT64,
    .param_count = 2,
    .param_types = add_types,
    .param_names = add_names,
    .flags = PH_FN_THREAD_SAFE,
    .params = add_params,
    .result_doc = "the sum, wrapped to int64",
};

static const uint32_t text_types[] = {PH_TYPE_STRING};
static const char *const text_names[] = {"text"};

static const ph_function shout_fn = {
    .struct_size = sizeof(ph_function),
    .name = "shout",
    .doc = "text with ASCII letters upper-cased",
    .fn = (void (*)(void))hello_shout,
    .return_type = PH_TYPE_STRING,
    .param_count = 1,
    .param_types = text_types,
    .param_names = text_names,
    .flags = PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC,
    .params = shout_params,
    .result_doc = "the text with its ASCII letters upper-cased",
};

static const ph_function remember_fn = {
    .struct_size = sizeof(ph_function),
    .name = "remember",
    .doc = "stores text as a memory tagged with its distinct words of 4+ characters; returns how many",
    .fn = (void (*)(void))hello_remember,
    .return_type = PH_TYPE_INT32,
    .param_count = 1,
    .param_types = text_types,
    .param_names = text_names,
    .flags = PH_FN_TAKES_CONTEXT,
    .params = remember_params,
    .result_doc = "how many concepts the stored memory has (0 to 8)",
};

static const ph_function *const functions[] = {&add_fn, &shout_fn, &remember_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .min_host_abi_minor = 0,
    .name = "hello_c",
    .version = "1.0.0",
    .description = "example plugin in C: add, shout, remember",
    .function_count = sizeof functions / sizeof functions[0],
    .functions = functions,
    .init = hello_init,
    .shutdown = hello_shutdown,
    .free_value = NULL,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
