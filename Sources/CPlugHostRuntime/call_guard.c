#include "ph_runtime.h"

#include <pthread.h>

static _Thread_local const void *current_context;
static volatile int forked_child;
static pthread_once_t fork_guard_once = PTHREAD_ONCE_INIT;

const void *ph_rt_current_context(void) { return current_context; }

const void *ph_rt_swap_current_context(const void *ctx) {
    const void *previous = current_context;
    current_context = ctx;
    return previous;
}

static void mark_forked_child(void) { forked_child = 1; }
static void install(void) { pthread_atfork(NULL, NULL, mark_forked_child); }

void ph_rt_install_fork_guard(void) { pthread_once(&fork_guard_once, install); }

int ph_rt_is_forked_child(void) { return forked_child; }
