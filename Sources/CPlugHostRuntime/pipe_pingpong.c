#define _GNU_SOURCE
#include "ph_runtime.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

/* The child only calls read, write and _exit (async-signal-safe), so forking a threaded
 * process is fine here. */
static void echo_loop(int in, int out) {
    char buf[16];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EAGAIN) continue; /* spinning: the descriptor is non-blocking */
        if (n <= 0) _exit(0);
        if (write(out, buf, (size_t)n) != n) _exit(1);
    }
}

/* Reads exactly 8 bytes, spinning on a non-blocking descriptor or blocking on a blocking one. */
static int read8(int fd, char *buf) {
    for (;;) {
        ssize_t n = read(fd, buf, 8);
        if (n == 8) return 1;
        if (n < 0 && errno == EAGAIN) continue;
        return 0;
    }
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double ph_rt_pipe_pingpong_ns(int round_trips, int spin) {
    int to_child[2], to_parent[2];
    if (pipe2(to_child, O_CLOEXEC) != 0) return -1;
    if (pipe2(to_parent, O_CLOEXEC) != 0) {
        close(to_child[0]);
        close(to_child[1]);
        return -1;
    }
    if (spin) {
        fcntl(to_child[0], F_SETFL, fcntl(to_child[0], F_GETFL) | O_NONBLOCK);
        fcntl(to_parent[0], F_SETFL, fcntl(to_parent[0], F_GETFL) | O_NONBLOCK);
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(to_child[1]);
        close(to_parent[0]);
        echo_loop(to_child[0], to_parent[1]);
    }
    close(to_child[0]);
    close(to_parent[1]);
    double result = -1;
    if (pid > 0) {
        char msg[8] = {1, 2, 3, 4, 5, 6, 7, 8}, back[8];
        int ok = 1;
        for (int i = 0; i < 100 && ok; i++) ok = write(to_child[1], msg, 8) == 8 && read8(to_parent[0], back);
        uint64_t start = now_ns();
        for (int i = 0; i < round_trips && ok; i++) ok = write(to_child[1], msg, 8) == 8 && read8(to_parent[0], back);
        uint64_t end = now_ns();
        if (ok) result = (double)(end - start) / round_trips;
    }
    close(to_child[1]);
    close(to_parent[0]);
    if (pid > 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    }
    return result;
}
