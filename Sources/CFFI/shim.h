// libffi, with accessors for its type globals: Swift 6 rejects `&ffi_type_sint64`
// as shared mutable state, so each global is reached through a static inline function.
#ifndef PLUGHOST_CFFI_SHIM_H
#define PLUGHOST_CFFI_SHIM_H
#include <ffi.h>

static inline ffi_type *ph_ffi_type_void(void) { return &ffi_type_void; }
static inline ffi_type *ph_ffi_type_uint8(void) { return &ffi_type_uint8; }
static inline ffi_type *ph_ffi_type_sint8(void) { return &ffi_type_sint8; }
static inline ffi_type *ph_ffi_type_uint16(void) { return &ffi_type_uint16; }
static inline ffi_type *ph_ffi_type_sint16(void) { return &ffi_type_sint16; }
static inline ffi_type *ph_ffi_type_uint32(void) { return &ffi_type_uint32; }
static inline ffi_type *ph_ffi_type_sint32(void) { return &ffi_type_sint32; }
static inline ffi_type *ph_ffi_type_uint64(void) { return &ffi_type_uint64; }
static inline ffi_type *ph_ffi_type_sint64(void) { return &ffi_type_sint64; }
static inline ffi_type *ph_ffi_type_float(void) { return &ffi_type_float; }
static inline ffi_type *ph_ffi_type_double(void) { return &ffi_type_double; }
static inline ffi_type *ph_ffi_type_pointer(void) { return &ffi_type_pointer; }
static inline ffi_abi ph_ffi_default_abi(void) { return FFI_DEFAULT_ABI; }
static inline unsigned short ph_ffi_type_struct_code(void) { return FFI_TYPE_STRUCT; }

#endif
