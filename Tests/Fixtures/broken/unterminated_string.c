/* unterminated_string.c — run() returns a string with no NUL before an unmapped page: the host's strlen runs off the mapping (SIGSEGV, in the worker). */
#include "plughost/plughost.h"

#include <string.h>
#include <sys/mman.h>

static const char *run(void) {
    char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED) return "mmap failed";
    munmap(pages + 4096, 4096); /* the page after the text is gone */
    memset(pages, 'u', 4096);   /* and the text has no NUL */
    return pages;
}

static const ph_function run_fn = {
    .struct_size = sizeof(ph_function),
    .name = "run",
    .doc = "returns 4096 'u' and no NUL",
    .fn = (void (*)(void))run,
    .return_type = PH_TYPE_STRING,
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .name = "unterminated_string",
    .version = "1.0.0",
    .description = "broken: string without a terminating NUL",
    .function_count = 1,
    .functions = functions,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
