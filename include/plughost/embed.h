/*
 * embed.h — embedding plughost in an agent, from C, C++ or any language with a
 * C foreign-function interface (Python's ctypes, Rust, Go's cgo …).
 *
 * The functions below are exported by the shared library libplughost_embed.so
 * (SwiftPM product `plughost_embed`; `swift build` puts it in .build/debug or
 * .build/release, next to the bundled plugins libtext.so and libsig.so). This
 * header is self-contained: it depends only on <stdint.h>, and is valid C11
 * and C++11 and later. It does not need plughost.h (that header is for writing
 * plugins).
 *
 *     plughost_host *h = plughost_create("{\"engine\":\"memory\"}");
 *     if (!h) { fprintf(stderr, "%s\n", plughost_last_error(NULL)); return 1; }
 *     if (plughost_load(h, "text", NULL) != 0) { ... plughost_last_error(h) ... }
 *     char *kw = plughost_invoke(h, "text", "keywords",
 *                                "{\"text\":\"Swift actors and Swift tasks\",\"k\":3}", "notes");
 *     if (kw) { puts(kw); plughost_free(kw); }          // "swift, actors, tasks"
 *     plughost_destroy(h);                               // flushes, closes, frees
 *
 * Conventions used in the comments below (in the style of CLAP and plughost.h):
 *   [owner: caller, call]   the caller owns it; plughost reads it only during
 *                           the call and keeps a copy of whatever it needs.
 *   [owner: caller, free]   a malloc'd string the caller now owns; release it
 *                           with plughost_free() (exactly once) when done.
 *   [owner: plughost, thread-next]
 *                           plughost owns it; valid on the calling thread until
 *                           that thread calls another plughost_ function other
 *                           than plughost_last_error and plughost_free. Copy it
 *                           to keep it. Never free it.
 *   [thread: any]           may be called from any thread, concurrently with
 *                           any other call on the same host (except
 *                           plughost_destroy). Calls block the calling thread
 *                           until done (plugin calls, engine I/O).
 *   [thread: exclusive]     no other call on the same host may run or start
 *                           while this one runs, on any thread.
 *
 * Strings passed in are NUL-terminated UTF-8; one that is not valid UTF-8 is an
 * error. Strings returned are NUL-terminated UTF-8 JSON text (or a memory id).
 *
 * Errors. Nothing aborts on bad input: a function that fails returns -1 (int
 * functions) or NULL (pointer functions) and records a message and a
 * plughost_error_code for the calling thread, which plughost_last_error() and
 * plughost_last_error_code() return. Failures include: a NULL host or
 * required argument, invalid JSON or JSON of the wrong shape, an unknown plugin,
 * function or parameter, a wrong argument count, type or range, an error the
 * plugin reported, a memory write over a limit, an engine failure, and any call
 * on a closed host ("host is closed: …"). On success int functions return 0.
 *
 * Value JSON. Arguments and results of plugin functions are JSON values,
 * converted to and from the function's declared parameter and return types:
 *   bool                          true / false
 *   int8 … int64, uint8 … uint64  an integral number in the type's range (3, 3.0)
 *   float, double                 a number, or "nan", "inf", "-inf"
 *   string                        a string
 *   buffer                        an array of integers 0-255
 *   pointer                       a non-negative integer, or null for NULL
 *   void (results only)           null
 * Booleans are never taken for numbers, nor numbers for booleans.
 */
#ifndef PLUGHOST_EMBED_H
#define PLUGHOST_EMBED_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of this API: functions are only ever added within a major. */
#define PLUGHOST_EMBED_VERSION_MAJOR 1
#define PLUGHOST_EMBED_VERSION_MINOR 1

/** An embedded plughost: loaded plugins and their memory. Opaque. */
typedef struct plughost_host plughost_host;

/**
 * What kind of failure the calling thread's last error is (since API 1.1), so
 * that a caller can act on it without parsing the message. Values never change
 * meaning; new ones may be added in a later minor, so treat an unknown value
 * like PLUGHOST_ERROR_INTERNAL.
 */
