//! rust_panic.rs — run() panics inside an `extern "C"` function: Rust may not unwind across it, so the process aborts (SIGABRT).
//!
//! Built alone, without Cargo: `rustc --crate-type cdylib -O rust_panic.rs` (any edition up to 2021). The structs mirror
//! plughost.h (ABI 1.0) field for field with #[repr(C)].

use std::ffi::{c_char, c_void};
use std::ptr;

const PLUGHOST_ABI_MAJOR: u32 = 1;
const PLUGHOST_ABI_MINOR: u32 = 0;
const PH_TYPE_INT32: u32 = 4;

/// ph_function
#[repr(C)]
pub struct PhFunction {
    struct_size: u32,
    name: *const c_char,
    doc: *const c_char,
    fn_: unsafe extern "C" fn(),
    return_type: u32,
    param_count: u32,
    param_types: *const u32,
    param_names: *const *const c_char,
    flags: u32,
    reserved: u32,
}

/// ph_plugin
#[repr(C)]
pub struct PhPlugin {
    struct_size: u32,
    abi_major: u32,
    abi_minor: u32,
    min_host_abi_minor: u32,
    name: *const c_char,
    version: *const c_char,
    description: *const c_char,
    function_count: u32,
    functions: *const *const PhFunction,
    init: Option<unsafe extern "C" fn(*const c_void) -> bool>,
    shutdown: Option<unsafe extern "C" fn()>,
    free_value: Option<unsafe extern "C" fn(*mut c_void)>,
}

/// A NUL-terminated byte string as a C string (c"..." literals need edition 2021; this builds in any).
const fn cstr(bytes: &'static [u8]) -> *const c_char {
    bytes.as_ptr() as *const c_char
}

/// Statics holding raw pointers must be Sync; these never change.
struct Shared<T>(T);
unsafe impl<T> Sync for Shared<T> {}

extern "C" fn run() -> i32 {
    panic!("rust_panic: run panicked");
}

static RUN: Shared<PhFunction> = Shared(PhFunction {
    struct_size: std::mem::size_of::<PhFunction>() as u32,
    name: cstr(b"run\0"),
    doc: cstr(b"panics\0"),
    // The host calls it with the signature the descriptor declares: () -> int32.
    fn_: unsafe { std::mem::transmute::<extern "C" fn() -> i32, unsafe extern "C" fn()>(run) },
    return_type: PH_TYPE_INT32,
    param_count: 0,
    param_types: ptr::null(),
    param_names: ptr::null(),
    flags: 0,
    reserved: 0,
});

static FUNCTIONS: Shared<[*const PhFunction; 1]> = Shared([&RUN.0]);

static PLUGIN: Shared<PhPlugin> = Shared(PhPlugin {
    struct_size: std::mem::size_of::<PhPlugin>() as u32,
    abi_major: PLUGHOST_ABI_MAJOR,
    abi_minor: PLUGHOST_ABI_MINOR,
    min_host_abi_minor: 0,
    name: cstr(b"rust_panic\0"),
    version: cstr(b"1.0.0\0"),
    description: cstr(b"broken: Rust panic in run\0"),
    function_count: 1,
    functions: &FUNCTIONS.0 as *const [*const PhFunction; 1] as *const *const PhFunction,
    init: None,
    shutdown: None,
    free_value: None,
});

#[no_mangle]
pub extern "C" fn plughost_plugin_entry() -> *const PhPlugin {
    &PLUGIN.0
}
