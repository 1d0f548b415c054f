/* crashy: a plugin for the process-isolation tests. `crash` dies of SIGSEGV, `spin` never
 * returns, `ok` works, `count` counts its calls in a static (a fresh worker starts again at 1),
 * `remember` writes a memory and `note`/`recall_note` use the goal context. */
#include "plughost/plughost.h"

#include <stddef.h>

static int32_t calls;

static int32_t crashy_crash(void) {
    volatile int *volatile p = NULL;
    *p = 1;
    return 0;
}

static int32_t crashy_spin(void) {
    for (volatile int i = 0;; i++) {
    }
    return 0;
}

static int32_t crashy_ok(int32_t x) { return x + 1; }

static int32_t crashy_count(void) { return ++calls; }

static int32_t crashy_remember(const ph_call_context *ctx, const char *text) {
    const char *concepts[] = {"crashy"};
    ph_memory_write w = {sizeof(ph_memory_write), NULL, text, concepts, 1, NULL, 0, NULL, 0};
    char id[PH_MEMORY_ID_CAPACITY];
    return (int32_t)ctx->host->memory_write(ctx, &w, id, sizeof id);
}

static int32_t crashy_note(const ph_call_context *ctx, const char *value) {
    return (int32_t)ctx->host->context_set(ctx, "note", value);
}

static const char *crashy_recall_note(const ph_call_context *ctx) {
    char *v = ctx->host->context_get(ctx, "note");
    if (v == NULL) return "";
    static char copy[256];
    size_t i = 0;
    for (; v[i] != '\0' && i < sizeof copy - 1; i++) copy[i] = v[i];
    copy[i] = '\0';
    ctx->host->free(v);
    return copy;
}

#define FN(f) ((void (*)(void))(f))
static const uint32_t t_i32[] = {PH_TYPE_INT32};
static const uint32_t t_str[] = {PH_TYPE_STRING};
static const char *const n_x[] = {"x"};
static const char *const n_text[] = {"text"};
static const ph_function f_crash = {sizeof(ph_function), "crash", "Dies of SIGSEGV.", FN(crashy_crash), PH_TYPE_INT32, 0, NULL, NULL, 0, 0};
static const ph_function f_spin = {sizeof(ph_function), "spin", "Never returns.", FN(crashy_spin), PH_TYPE_INT32, 0, NULL, NULL, 0, 0};
static const ph_function f_ok = {sizeof(ph_function), "ok", "x + 1.", FN(crashy_ok), PH_TYPE_INT32, 1, t_i32, n_x, 0, 0};
static const ph_function f_count = {sizeof(ph_function), "count", "Calls so far in this process.", FN(crashy_count), PH_TYPE_INT32, 0, NULL, NULL, 0, 0};
static const ph_function f_remember = {sizeof(ph_function), "remember", "Writes a memory.", FN(crashy_remember), PH_TYPE_INT32, 1, t_str, n_text, PH_FN_TAKES_CONTEXT, 0};
static const ph_function f_note = {sizeof(ph_function), "note", "Sets context key note.", FN(crashy_note), PH_TYPE_INT32, 1, t_str, n_text, PH_FN_TAKES_CONTEXT, 0};
static const ph_function f_recall_note = {sizeof(ph_function), "recall_note", "Reads context key note.", FN(crashy_recall_note), PH_TYPE_STRING, 0, NULL, NULL, PH_FN_TAKES_CONTEXT, 0};
static const ph_function *const functions[] = {&f_crash, &f_spin, &f_ok, &f_count, &f_remember, &f_note, &f_recall_note};

static const ph_plugin descriptor = {
    sizeof(ph_plugin), PLUGHOST_ABI_MAJOR, PLUGHOST_ABI_MINOR, 0, "crashy", "1.0.0",
    "Crashes, hangs and works, for the process-isolation tests.", 7, functions, NULL, NULL, NULL,
};

PLUGHOST_DECLARE_ENTRY() { return &descriptor; }
