/* too_many_params.c — param_count is 40, over PH_MAX_PARAMS (32): the loader must refuse it (invalid function: too many parameters). */
#include "plughost/plughost.h"

/* Never called: the loader must refuse the declaration first. */
static int32_t f(void) {
    return 0;
}

#define TOO_MANY 40

/* Both arrays really hold 40 entries, so reading them is safe: only the count is over the limit. */
static const uint32_t param_types[TOO_MANY] = {
    PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32,
    PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32,
    PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32,
    PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32,
    PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32,
    PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32,
    PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32,
    PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32, PH_TYPE_INT32,
};
static const char *const param_names[TOO_MANY] = {
    "p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9",
    "p10", "p11", "p12", "p13", "p14", "p15", "p16", "p17", "p18", "p19",
    "p20", "p21", "p22", "p23", "p24", "p25", "p26", "p27", "p28", "p29",
    "p30", "p31", "p32", "p33", "p34", "p35", "p36", "p37", "p38", "p39",
};

static const ph_function bad_fn = {
    .struct_size = sizeof(ph_function),
    .name = "f",
    .doc = "see the first line of this file",
    .fn = (void (*)(void))f,
    .return_type = PH_TYPE_INT32,
    .param_count = TOO_MANY,
    .param_types = param_types,
    .param_names = param_names,
    .flags = 0,
};

static const ph_function *const functions[] = {&bad_fn};

static const ph_plugin plugin = {
    .struct_size = sizeof(ph_plugin),
    .abi_major = PLUGHOST_ABI_MAJOR,
    .abi_minor = PLUGHOST_ABI_MINOR,
    .min_host_abi_minor = 0,
    .name = "too_many_params",
    .version = "1.0.0",
    .description = "function with 40 parameters",
    .function_count = 1,
    .functions = functions,
    .init = NULL,
    .shutdown = NULL,
    .free_value = NULL,
};

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
