#define _GNU_SOURCE
#include "ph_runtime.h"

#include <dlfcn.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

pid_t ph_rt_spawn_worker(const char *exe, char *const argv[], char *const envp[], int request_fd, int reply_fd,
                         int stdout_fd, int stderr_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return -rc;
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return -rc;
    }
    /* The sources are first copied above every target (a source numbered 3 would otherwise be
     * overwritten by an earlier dup2, or keep FD_CLOEXEC when dup2'd onto itself); dup2 clears
     * FD_CLOEXEC on the targets, and the copies are close-on-exec. */
    int source[4] = {stdout_fd, stderr_fd, request_fd, reply_fd}, high[4] = {-1, -1, -1, -1};
    for (int i = 0; i < 4; i++) {
        high[i] = fcntl(source[i], F_DUPFD_CLOEXEC, 10);
        if (high[i] < 0) {
            int e = errno;
            for (int j = 0; j < i; j++) close(high[j]);
            posix_spawn_file_actions_destroy(&actions);
            posix_spawnattr_destroy(&attr);
            return -e;
        }
    }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    for (int i = 0; i < 4; i++) posix_spawn_file_actions_adddup2(&actions, high[i], i + 1);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&actions, 5);
#endif
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    /* A process group of its own, so that stopping a worker stops what it forked too. */
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP |
                                        POSIX_SPAWN_USEVFORK);
    pid_t pid = -1;
    rc = posix_spawn(&pid, exe, &actions, &attr, argv, envp);
    for (int i = 0; i < 4; i++) close(high[i]);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc == 0 ? pid : -rc;
}

int ph_rt_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno; }

const char *ph_rt_image_path(const void *address) {
    Dl_info info;
    return dladdr(address, &info) != 0 ? info.dli_fname : NULL;
}

int ph_rt_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
#else
    (void)pid;
    return -ENOSYS;
#endif
}

static void *watch_parent(void *arg) {
    struct pollfd p = {(int)(intptr_t)arg, POLLIN, 0};
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    _exit(0);
    return NULL;
}

int ph_rt_die_with_parent(pid_t expected_parent) {
    /* A thread watching the parent's pidfd: PR_SET_PDEATHSIG would fire when the *thread* that
     * started the worker ends (a Dispatch worker thread of an embedding host, say), not the
     * host. It is the fallback where there are no pidfds. */
    int fd = ph_rt_pidfd_open(expected_parent);
    if (fd >= 0) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        int rc = pthread_create(&thread, &attr, watch_parent, (void *)(intptr_t)fd);
        pthread_attr_destroy(&attr);
        if (rc != 0) return -rc;
    } else if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
        return -errno;
    }
    /* The parent may have gone before the watch started. */
    if (getppid() != expected_parent) _exit(111);
    return 0;
}
