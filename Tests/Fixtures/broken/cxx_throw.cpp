// cxx_throw.cpp — extern "C" run() throws std::runtime_error: nothing between it and the host catches it, so std::terminate aborts (SIGABRT).
#include "plughost/plughost.h"

#include <stdexcept>

extern "C" {

static int32_t run(void) {
    throw std::runtime_error("cxx_throw: thrown out of an extern \"C\" function");
}

// Positional initialisers: designated ones are C++20 only.
static const ph_function run_fn = {
    sizeof(ph_function),                       // struct_size
    "run",                                     // name
    "throws std::runtime_error",               // doc
    reinterpret_cast<void (*)(void)>(run),     // fn
    PH_TYPE_INT32,                             // return_type
    0, nullptr, nullptr,                       // no parameters
    0, 0,                                      // flags, reserved
};

static const ph_function *const functions[] = {&run_fn};

static const ph_plugin plugin = {
    sizeof(ph_plugin),
    PLUGHOST_ABI_MAJOR,
    PLUGHOST_ABI_MINOR,
    0,                                         // min_host_abi_minor
    "cxx_throw",                               // name
    "1.0.0",                                   // version
    "broken: C++ exception out of run",        // description
    1, functions,
    nullptr, nullptr, nullptr,                 // init, shutdown, free_value
};

} // extern "C"

PLUGHOST_DECLARE_ENTRY() {
    return &plugin;
}
