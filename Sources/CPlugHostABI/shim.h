// The public plugin ABI header, as a Swift module. The header itself lives in include/.
#ifndef PLUGHOST_CPLUGHOSTABI_SHIM_H
#define PLUGHOST_CPLUGHOSTABI_SHIM_H
#include "../../include/plughost/plughost.h"
#endif
