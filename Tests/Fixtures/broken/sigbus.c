/* sigbus.c — run() touches a shared mapping of an empty memfd, past the end of the file: the worker dies of SIGBUS. */
#define _GNU_SOURCE /* memfd_create */
#include "plughost/plughost.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

static int32_t run(void) {
    int fd = memfd_create("plughost-sigbus", 0); /* size 0: every page of a mapping lies past its end */
    if (fd < 0) return errno;
    volatile char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (page == MAP_FAILED) return errno;
    page[0] = 1;
    return 0;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "broken: SIGBUS in run",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_INT32,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "sigbus",
    .version = "1.0.0",
    .description = "broken: SIGBUS in run",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
