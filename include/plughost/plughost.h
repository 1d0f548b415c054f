/*
 * plughost.h — the plughost plugin ABI.
 *
 * This one header is all a plugin author needs. It depends only on <stdint.h>,
 * <stddef.h> and <stdbool.h>, is valid C11 and C++17, and is stable within an
 * ABI major version.
 *
 * A plugin is a shared object (.so) that exports one C symbol,
 * PLUGHOST_ENTRY_NAME ("plughost_plugin_entry"), of type ph_entry_fn. The host
 * dlopen()s the file with RTLD_NOW | RTLD_LOCAL, calls the entry point once,
 * checks the returned descriptor and then calls the plugin's functions through
 * libffi with the signatures the descriptor declares.
 *
 * Conventions used in the comments below (in the style of CLAP):
 *   [owner: plugin, static]   the plugin owns the memory and it must stay valid
 *                             and unchanged until the plugin is unloaded
 *                             (string literals and static arrays do that).
 *   [owner: host, call]       the host owns it; valid only until the function
 *                             that received it returns. Copy what you keep.
 *   [thread: any]             may be called from any thread, concurrently.
 *   [thread: call]            may be called only from the thread that is
 *                             running the plugin function that received the
 *                             ph_call_context, while that call is running.
 *   [thread: main]            called by the host from the thread that loads or
 *                             unloads the plugin; never concurrently with any
 *                             other call into the plugin.
 *
 * Versioning:
 *   - PLUGHOST_ABI_MAJOR changes only when something existing changes. A host
 *     refuses a plugin whose major differs from its own.
 *   - PLUGHOST_ABI_MINOR grows when something is appended (a field at the end
 *     of a struct, a new type code, a new flag, a new host function). A host
 *     loads a plugin built against a newer minor as long as the plugin's
 *     `min_host_abi_minor` is not above the host's minor: that field is how a
 *     plugin that *needs* something newer says so, and an older host refuses it.
 *   - Every struct that may grow starts with `struct_size` (set it to
 *     sizeof(the struct)). A reader uses only the fields that lie entirely
 *     within struct_size; PH_HAS_FIELD() below tests that. Structs whose size
 *     would end in padding carry an explicit `reserved` field (set it to 0), so
 *     that a field appended by a later minor always starts at or after the old
 *     sizeof and PH_HAS_FIELD never mistakes padding for a field.
 */
#ifndef PLUGHOST_PLUGHOST_H
#define PLUGHOST_PLUGHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Versions, limits and the entry point                                      */
/* ------------------------------------------------------------------------- */

#define PLUGHOST_ABI_MAJOR 1
#define PLUGHOST_ABI_MINOR 1

/** Name of the one symbol a plugin exports. */
#define PLUGHOST_ENTRY_NAME "plughost_plugin_entry"

/** Most parameters a function may declare (the context pointer not counted). */
#define PH_MAX_PARAMS 32
/** Most functions one plugin may declare. */
#define PH_MAX_FUNCTIONS 1024
/** Size of the buffer a memory id is written into, terminating NUL included;
 *  memory_write refuses a smaller non-NULL id_out before writing anything. */
#define PH_MEMORY_ID_CAPACITY 128

/* Limits of one memory write; a write over any of them is rejected whole. */
#define PH_MAX_CONCEPTS 64                 /* concepts in one write                    */
#define PH_MAX_DEPENDENCIES 64             /* depends_on pairs in one write            */
#define PH_MAX_CONCEPT_KEY_BYTES 256       /* a concept key, UTF-8, after normalising  */
#define PH_MAX_CONTENT_BYTES (1024 * 1024) /* content, UTF-8 bytes                     */
#define PH_MAX_MEMORY_ID_BYTES 127         /* a caller-given id, UTF-8 bytes           */
#define PH_MAX_METADATA_BYTES (64 * 1024)  /* metadata_json, UTF-8 bytes               */

#if defined(_WIN32)
#define PH_EXPORT __declspec(dllexport)
#else
#define PH_EXPORT __attribute__((visibility("default")))
#endif