typedef enum plughost_error_code {
    PLUGHOST_OK = 0,                       /* the last call succeeded                  */
    PLUGHOST_ERROR_INVALID_ARGUMENT = 1,   /* NULL, bad UTF-8, bad JSON or JSON of the
                                              wrong shape passed to this API           */
    PLUGHOST_ERROR_INVALID_CONFIGURATION = 2, /* plughost_create's config_json         */
    PLUGHOST_ERROR_CLOSED = 3,             /* the host is closed                       */
    PLUGHOST_ERROR_NOT_FOUND = 4,          /* no such plugin, function or memory       */
    PLUGHOST_ERROR_LOAD_FAILED = 5,        /* a plugin could not be loaded (file,
                                              ABI, descriptor, its init failed …)     */
    PLUGHOST_ERROR_BAD_ARGUMENTS = 6,      /* a function's argument count, type or
                                              declared range/allowed values            */
    PLUGHOST_ERROR_PLUGIN_FAILED = 7,      /* the plugin reported an error (its
                                              message is the last error)               */
    PLUGHOST_ERROR_PLUGIN_CRASHED = 8,     /* an isolated plugin crashed or its worker
                                              failed, or it returned a bad result      */
    PLUGHOST_ERROR_PLUGIN_TIMED_OUT = 9,   /* an isolated call ran past call_timeout  */
    PLUGHOST_ERROR_PLUGIN_QUARANTINED = 10, /* the plugin crashed too often: refused  */
    PLUGHOST_ERROR_MEMORY_LIMIT = 11,      /* a memory write over a limit (rejected
                                              whole)                                   */
    PLUGHOST_ERROR_MEMORY_INVALID = 12,    /* a memory write that is not valid         */
    PLUGHOST_ERROR_ENGINE = 13,            /* the memory engine failed (I/O, SQL …)    */
    PLUGHOST_ERROR_FORBIDDEN = 14,         /* not allowed (read-only memory …)         */
    PLUGHOST_ERROR_PIPELINE = 15,          /* plughost_run_pipeline: the file, a step
                                              or an item failed (the message names
                                              file, step, item and field)              */
    PLUGHOST_ERROR_INTERNAL = 99           /* anything else                            */
} plughost_error_code;

/* ------------------------------------------------------------------------- */
/* Versions                                                                  */
/* ------------------------------------------------------------------------- */

/**
 * plughost's version, e.g. "0.2.0". Returns [owner: plughost, static].
 * [thread: any] (since 1.1)
 */
const char *plughost_version(void);

/**
 * The embed API version the loaded library implements:
 * PLUGHOST_EMBED_VERSION_MAJOR << 16 | PLUGHOST_EMBED_VERSION_MINOR. A caller
 * that loads the library at run time (dlopen, ctypes) checks that the major
 * equals its header's and the minor is at least its header's before calling a
 * function the header marks "since 1.x". [thread: any] (since 1.1)
 */
uint32_t plughost_api_version(void);

/* ------------------------------------------------------------------------- */
/* Lifetime                                                                  */
/* ------------------------------------------------------------------------- */

/**
 * Creates a host: opens its memory engine and write path.
 *
 * config_json: [owner: caller, call] a JSON object, or NULL for every default.
 * Every key is optional; an unknown key, a wrong type or a value out of range
 * is an error naming the key:
 *   "engine"               "sqlite" (default: durable) or "memory"; "postgres"
 *                          when the library was built with the PostgreSQL
 *                          package trait (swift build --traits PostgreSQL),
 *                          otherwise an error saying so
 *   "database_path"        the SQLite file (default .plughost/memory.sqlite
 *                          of the working directory; created with its folders),
 *                          or for postgres the URL postgres://USER@HOST:PORT/DB
 *                          (default $PLUGHOST_DB)
 *   "baseline"             true for the eager baseline write path (default false)
 *   "plugin_directories"   folders searched for plugins loaded by bare name,
 *                          before $PLUGHOST_PLUGIN_PATH and the folder of this
 *                          library (which holds the bundled plugins)
 *   "cache_capacity"       context cache capacity (default 50, >= 1)
 *   "cache_ttl"            context cache TTL in seconds (default 7200, > 0)
 *   "clustering_threshold" writes of a goal that trigger clustering (default 10)
 *   "clustering_timeout"   seconds after which pending clustering runs (default 5)
 *   "theta"                co-occurrences that link two concepts (>= 1);
 *                          stored with the memory by the first host that
 *                          opens it (default 2); absent: the stored one; a
 *                          different one than stored fails, naming both
 *   "isolation"            "process" (each plugin in a supervised worker
 *                          process: a crash or hang is an error, not the
 *                          host's end) or "in-process" (trusted plugins,
 *                          fastest); default: in-process for the bundled
 *                          plugins, process for every other (docs/trust-model.md)
 *   "call_timeout"         seconds a call may take in process isolation before
 *                          its worker is killed (default 30; 0: no limit)
 *   "memory_limit_mb"      a worker's address space in MiB (default 4096)
 *   "allow_write"          folders workers may write under (default none)
 *   "allow_read"           folders workers may read beyond the system's
 *                          (/usr, /etc, …) and their plugin's own folder
 *   "allow_network"        let workers open TCP connections (default false)
 *
 * Returns the host [owner: caller], to be released with plughost_destroy(), or
 * NULL on failure (see plughost_last_error(NULL)). [thread: any]
 */
