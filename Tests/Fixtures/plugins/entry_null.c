/* entry_null.c — the entry point returns NULL: the loader must report that the entry point returned NULL. */
#include "plughost/plughost.h"

PLUGHOST_DECLARE_ENTRY() {
    return NULL;
}
