/* abi_minor_new.c — built for ABI minor PLUGHOST_ABI_MINOR + 5 but min_host_abi_minor 0: the loader must LOAD it; answer() returns 42. */
#include "plughost/plughost.h"

/*
 * What a plugin built against a newer minor looks like: its structs have
 * fields appended after the ones this host knows, and struct_size counts them.
 * The host must read only the fields it knows and ignore the rest.
 */
typedef struct future_function {
    ph_function known;       /* the ABI 1.0 fields */
    uint64_t future_field;   /* appended by a later minor */
} future_function;

typedef struct future_plugin {
    ph_plugin known;         /* the ABI 1.0 fields */
    void (*future_hook)(void);
    uint64_t future_field;
} future_plugin;

static int32_t answer(void) {
    return 42;
}

static const future_function answer_fn = {
    .known = {
        .struct_size = sizeof(future_function),
        .name = "answer",
        .doc = "returns 42",
        .fn = (void (*)(void))answer,
        .return_type = PH_TYPE_INT32,
        .param_count = 0,
        .param_types = NULL,
        .param_names = NULL,
        .flags = PH_FN_THREAD_SAFE,
    },
    .future_field = 0xFEEDFACEu,
};

static const ph_function *const functions[] = {&answer_fn.known};

static const future_plugin plugin = {
    .known = {
        .struct_size = sizeof(future_plugin),
        .abi_major = PLUGHOST_ABI_MAJOR,
        .abi_minor = PLUGHOST_ABI_MINOR + 5,
        .min_host_abi_minor = 0, /* uses nothing newer than ABI x.0 */
        .name = "abi_minor_new",
        .version = "1.0.0",
        .description = "built against a newer minor, works with any host of the same major",
        .function_count = 1,
        .functions = functions,
        .init = NULL,
        .shutdown = NULL,
        .free_value = NULL,
    },
    .future_hook = NULL,
    .future_field = 0xFEEDFACEu,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin.known;
}