plughost_host *plughost_create(const char *config_json);

/**
 * Closes the host: stops accepting calls, waits for the calls running on other
 * threads to return, calls every plugin's shutdown, flushes the memory (runs
 * pending clustering; durable on SQLite) and closes the engine. The handle
 * stays valid: every later call on it fails with "host is closed: …", except
 * plughost_close itself (which returns 0 again), plughost_last_error and
 * plughost_destroy. Returns 0, or -1 when the final flush failed (the host is
 * closed anyway). [thread: any]
 */
int plughost_close(plughost_host *host);

/**
 * Closes the host if it is open (as plughost_close, ignoring a flush failure
 * except for recording it as the thread's last error) and frees it. Unlike
 * every other function it leaves the thread's last error as it was when it
 * succeeds (since 1.1). The handle
 * is invalid afterwards. NULL is ignored. [thread: exclusive]
 */
void plughost_destroy(plughost_host *host);

/* ------------------------------------------------------------------------- */
/* Plugins                                                                   */
/* ------------------------------------------------------------------------- */

/**
 * Loads a plugin. plugin: [owner: caller, call] a path to a shared object
 * (containing '/' or ending in ".so"; relative to the working directory), or a
 * bare name looked up as NAME.so and libNAME.so in "plugin_directories", then
 * $PLUGHOST_PLUGIN_PATH (colon-separated), then the folder of the running
 * executable, then the folder of this library. alias: [owner: caller, call] the
 * name to load it under, or NULL for its descriptor's name. Loading the same
 * file under the same name twice succeeds and does nothing. Returns 0 or -1.
 * [thread: any]
 */
int plughost_load(plughost_host *host, const char *plugin, const char *alias);

/**
 * Describes the loaded plugins: a JSON array sorted by name of
 *   {"name","descriptor_name","version","description","path",
 *    "functions":[{"name","doc","signature","returns","thread_safe",
 *                  "result_doc", "result_schema" (only when declared),
 *                  "parameters":[{"name","type","optional",
 *                                 and when declared (ABI 1.1 metadata):
 *                                 "description","minimum","maximum",
 *                                 "allowed","default"}]}]}
 * Returns [owner: caller, free], or NULL on failure. [thread: any]
 */
char *plughost_plugins(plughost_host *host);

/**
 * Calls plugin.function. args_json: [owner: caller, call] the arguments as a
 * JSON array by position ("[1, 2, 3]") or a JSON object by parameter name
 * ("{\"text\": \"…\", \"k\": 5}"); pass "[]" for none. Optional parameters
 * (declared with a default) may be left out: by name, or at the end of the
 * array; they take their defaults. goal: [owner: caller,
 * call] the goal whose memory and context the call works in, or NULL for
 * "default".
 *
 * Returns the result as JSON text (see "Value JSON" above; null for a void
 * function) [owner: caller, free], or NULL on failure — including an error the
 * plugin reported, whose message plughost_last_error() returns. A plugin's
 * functions run concurrently only if the plugin flags them thread-safe.
 * [thread: any]
 */
char *plughost_invoke(plughost_host *host, const char *plugin, const char *function,
                      const char *args_json, const char *goal);

/* ------------------------------------------------------------------------- */
/* Memory                                                                    */
/* ------------------------------------------------------------------------- */

