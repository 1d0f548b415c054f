// The public headers (include/plughost/plughost.h, the plugin ABI, and embed.h, the C embedding
// API) as a Swift module: their version macros come from here. The headers live in include/.
#ifndef PLUGHOST_CPLUGHOSTABI_SHIM_H
#define PLUGHOST_CPLUGHOSTABI_SHIM_H
#include "../../include/plughost/plughost.h"
#include "../../include/plughost/embed.h"
#endif
