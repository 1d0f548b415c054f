/* recaller: a plugin for the recall tests. `recall(concept, text, flags)` calls memory_recall
 * with ph_recall_query.flags = `flags` (concept or text: the empty string stands for NULL) and
 * returns the recalled memories' ids, one a line, newest first; a failed recall fails the call
 * with the host's message. */
#include "plughost/plughost.h"

#include <stddef.h>
#include <string.h>

/* The ids, '\n'-separated, in memory from ctx->host->alloc. */
typedef struct {
    const ph_host_api *host;
    char *text;
    size_t length;
    bool failed;
} id_list;

static bool add_id(void *user, const ph_memory *memory) {
    id_list *list = user;
    size_t n = strlen(memory->id);
    char *grown = list->host->alloc(list->length + n + 2);
    if (grown == NULL) {
        list->failed = true;
        return false;
    }
    if (list->text != NULL) {
        memcpy(grown, list->text, list->length);
        list->host->free(list->text);
    }
    if (list->length > 0) grown[list->length++] = '\n';
    memcpy(grown + list->length, memory->id, n);
    list->length += n;
    grown[list->length] = '\0';
    list->text = grown;
    return true;
}

static const char *recaller_recall(const ph_call_context *ctx, const char *concept, const char *text, uint32_t flags) {
    ph_recall_query query;
    memset(&query, 0, sizeof query);
    query.struct_size = (uint32_t)sizeof query;
    query.concept = concept[0] != '\0' ? concept : NULL;
    query.text = text[0] != '\0' ? text : NULL;
    query.limit = 1000;
    query.flags = flags;
    id_list list = {ctx->host, NULL, 0, false};
    ph_status status = ctx->host->memory_recall(ctx, &query, add_id, &list);
    if (status != PH_OK || list.failed) {
        /* The host recorded the call's error (or alloc failed); nothing to return. */
        if (list.failed) ctx->host->set_error(ctx, "recaller: out of memory");
        if (list.text != NULL) ctx->host->free(list.text);
        return NULL;
    }
    if (list.text == NULL) {
        list.text = ctx->host->alloc(1);
        if (list.text != NULL) list.text[0] = '\0';
    }
    return list.text;
}

#define FN(f) ((void (*)(void))(f))
static const uint32_t t_recall[] = {PH_TYPE_STRING, PH_TYPE_STRING, PH_TYPE_UINT32};
static const char *const n_recall[] = {"concept", "text", "flags"};
static const ph_function f_recall = {
    sizeof(ph_function), "recall", "Recalled memory ids, one a line, newest first.", FN(recaller_recall), PH_TYPE_STRING, 3,
    t_recall, n_recall, PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC, 0};
static const ph_function *const functions[] = {&f_recall};

static const ph_plugin descriptor = {
    sizeof(ph_plugin), PLUGHOST_ABI_MAJOR, PLUGHOST_ABI_MINOR, 1, "recaller", "1.0.0",
    "Calls memory_recall with the flags it is given, for the recall tests.", 1, functions, NULL, NULL, NULL,
};

PLUGHOST_DECLARE_ENTRY() { return &descriptor; }