/**
 * Writes a memory. memory_json: [owner: caller, call] a JSON object:
 *   {"goal": "g",                      required
 *    "plugin": "agent",                the writer's name (default "agent")
 *    "id": "m1",                       optional caller-given id (unique)
 *    "content": "text",                default ""
 *    "concepts": ["a", "b c"],         concepts (normalised: NFC, lower case …)
 *    "depends_on": [["a", "b c"]],     concept a depends on concept b c
 *    "metadata": {…},                  optional JSON object, or null; stored
 *                                      in canonical form (keys sorted, no
 *                                      white space, numbers as written)
 *    "ttl_ms": 60000}                  optional time to live: an integer
 *                                      0 … 2^63-1 of milliseconds; 0 = forever
 * The schema of `plughost memory replay` lines (docs/memory-model.md).
 * Unknown keys, a key given twice and null for other keys are errors; a write
 * over a limit is rejected whole.
 * Without "id", a write equal to a live memory of the goal (plugin, content,
 * concept set, dependencies, canonical metadata; not the TTL) returns that
 * memory's id and stores nothing (counted as "deduplicated" in the stats).
 * Returns the memory's id [owner: caller, free] once the engine acknowledged
 * it (recall sees it from then on), or NULL on failure. [thread: any]
 */
char *plughost_write(plughost_host *host, const char *memory_json);

/**
 * Recalls memories of a goal. goal: [owner: caller, call] required.
 * query_json: [owner: caller, call] exactly one of {"concept": "…"} (memories
 * holding that concept, newest first), {"text": "…"} (full-text match, best
 * first, scored) or {"plugin": "…"} (memories that plugin wrote, newest first).
 * With "concept", "related": true (since 1.1) widens it to the concept's
 * cluster: the goal's memories holding any concept of the cluster the
 * normalised concept belongs to, newest first, limit applied after the merge;
 * the goal's pending clustering runs first, so the cluster is exact (as after
 * plughost_flush). "related" with "text" or "plugin", or not a boolean, is an
 * error (PLUGHOST_ERROR_INVALID_ARGUMENT).
 * limit: the most memories to return; 0 for 20; negative is an error.
 * Returns a JSON array [owner: caller, free] of
 *   {"id","goal","plugin","content","concepts","depends_on","metadata",
 *    "created_at","expires_at","score"}
 * (times in seconds since 1970, expires_at null when never), or NULL on
 * failure. Expired memories are never returned. [thread: any]
 */
char *plughost_recall(plughost_host *host, const char *goal, const char *query_json, int32_t limit);

/**
 * Forgets a memory by id. id: [owner: caller, call]. goal: [owner: caller,
 * call] only forget it in this goal, or NULL for any goal. forgotten:
 * [owner: caller] receives 1 when a memory was forgotten and 0 when there was
 * none (not an error), or NULL. Returns 0 or -1. [thread: any]
 */
int plughost_forget(plughost_host *host, const char *id, const char *goal, int *forgotten);

/**
 * Sweeps expired memories and runs all pending clustering, so that
 * plughost_clusters() is exact. Returns 0 or -1. [thread: any]
 */
int plughost_flush(plughost_host *host);

/**
 * The canonical concept clusters of one goal, or of every goal when goal is
 * NULL: the JSON of `plughost memory clusters --json`, e.g.
 *   [{"goal":"g","clusters":[{"id":"a","concepts":["a","b c"]}]}]
 * sorted by goal, clusters sorted by id, no white space. They lag behind
 * writes until clustering ran: call plughost_flush() first for exact clusters.
 * goal: [owner: caller, call] or NULL. Returns [owner: caller, free], or NULL
 * on failure. [thread: any]
 */
char *plughost_clusters(plughost_host *host, const char *goal);

/**
 * Counters as a JSON object:
 *   {"database_path":…,"engine":"memory","failed_invocations":N,
 *    "invocations":N,"memory":{"writes":N,"deduplicated":N,"commits":N,
 *    "cache_hits":N,"clustering_runs":N,"cache_hit_ratio":X,…},"plugins":[…]}
 * keys sorted; database_path is null for the memory engine. The same names as
 * `plughost stats --json` and the "memory" object of `plughost run --json`.
 * Returns [owner: caller, free], or NULL on failure. [thread: any]
 */
