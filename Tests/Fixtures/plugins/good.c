/* good.c — a valid plugin ("good" v1.0.0): the loader must accept it; add() and greet() must work. */
#include "plughost/plughost.h"

#include <string.h>

/* The host table handed to init; kept until shutdown. */
static const ph_host_api *g_host;

static int32_t good_add(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b); /* wraps instead of overflowing */
}

/* Returns "hello, NAME" in memory from host->alloc; the host frees it after copying. */
static const char *good_greet(const ph_call_context *ctx, const char *name) {
    static const char prefix[] = "hello, ";
    size_t plen = sizeof prefix - 1;
    size_t nlen = strlen(name);
    char *out = g_host != NULL ? g_host->alloc(plen + nlen + 1) : NULL;
    if (out == NULL) {
        ctx->host->set_error(ctx, "greet: out of memory");
        return NULL;
    }
    memcpy(out, prefix, plen);
    memcpy(out + plen, name, nlen + 1);
    return out;
}

static bool good_init(const ph_host_api *host) {
    g_host = host;
    return true;
}

static void good_shutdown(void) {
    g_host = NULL;
}

static const uint32_t add_types[] = {PH_TYPE_INT32, PH_TYPE_INT32};
static const char *const add_names[] = {"a", "b"};
static const ph_function add_fn = {
    .struct_size = sizeof(ph_function),
    .name = "add",
    .doc = "a + b (wraps on overflow)",
    .fn = (void (*)(void))good_add,
    .return_type = PH_TYPE_INT32,
    .param_count = 2,
    .param_types = add_types,
    .param_names = add_names,
    .flags = PH_FN_THREAD_SAFE,
};

static const uint32_t greet_types[] = {PH_TYPE_STRING};
static const char *const greet_names[] = {"name"};
static const ph_function greet_fn = {
    .struct_size = sizeof(ph_function),
    .name = "greet",
    .doc = "returns \"hello, NAME\"",
    .fn = (void (*)(void))good_greet,
    .return_type = PH_TYPE_STRING,
    .param_count = 1,
    .param_types = greet_types,
    .param_names = greet_names,
    .flags = PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC,
};

static const ph_function *const functions[] = {&add_fn, &greet_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .min_host_abi_minor = 0,
    .name = "good",
    .version = "1.0.0",
    .description = "a valid test plugin",
    .function_count = 2,
    .functions = functions,
    .init = good_init,
    .shutdown = good_shutdown,
    .free_value = NULL,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
