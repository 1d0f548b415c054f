/*
 * ph_runtime.h: the few things plughost's runtime does in C, because Swift cannot (thread-local
 * storage with no lookup cost, fork handlers, posix_spawn file actions, raw Linux syscalls for
 * Landlock and pidfds). Private to plughost; not part of the plugin ABI.
 */
#ifndef PLUGHOST_RUNTIME_H
#define PLUGHOST_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- Call guard: which call context is live on this thread ------------------------------- */

/** The call context of the plugin call running on this thread, or NULL. */
const void *ph_rt_current_context(void);
/** Sets this thread's live call context; returns the previous one (restore it afterwards). */
const void *ph_rt_swap_current_context(const void *ctx);

/** Installs a pthread_atfork child handler (once) that marks a forked child. */
void ph_rt_install_fork_guard(void);
/** True in a child forked (through fork()) after ph_rt_install_fork_guard ran. */
int ph_rt_is_forked_child(void);

/* --- Worker processes --------------------------------------------------------------------- */

/**
 * Starts `exe` with `argv` and `envp` so that the child has: fd 0 = /dev/null, fd 1 = `stdout_fd`, fd 2 =
 * `stderr_fd`, fd 3 = `request_fd` (it reads), fd 4 = `reply_fd` (it writes), and no other fd; the
 * signal mask cleared, SIGPIPE default, and a process group of its own. Returns the pid, or -errno.
 */
pid_t ph_rt_spawn_worker(const char *exe, char *const argv[], char *const envp[], int request_fd, int reply_fd,
                         int stdout_fd, int stderr_fd);

/** pipe2(fds, O_CLOEXEC); 0 or -errno. */
int ph_rt_pipe_cloexec(int fds[2]);

/** The path of the loaded image (executable or shared object) that contains `address`, or NULL.
 *  [owner: the dynamic loader, while the image stays loaded] */
const char *ph_rt_image_path(const void *address);

/** pidfd_open(2); -errno on failure. */
int ph_rt_pidfd_open(pid_t pid);

/** Ties the calling process's life to its parent's: a thread watching the parent's pidfd exits
 *  the process when the parent ends (PR_SET_PDEATHSIG where there are no pidfds). 0 or -errno. */
int ph_rt_die_with_parent(pid_t expected_parent);

/* --- Sandbox (applied by a worker to itself, before it loads a plugin) -------------------- */

/** Resource limits; 0 leaves a limit as it is. */
typedef struct ph_rt_limits {
    uint64_t address_space_bytes; /* RLIMIT_AS   */
    uint64_t cpu_seconds;         /* RLIMIT_CPU  */
    uint64_t open_files;          /* RLIMIT_NOFILE */
} ph_rt_limits;

/** Applies the limits, RLIMIT_CORE 0 and no-new-privileges. 0, or -errno with `what` set. */
int ph_rt_apply_limits(const ph_rt_limits *limits, const char **what);

/** The Landlock ABI version this kernel offers (0 when it has none or it is disabled). */
int ph_rt_landlock_abi(void);

/**
 * Restricts the calling process with Landlock: read and execute only under the
 * `readable_count` paths of `readable`, read, write and create only under the `writable_count`
 * paths of `writable` (paths that do not exist are skipped); when `allow_network` is 0 and the
 * ABI is 4 or more, no TCP bind or connect; with ABI 6 or more, no signals to and no abstract
 * UNIX sockets of processes outside the sandbox. Returns the ABI used (> 0), 0 when the kernel
 * has no Landlock (nothing applied), or -errno with `what` set.
 */
int ph_rt_landlock_restrict(const char *const *readable, size_t readable_count, const char *const *writable,
                            size_t writable_count, int allow_network, const char **what);

/* --- Output ---------------------------------------------------------------------------------- */

/** Writes `count` bytes as 2 * count lower-case hex digits to `out` (no NUL). C, so that it is
 *  fast in debug builds too (a 16 MiB buffer result). */
void ph_rt_hex(const uint8_t *bytes, size_t count, uint8_t *out);

/* --- Benchmarks ---------------------------------------------------------------------------- */

/** Nanoseconds per round trip of 8 bytes over a pair of pipes between this process and a forked
 *  child that echoes them (the floor of an isolated call), or -1 on failure. With `spin`, both
 *  sides read non-blocking descriptors in a loop instead of sleeping in read. */
double ph_rt_pipe_pingpong_ns(int round_trips, int spin);

#ifdef __cplusplus
}
#endif

#endif