char *plughost_stats(plughost_host *host);

/* ------------------------------------------------------------------------- */
/* Goal contexts                                                             */
/* ------------------------------------------------------------------------- */

/**
 * A plugin's context for a goal: the key-value pairs the plugin reads and
 * writes with context_get/context_set, and the ids of its recent memories:
 *   {"recent":["m1","m2"],"values":{"key":"value"}}
 * (keys sorted; recent oldest first; keys starting with "plughost:" are the
 * host's own and not shown). A plugin that never wrote one has
 * {"recent":[],"values":{}}. goal, plugin: [owner: caller, call] required; the
 * plugin is named as it writes (its load name), and need not be loaded.
 * Returns [owner: caller, free], or NULL on failure. [thread: any] (since 1.1)
 */
char *plughost_context_get(plughost_host *host, const char *goal, const char *plugin);

/**
 * Sets one key of a plugin's context for a goal, or removes it when value is
 * NULL. goal, plugin, key: [owner: caller, call] required (a key starting
 * with "plughost:" is an error); value: [owner: caller, call] or NULL. Durable once it returns (on SQLite); the plugin's
 * next call in that goal sees it. Returns 0 or -1. [thread: any] (since 1.1)
 */
int plughost_context_set(plughost_host *host, const char *goal, const char *plugin,
                         const char *key, const char *value);

/* ------------------------------------------------------------------------- */
/* Pipelines                                                                 */
/* ------------------------------------------------------------------------- */

/**
 * Runs a pipeline file (YAML or JSON, docs/pipelines.md) on this host, as
 * `plughost run FILE` does: loads the plugins it names that are not loaded yet
 * (with the pipeline's isolation and limits), runs its steps, and returns the
 * report `plughost run --json` prints:
 *   {"baseline":false,"clusters":[…],"goal":"g","memory":{…},"name":"…",
 *    "outputs":{…},"seconds":0.1,"steps":[{"calls":N,"id":"…","seconds":S}]}
 * path: [owner: caller, call] the file; relative paths inside it are relative
 * to its folder. options_json: [owner: caller, call] NULL or a JSON object,
 * every key optional:
 *   "goal"    overrides the pipeline's goal
 *   "inputs"  {"name": "text", "list_input": ["line 1", "line 2"]}: overrides
 *             inputs, taken literally (no @file); a list input takes an array
 *             of strings (no line breaks in them), or a string with one item
 *             per line; a name given twice is an error
 * Returns [owner: caller, free], or NULL on failure: PLUGHOST_ERROR_PIPELINE
 * when the file, a step or an item failed (the message names the file, step,
 * item and field), PLUGHOST_ERROR_INVALID_ARGUMENT for bad options_json,
 * PLUGHOST_ERROR_CLOSED or PLUGHOST_ERROR_ENGINE as for other calls.
 * Memory written by steps that finished before a failure stays written.
 * Blocks until the run ends; plughost_close() waits for it. [thread: any]
 * (since 1.1)
 */
char *plughost_run_pipeline(plughost_host *host, const char *path, const char *options_json);

/* ------------------------------------------------------------------------- */
/* Errors and memory                                                         */
/* ------------------------------------------------------------------------- */

/**
 * The message of the calling thread's last failed call, or "" when its last
 * call succeeded. Never NULL. Messages are per thread, not per host: host is
 * not used and may be NULL (as after plughost_create failed).
 * Returns [owner: plughost, thread-next]. [thread: any]
 */
const char *plughost_last_error(const plughost_host *host);

/**
 * The code of the calling thread's last failed call (a plughost_error_code),
 * or PLUGHOST_OK (0) when its last call succeeded. Per thread, like
 * plughost_last_error(). [thread: any] (since 1.1)
 */
int plughost_last_error_code(void);

/**
 * A code's name: "ok", "invalid_argument", "plugin_failed" … (the constant's
 * suffix in lower case), or "unknown" for a value that is no code.
 * Returns [owner: plughost, static]. [thread: any] (since 1.1)
 */
const char *plughost_error_name(int code);

/**
 * Releases a string returned [owner: caller, free] by this API. NULL is
 * ignored. [thread: any]
 */
void plughost_free(char *string);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PLUGHOST_EMBED_H */