/** True when `field` of the struct `*ptr` lies within ptr->struct_size. */
#define PH_HAS_FIELD(ptr, type, field) \
    ((ptr) != NULL && (ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* ------------------------------------------------------------------------- */
/* Value types                                                               */
/* ------------------------------------------------------------------------- */

/**
 * Type codes of parameters and return values, and the C type each one is
 * passed as. The numbers are ABI: never renumbered, only appended to.
 */
typedef enum ph_type {
    PH_TYPE_VOID = 0,    /* return only                                      */
    PH_TYPE_BOOL = 1,    /* bool                                             */
    PH_TYPE_INT8 = 2,    /* int8_t                                           */
    PH_TYPE_INT16 = 3,   /* int16_t                                          */
    PH_TYPE_INT32 = 4,   /* int32_t                                          */
    PH_TYPE_INT64 = 5,   /* int64_t                                          */
    PH_TYPE_UINT8 = 6,   /* uint8_t                                          */
    PH_TYPE_UINT16 = 7,  /* uint16_t                                         */
    PH_TYPE_UINT32 = 8,  /* uint32_t                                         */
    PH_TYPE_UINT64 = 9,  /* uint64_t                                         */
    PH_TYPE_FLOAT = 10,  /* float                                            */
    PH_TYPE_DOUBLE = 11, /* double                                           */
    PH_TYPE_STRING = 12, /* const char *, NUL-terminated UTF-8, never NULL   */
    PH_TYPE_BUFFER = 13, /* ph_buffer, passed and returned BY VALUE          */
    PH_TYPE_POINTER = 14 /* void *, opaque to the host                       */
} ph_type;

/** One past the highest type code this header knows. */
#define PH_TYPE_COUNT 15

/**
 * A byte buffer, passed by value.
 * As a parameter: [owner: host, call] — `data` is valid until the function
 * returns; it may be NULL only when `len` is 0.
 * As a return value: see the return-ownership flags of ph_function; {NULL, 0}
 * is a valid empty buffer (host->alloc(0) returns NULL).
 */
typedef struct ph_buffer {
    const uint8_t *data;
    size_t len;
} ph_buffer;

/* ------------------------------------------------------------------------- */
/* Status codes                                                              */
/* ------------------------------------------------------------------------- */

typedef enum ph_status {
    PH_OK = 0,
    PH_ERR_INVALID = 1,   /* an argument is malformed (NULL, bad UTF-8, over a limit) */
    PH_ERR_NOT_FOUND = 2, /* no such memory, key or function                          */
    PH_ERR_STORAGE = 3,   /* the memory engine failed; nothing was acknowledged        */
    PH_ERR_NO_MEMORY = 4, /* an allocation failed                                      */
    PH_ERR_STATE = 5      /* the call is not allowed now (e.g. no call is running)     */
} ph_status;

/* ------------------------------------------------------------------------- */
/* The host API                                                              */
/* ------------------------------------------------------------------------- */

typedef struct ph_host_api ph_host_api;

/**
 * The context of one running call, passed as the first argument of every
 * function flagged PH_FN_TAKES_CONTEXT.
 * [owner: host, call] — the pointer and everything it points to is valid only
 * until the plugin function returns; never keep it. [thread: call]
 */
typedef struct ph_call_context {
    uint32_t struct_size;     /* sizeof(ph_call_context) as the host knows it    */
    const ph_host_api *host;  /* the host API table, same as the one from init   */
    const char *goal;         /* goal id of this call, UTF-8, never NULL         */
    const char *plugin;       /* this plugin's identity: its declared name       */
    void *host_data;          /* private to the host; do not touch               */
} ph_call_context;

/** A `depends_on` pair: concept `from` depends on concept `to`. */
typedef struct ph_dependency {
    const char *from; /* [owner: caller, call] UTF-8, not NULL */
    const char *to;   /* [owner: caller, call] UTF-8, not NULL */
} ph_dependency;

/**
 * A memory to write. Every pointer is [owner: caller, call]: the host copies
 * what it keeps before memory_write returns.
 */
typedef struct ph_memory_write {
    uint32_t struct_size;               /* sizeof(ph_memory_write)                    */
    const char *id;                     /* optional caller-given id, or NULL          */
    const char *content;                /* UTF-8 text, not NULL (may be "")           */
    const char *const *concepts;        /* concept_count UTF-8 strings                */
    size_t concept_count;
    const ph_dependency *depends_on;    /* depends_on_count pairs, or NULL            */
    size_t depends_on_count;
    const char *metadata_json;          /* optional JSON object text, or NULL         */
    int64_t ttl_ms;                     /* time to live in ms; 0 (or less) = forever  */
} ph_memory_write;

/**
 * A memory as the host hands it to a recall callback. Every pointer is
 * [owner: host, call]: valid only during the callback invocation.
 */
typedef struct ph_memory {
    uint32_t struct_size;
    const char *id;
    const char *goal;
    const char *plugin;
    const char *content;
    const char *const *concepts;        /* normalised concept keys          */
    size_t concept_count;
    const char *metadata_json;          /* NULL when the memory has none    */
    double score;                       /* relevance for text recall, else 0 */
} ph_memory;

/**
 * ph_recall_query.flags (ABI minor 1; the field was `reserved`, always 0, in
 * minor 0, so a minor-0 plugin's query means what it meant):
 *   PH_RECALL_RELATED  widen recall by concept to the concept's cluster: the
 *                      goal's memories holding any concept of the cluster the
 *                      (normalised) concept belongs to, newest first, `limit`
 *                      applied after the merge. The host first runs the goal's
 *                      pending clustering, so the cluster is exact (as after a
 *                      flush). Only with `concept`; with `text` it is an error.
 * Unknown bits are an error (PH_ERR_INVALID, naming them). A host older than
 * minor 1 ignored this field: check host->abi_minor >= 1 (or declare
 * min_host_abi_minor 1) before setting a flag.
 */
enum {
    PH_RECALL_RELATED = 1u << 0
};
/** Every ph_recall_query flag this header knows. */
#define PH_RECALL_KNOWN_FLAGS 0x1u

/** What a recall looks for. Exactly one of `concept` or `text` is non-NULL. */
typedef struct ph_recall_query {
    uint32_t struct_size;
    const char *concept;                /* [owner: caller, call] or NULL    */
    const char *text;                   /* [owner: caller, call] or NULL    */
    uint32_t limit;                     /* most memories to return; 0 = 20  */
    uint32_t flags;                     /* PH_RECALL_* bits (minor 1; was
                                           `reserved`, set to 0, in 1.0)    */
} ph_recall_query;

/**
 * Called once per recalled memory, best first. Return false to stop early.
 * [thread: call] — runs on the thread that called recall, before it returns.
 */
typedef bool (*ph_recall_fn)(void *user, const ph_memory *memory);

typedef enum ph_log_level {
    PH_LOG_DEBUG = 0,
    PH_LOG_INFO = 1,
    PH_LOG_WARN = 2,
    PH_LOG_ERROR = 3
} ph_log_level;

/**
 * The table of host functions. [owner: host, static] — valid from init until
 * shutdown returns. Test PH_HAS_FIELD(host, ph_host_api, field) before using
 * a function added after minor 0 (none yet).
 *
 * Errors: a host function that fails (returns a status other than PH_OK, or
 * NULL from context_get because of a failure) has already recorded a message
 * as the current call's error, as set_error would: the call will be reported
 * as failed with that message. Do not overwrite it; return. The one status
 * that is not a failure is PH_ERR_NOT_FOUND from memory_forget (no memory
 * had that id), which records nothing.
 *
 * Concept keys: the host normalises each concept (Unicode NFC, lower-cased,
 * runs of white space folded to one space, trimmed); an empty key rejects the
 * write.
 */
struct ph_host_api {
    uint32_t struct_size;
    uint32_t abi_major; /* the host's PLUGHOST_ABI_MAJOR */
    uint32_t abi_minor; /* the host's PLUGHOST_ABI_MINOR */

    /**
     * Writes a memory for ctx's goal and plugin. Returns once the memory is
     * acknowledged (durable on a durable engine) and visible to recall.
     * The whole write is rejected (PH_ERR_INVALID, with a message set as by
     * set_error) when a concept is empty after normalisation, a string is not
     * UTF-8, or a limit is exceeded; nothing of it is then applied.
     * id_out: [owner: caller] a buffer of id_capacity bytes (use
     * PH_MEMORY_ID_CAPACITY) that receives the memory's id, NUL-terminated;
     * may be NULL. [thread: call]
     */
    ph_status (*memory_write)(const ph_call_context *ctx, const ph_memory_write *write,
                              char *id_out, size_t id_capacity);

    /**
     * Recalls memories of ctx's goal by concept or by text and calls `fn`
     * once per memory, best first. `user` is passed through untouched.
     * With PH_RECALL_RELATED in query->flags (ABI minor 1), recall by concept
     * widens to the concept's cluster (see PH_RECALL_RELATED). [thread: call]
     */
    ph_status (*memory_recall)(const ph_call_context *ctx, const ph_recall_query *query,
                               ph_recall_fn fn, void *user);

    /** Forgets the memory with this id in ctx's goal. [thread: call] */
    ph_status (*memory_forget)(const ph_call_context *ctx, const char *id);

    /**
     * Reads `key` of this plugin's context for ctx's goal.
     * Returns a NUL-terminated UTF-8 copy [owner: plugin] that the plugin must
     * release with host->free, or NULL when the key is not set. On a failure it
     * also returns NULL but records the call's error (see above), so a NULL
     * without a failed call means "not set".
     * Contexts survive calls and, on a durable engine, restarts. A goal's context
     * belongs to the plugin file that first used it: another file declaring the
     * same name gets NULL with the call's error set (PH_ERR_STATE from
     * context_set). Keys starting with "plughost:" are the host's. [thread: call]
     */
    char *(*context_get)(const ph_call_context *ctx, const char *key);

    /**
     * Sets `key` of this plugin's context for ctx's goal to `value` (UTF-8,
     * copied), or removes it when value is NULL. Durable once it returns.
     * [thread: call]
     */
    ph_status (*context_set)(const ph_call_context *ctx, const char *key, const char *value);

    /**
     * Logs a message. ctx may be NULL (during init and shutdown, and on threads
     * other than the call's, where the ctx must not be used).
     * message: [owner: caller, call]. [thread: any]
     */
    void (*log)(const ph_call_context *ctx, ph_log_level level, const char *message);

    /**
     * Reports that the current call failed with `message` (copied). The host
     * ignores the function's return value and reports the error to whoever
     * called. The last message set wins. [thread: call]
     */
    void (*set_error)(const ph_call_context *ctx, const char *message);

    /**
     * Allocates `size` bytes that the host owns: use it for strings and
     * buffers returned by functions flagged PH_FN_RETURNS_HOST_ALLOC, which the
     * host frees after copying. Returns NULL when size is 0 or memory is out.
     * [thread: any]
     */
    void *(*alloc)(size_t size);

    /** Frees memory from `alloc` or from `context_get`. NULL is ignored. [thread: any] */
    void (*free)(void *ptr);
};

/* ------------------------------------------------------------------------- */
/* The plugin descriptor                                                     */
/* ------------------------------------------------------------------------- */

/** Function flags. Unknown bits are an error for a host that does not know them. */
enum {
    /** The C function's first parameter is `const ph_call_context *`; it is
     *  not listed in param_types. Needed to use the host API or report errors. */
    PH_FN_TAKES_CONTEXT = 1u << 0,
    /** The function may run on several threads at once, also at the same time
     *  as any other function of the plugin. Without it the host never runs two
     *  calls of this plugin's unflagged functions concurrently (a flagged one
     *  may still run beside an unflagged one). */
    PH_FN_THREAD_SAFE = 1u << 1,
    /** A returned string's or buffer's memory came from host->alloc; the host
     *  frees it after copying. */
    PH_FN_RETURNS_HOST_ALLOC = 1u << 2,
    /** A returned string's or buffer's memory is the plugin's; the host copies
     *  it and then calls the descriptor's `free_value` on the pointer.
     *  With neither RETURNS flag the returned memory must be static
     *  [owner: plugin, static], or valid at least until the next call of any
     *  function of the plugin on the same thread. */
    PH_FN_RETURNS_PLUGIN_ALLOC = 1u << 3
};

/** All function flags this header defines. */
#define PH_FN_KNOWN_FLAGS 0xFu

/** Parameter flags (ph_param_info.flags). Unknown bits are an error. */
enum {
    /** `minimum` applies (numeric parameters only): the value must be >= it. */
    PH_PARAM_HAS_MINIMUM = 1u << 0,
    /** `maximum` applies (numeric parameters only): the value must be <= it. */
    PH_PARAM_HAS_MAXIMUM = 1u << 1,
    /** Callers may omit the argument; the host then passes `default_json`'s value.
     *  Required parameters may not follow an optional one. */
    PH_PARAM_OPTIONAL = 1u << 2
};

/** All parameter flags this header defines. */
#define PH_PARAM_KNOWN_FLAGS 0x7u

/**
 * What a parameter means and which values it takes (ABI minor 1). The host checks
 * every argument against it before calling, in every isolation, and generates tool
 * schemas from it (`plughost tools`, `plughost mcp`). [owner: plugin, static]
 */
typedef struct ph_param_info {
    uint32_t struct_size;            /* sizeof(ph_param_info)                          */
    uint32_t flags;                  /* PH_PARAM_* bits                                */
    const char *description;         /* one line for people and models, or NULL        */
    double minimum;                  /* inclusive; with PH_PARAM_HAS_MINIMUM           */
    double maximum;                  /* inclusive; with PH_PARAM_HAS_MAXIMUM           */
    const char *default_json;        /* JSON text of the value passed when omitted
                                        (e.g. "10", "\"en\""); required with
                                        PH_PARAM_OPTIONAL, else NULL                    */
    const char *const *allowed;      /* allowed_count UTF-8 strings: the only values a
                                        string parameter takes; NULL for any           */
    uint32_t allowed_count;
    uint32_t reserved;               /* set to 0                                       */
} ph_param_info;

/**
 * One callable function. [owner: plugin, static]
 */
typedef struct ph_function {
    uint32_t struct_size;            /* sizeof(ph_function)                           */
    const char *name;                /* unique within the plugin, UTF-8, not NULL     */
    const char *doc;                 /* one line, or NULL                             */
    void (*fn)(void);                /* the C function, cast; not NULL                */
    uint32_t return_type;            /* a ph_type                                     */
    uint32_t param_count;            /* <= PH_MAX_PARAMS, context not counted         */
    const uint32_t *param_types;     /* param_count ph_type codes (not VOID); may be
                                        NULL when param_count is 0                    */
    const char *const *param_names;  /* param_count unique identifier names (may be
                                        NULL when param_count is 0); pipelines pass
                                        arguments by these names                      */
    uint32_t flags;                  /* PH_FN_* bits                                  */
    uint32_t reserved;               /* set to 0                                      */

    /* ABI minor 1 (read only when struct_size covers them; a minor-0 plugin's
       smaller ph_function loads as before): */
    const ph_param_info *const *params; /* param_count pointers, each NULL when that
                                        parameter has no metadata; or NULL            */
    const char *result_doc;          /* what the result is, one line, or NULL         */
    const char *result_schema_json;  /* for a string result that carries JSON: its JSON
                                        Schema (an object, as JSON text), or NULL      */
} ph_function;

/**
 * The plugin descriptor, returned by the entry point. [owner: plugin, static]
 */
typedef struct ph_plugin {
    uint32_t struct_size;            /* sizeof(ph_plugin)                             */
    uint32_t abi_major;              /* PLUGHOST_ABI_MAJOR the plugin was built with  */
    uint32_t abi_minor;              /* PLUGHOST_ABI_MINOR the plugin was built with  */
    uint32_t min_host_abi_minor;     /* lowest host minor the plugin can work with    */
    const char *name;                /* UTF-8, not NULL, not empty                    */
    const char *version;             /* UTF-8, not NULL, e.g. "1.2.0"                 */
    const char *description;         /* one line, or NULL                             */
    uint32_t function_count;         /* <= PH_MAX_FUNCTIONS                           */
    const ph_function *const *functions; /* function_count pointers, none NULL        */

    /**
     * Optional. Called after the descriptor was accepted, before any function:
     * once per load. A host that loads the same file twice (under two names)
     * maps it once, so init and shutdown then run twice on the same statics.
     * `host` is [owner: host, static] until shutdown returns: keep it.
     * Return false to refuse loading; call host->log first to say why.
     * [thread: main]
     */
    bool (*init)(const ph_host_api *host);

    /** Optional. Called once before unloading; no call runs then. [thread: main] */
    void (*shutdown)(void);

    /**
     * Frees a value returned by a function flagged PH_FN_RETURNS_PLUGIN_ALLOC
     * (the string pointer, or the buffer's data pointer). Required when any
     * function has that flag. [thread: any of the threads that call functions]
     */
    void (*free_value)(void *value);
} ph_plugin;

/** The type of the entry point. It must return the same pointer every time. */
typedef const ph_plugin *(*ph_entry_fn)(void);

/**
 * The entry point every plugin defines (declared here with C linkage, so that a
 * C++ plugin exports the unmangled name). [thread: main]
 */
PH_EXPORT const ph_plugin *plughost_plugin_entry(void);

/** Convenience: begins the entry point's definition in a plugin source file:
 *  PLUGHOST_DECLARE_ENTRY() { return &my_descriptor; } */
#define PLUGHOST_DECLARE_ENTRY() PH_EXPORT const ph_plugin *plughost_plugin_entry(void)

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PLUGHOST_PLUGHOST_H */
