/* sleepy: a plugin for the worker pool tests. `nap(ms)` sleeps (using no CPU) and returns its
 * worker's pid, `pid()` returns it at once, `crash_after(ms)` sleeps and then dies of SIGSEGV. */
#define _POSIX_C_SOURCE 200809L
#include "plughost/plughost.h"

#include <stddef.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int32_t ms) {
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&t, &t) != 0) {
    }
}

static int32_t sleepy_nap(int32_t ms) {
    sleep_ms(ms);
    return (int32_t)getpid();
}

static int32_t sleepy_pid(void) { return (int32_t)getpid(); }

static int32_t sleepy_crash_after(int32_t ms) {
    sleep_ms(ms);
    volatile int *volatile p = NULL;
    *p = 1;
    return 0;
}

#define FN(f) ((void (*)(void))(f))
static const uint32_t t_i32[] = {PH_TYPE_INT32};
static const char *const n_ms[] = {"ms"};
static const ph_function f_nap = {sizeof(ph_function), "nap", "Sleeps ms milliseconds; returns the worker's pid.", FN(sleepy_nap), PH_TYPE_INT32, 1, t_i32, n_ms, 0, 0};
static const ph_function f_pid = {sizeof(ph_function), "pid", "The worker's pid.", FN(sleepy_pid), PH_TYPE_INT32, 0, NULL, NULL, 0, 0};
static const ph_function f_crash_after = {sizeof(ph_function), "crash_after", "Sleeps ms milliseconds, then dies of SIGSEGV.", FN(sleepy_crash_after), PH_TYPE_INT32, 1, t_i32, n_ms, 0, 0};
static const ph_function *const functions[] = {&f_nap, &f_pid, &f_crash_after};

static const ph_plugin descriptor = {
    sizeof(ph_plugin), PLUGHOST_ABI_MAJOR, PLUGHOST_ABI_MINOR, 0, "sleepy", "1.0.0",
    "Sleeps and tells its pid, for the worker pool tests.", 3, functions, NULL, NULL, NULL,
};

PLUGHOST_DECLARE_ENTRY() { return &descriptor; }
