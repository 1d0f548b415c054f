//! hello_rust — an example plughost plugin in Rust, built with nothing but
//! cargo and a hand-written mirror of `include/plughost/plughost.h`.
//!
//! ```text
//! add(a: int64, b: int64) -> int64     a + b, wrapping on overflow
//! shout(text: string) -> string        ASCII upper-case copy of text
//! remember(text: string) -> int32      stores text as a memory whose concepts
//!                                      are its distinct words of 4+ characters,
//!                                      lower-cased, first 8; returns how many,
//!                                      or -1 on error
//! ```
//!
//! A word is a run of ASCII letters, ASCII digits and non-ASCII characters
//! (every byte >= 0x80, so a UTF-8 sequence is never cut); its length is
//! counted in characters. Only ASCII letters are lower-cased here: the host
//! normalises concept keys further. A word longer than PH_MAX_CONCEPT_KEY_BYTES
//! is skipped (the host would reject the whole write).

use core::ffi::{c_char, c_void, CStr};
use core::ptr;
use std::ffi::CString;

// ---------------------------------------------------------------------------
// The ABI: #[repr(C)] mirrors of plughost.h (ABI 1.0), field for field.
// ---------------------------------------------------------------------------

/// PLUGHOST_ABI_MAJOR of the header this mirrors.
pub const PLUGHOST_ABI_MAJOR: u32 = 1;
/// PLUGHOST_ABI_MINOR of the header this mirrors.
pub const PLUGHOST_ABI_MINOR: u32 = 0;
/// PH_MEMORY_ID_CAPACITY.
pub const PH_MEMORY_ID_CAPACITY: usize = 128;
/// PH_MAX_CONCEPTS.
pub const PH_MAX_CONCEPTS: usize = 64;
/// PH_MAX_DEPENDENCIES.
pub const PH_MAX_DEPENDENCIES: usize = 64;
/// PH_MAX_CONCEPT_KEY_BYTES.
pub const PH_MAX_CONCEPT_KEY_BYTES: usize = 256;
/// PH_MAX_CONTENT_BYTES.
pub const PH_MAX_CONTENT_BYTES: usize = 1024 * 1024;
/// PH_MAX_MEMORY_ID_BYTES.
pub const PH_MAX_MEMORY_ID_BYTES: usize = 127;

// ph_type codes (uint32_t in the structs).
pub const PH_TYPE_VOID: u32 = 0;
pub const PH_TYPE_BOOL: u32 = 1;
pub const PH_TYPE_INT8: u32 = 2;
pub const PH_TYPE_INT16: u32 = 3;
pub const PH_TYPE_INT32: u32 = 4;
pub const PH_TYPE_INT64: u32 = 5;
pub const PH_TYPE_UINT8: u32 = 6;
pub const PH_TYPE_UINT16: u32 = 7;
pub const PH_TYPE_UINT32: u32 = 8;
pub const PH_TYPE_UINT64: u32 = 9;
pub const PH_TYPE_FLOAT: u32 = 10;
pub const PH_TYPE_DOUBLE: u32 = 11;
pub const PH_TYPE_STRING: u32 = 12;
pub const PH_TYPE_BUFFER: u32 = 13;
pub const PH_TYPE_POINTER: u32 = 14;

// Function flags.
pub const PH_FN_TAKES_CONTEXT: u32 = 1 << 0;
pub const PH_FN_THREAD_SAFE: u32 = 1 << 1;
pub const PH_FN_RETURNS_HOST_ALLOC: u32 = 1 << 2;
pub const PH_FN_RETURNS_PLUGIN_ALLOC: u32 = 1 << 3;

/// `ph_status`. A C enum is an `int`-sized integer: keep it an integer here, so
/// a value this code does not know is not undefined behaviour.
pub type PhStatus = i32;
pub const PH_OK: PhStatus = 0;
pub const PH_ERR_INVALID: PhStatus = 1;
pub const PH_ERR_NOT_FOUND: PhStatus = 2;
pub const PH_ERR_STORAGE: PhStatus = 3;
pub const PH_ERR_NO_MEMORY: PhStatus = 4;
pub const PH_ERR_STATE: PhStatus = 5;

/// `ph_log_level`.
pub type PhLogLevel = i32;
pub const PH_LOG_DEBUG: PhLogLevel = 0;
pub const PH_LOG_INFO: PhLogLevel = 1;
pub const PH_LOG_WARN: PhLogLevel = 2;
pub const PH_LOG_ERROR: PhLogLevel = 3;

/// `ph_buffer`, passed and returned by value.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PhBuffer {
    pub data: *const u8,
    pub len: usize,
}

/// `ph_call_context`.
#[repr(C)]
pub struct PhCallContext {
    pub struct_size: u32,
    pub host: *const PhHostApi,
    pub goal: *const c_char,
    pub plugin: *const c_char,
    pub host_data: *mut c_void,
}

/// `ph_dependency`.
#[repr(C)]
pub struct PhDependency {
    pub from: *const c_char,
    pub to: *const c_char,
}

/// `ph_memory_write`.
#[repr(C)]
pub struct PhMemoryWrite {
    pub struct_size: u32,
    pub id: *const c_char,
    pub content: *const c_char,
    pub concepts: *const *const c_char,
    pub concept_count: usize,
    pub depends_on: *const PhDependency,
    pub depends_on_count: usize,
    pub metadata_json: *const c_char,
    pub ttl_ms: i64,
}

/// `ph_memory`.
#[repr(C)]
pub struct PhMemory {
    pub struct_size: u32,
    pub id: *const c_char,
    pub goal: *const c_char,
    pub plugin: *const c_char,
    pub content: *const c_char,
    pub concepts: *const *const c_char,
    pub concept_count: usize,
    pub metadata_json: *const c_char,
    pub score: f64,
}

/// `ph_recall_query`.
#[repr(C)]
pub struct PhRecallQuery {
    pub struct_size: u32,
    pub concept: *const c_char,
    pub text: *const c_char,
    pub limit: u32,
    /// `PH_RECALL_*` bits (ABI minor 1; set to 0 for a plain recall).
    pub flags: u32,
}

/// `PH_RECALL_RELATED`: widen recall by concept to the concept's cluster (ABI minor 1).
pub const PH_RECALL_RELATED: u32 = 1 << 0;

/// `ph_recall_fn`.
pub type PhRecallFn = Option<unsafe extern "C" fn(user: *mut c_void, memory: *const PhMemory) -> bool>;

/// `ph_host_api`. Every function pointer is an `Option` because C may hand NULL.
#[repr(C)]
pub struct PhHostApi {
    pub struct_size: u32,
    pub abi_major: u32,
    pub abi_minor: u32,
    pub memory_write: Option<
        unsafe extern "C" fn(*const PhCallContext, *const PhMemoryWrite, *mut c_char, usize) -> PhStatus,
    >,
    pub memory_recall:
        Option<unsafe extern "C" fn(*const PhCallContext, *const PhRecallQuery, PhRecallFn, *mut c_void) -> PhStatus>,
    pub memory_forget: Option<unsafe extern "C" fn(*const PhCallContext, *const c_char) -> PhStatus>,
    pub context_get: Option<unsafe extern "C" fn(*const PhCallContext, *const c_char) -> *mut c_char>,
    pub context_set: Option<unsafe extern "C" fn(*const PhCallContext, *const c_char, *const c_char) -> PhStatus>,
    pub log: Option<unsafe extern "C" fn(*const PhCallContext, PhLogLevel, *const c_char)>,
    pub set_error: Option<unsafe extern "C" fn(*const PhCallContext, *const c_char)>,
    pub alloc: Option<unsafe extern "C" fn(usize) -> *mut c_void>,
    pub free: Option<unsafe extern "C" fn(*mut c_void)>,
}

/// `ph_function`.
#[repr(C)]
pub struct PhFunction {
    pub struct_size: u32,
    pub name: *const c_char,
    pub doc: *const c_char,
    pub fn_: Option<unsafe extern "C" fn()>,
    pub return_type: u32,
    pub param_count: u32,
    pub param_types: *const u32,
    pub param_names: *const *const c_char,
    pub flags: u32,
    pub reserved: u32,
    // ABI minor 1:
    pub params: *const *const PhParamInfo,
    pub result_doc: *const c_char,
    pub result_schema_json: *const c_char,
}

/// `ph_param_info` (ABI minor 1): a parameter's description, range, allowed strings, default.
#[repr(C)]
pub struct PhParamInfo {
    pub struct_size: u32,
    pub flags: u32,
    pub description: *const c_char,
    pub minimum: f64,
    pub maximum: f64,
    pub default_json: *const c_char,
    pub allowed: *const *const c_char,
    pub allowed_count: u32,
    pub reserved: u32,
}

/// `ph_plugin`.
#[repr(C)]
pub struct PhPlugin {
    pub struct_size: u32,
    pub abi_major: u32,
    pub abi_minor: u32,
    pub min_host_abi_minor: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub description: *const c_char,
    pub function_count: u32,
    pub functions: *const *const PhFunction,
    pub init: Option<unsafe extern "C" fn(host: *const PhHostApi) -> bool>,
    pub shutdown: Option<unsafe extern "C" fn()>,
    pub free_value: Option<unsafe extern "C" fn(value: *mut c_void)>,
}

// The layout the C compiler gives these structs on 64-bit Linux (LP64).
#[cfg(target_pointer_width = "64")]
const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<PhBuffer>() == 16);
    assert!(size_of::<PhCallContext>() == 40);
    assert!(size_of::<PhMemoryWrite>() == 72 && offset_of!(PhMemoryWrite, ttl_ms) == 64);
    assert!(size_of::<PhMemory>() == 72 && offset_of!(PhMemory, score) == 64);
    assert!(size_of::<PhRecallQuery>() == 32 && offset_of!(PhRecallQuery, limit) == 24 && offset_of!(PhRecallQuery, flags) == 28);
    assert!(size_of::<PhHostApi>() == 88 && offset_of!(PhHostApi, free) == 80);
    assert!(size_of::<PhFunction>() == 88 && offset_of!(PhFunction, flags) == 56 && offset_of!(PhFunction, params) == 64);
    assert!(size_of::<PhParamInfo>() == 56 && offset_of!(PhParamInfo, allowed_count) == 48);
    assert!(size_of::<PhPlugin>() == 80 && offset_of!(PhPlugin, functions) == 48);
};

/// Lets a static hold raw pointers. Sound here because everything it wraps is
/// immutable, static data.
#[repr(transparent)]
struct Static<T>(T);
unsafe impl<T> Sync for Static<T> {}

// ---------------------------------------------------------------------------
// The functions
// ---------------------------------------------------------------------------

/// Most concepts `remember` attaches to a memory.
const REMEMBER_MAX_CONCEPTS: usize = 8;
/// Shortest word, in characters, that `remember` turns into a concept.
const REMEMBER_MIN_WORD: usize = 4;

extern "C" fn add(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

/// Reports `message` as the call's error.
unsafe fn set_error(ctx: *const PhCallContext, message: &str) {
    let host = &*(*ctx).host;
    if let (Some(set_error), Ok(message)) = (host.set_error, CString::new(message)) {
        set_error(ctx, message.as_ptr());
    }
}

/// Logs `message` at debug level.
unsafe fn log_debug(ctx: *const PhCallContext, message: &str) {
    let host = &*(*ctx).host;
    if let (Some(log), Ok(message)) = (host.log, CString::new(message)) {
        log(ctx, PH_LOG_DEBUG, message.as_ptr());
    }
}

/// PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC: the result comes from
/// host->alloc and the host frees it after copying.
unsafe extern "C" fn shout(ctx: *const PhCallContext, text: *const c_char) -> *const c_char {
    let host = &*(*ctx).host;
    let bytes = CStr::from_ptr(text).to_bytes_with_nul();
    let Some(alloc) = host.alloc else {
        set_error(ctx, "shout: the host has no alloc");
        return ptr::null();
    };
    let out = alloc(bytes.len()) as *mut u8;
    if out.is_null() {
        set_error(ctx, "shout: out of memory");
        return ptr::null(); // ignored by the host once set_error was called
    }
    for (i, b) in bytes.iter().enumerate() {
        *out.add(i) = b.to_ascii_uppercase();
    }
    out as *const c_char
}

/// The distinct words of `text` that `remember` keeps as concepts.
fn concepts_of(text: &[u8]) -> Vec<CString> {
    let is_word_byte = |b: u8| b.is_ascii_alphanumeric() || b >= 0x80;
    let mut concepts: Vec<CString> = Vec::new();
    for word in text.split(|&b| !is_word_byte(b)) {
        if concepts.len() == REMEMBER_MAX_CONCEPTS {
            break;
        }
        // Characters = bytes that are not UTF-8 continuation bytes.
        if word.iter().filter(|&&b| b & 0xC0 != 0x80).count() < REMEMBER_MIN_WORD
            || word.len() > PH_MAX_CONCEPT_KEY_BYTES
        {
            continue;
        }
        let lower = word.to_ascii_lowercase();
        if concepts.iter().all(|c| c.as_bytes() != lower.as_slice()) {
            // A CStr never contains NUL, so neither does a word of it.
            concepts.push(CString::new(lower).expect("no NUL in a C string"));
        }
    }
    concepts
}

fn status_name(status: PhStatus) -> &'static str {
    match status {
        PH_OK => "PH_OK",
        PH_ERR_INVALID => "PH_ERR_INVALID",
        PH_ERR_NOT_FOUND => "PH_ERR_NOT_FOUND",
        PH_ERR_STORAGE => "PH_ERR_STORAGE",
        PH_ERR_NO_MEMORY => "PH_ERR_NO_MEMORY",
        PH_ERR_STATE => "PH_ERR_STATE",
        _ => "unknown status",
    }
}

/// PH_FN_TAKES_CONTEXT: writes one memory through the host.
unsafe extern "C" fn remember(ctx: *const PhCallContext, text: *const c_char) -> i32 {
    let host = &*(*ctx).host;
    let Some(memory_write) = host.memory_write else {
        set_error(ctx, "remember: the host has no memory_write");
        return -1;
    };
    let concepts = concepts_of(CStr::from_ptr(text).to_bytes());
    let pointers: Vec<*const c_char> = concepts.iter().map(|c| c.as_ptr()).collect();
    let write = PhMemoryWrite {
        struct_size: core::mem::size_of::<PhMemoryWrite>() as u32,
        id: ptr::null(), // let the host choose one
        content: text,
        concepts: pointers.as_ptr(),
        concept_count: pointers.len(),
        depends_on: ptr::null(),
        depends_on_count: 0,
        metadata_json: c"{\"source\":\"hello_rust\"}".as_ptr(),
        ttl_ms: 0, // keep forever
    };
    let mut id = [0 as c_char; PH_MEMORY_ID_CAPACITY];
    let status = memory_write(ctx, &write, id.as_mut_ptr(), id.len());
    if status != PH_OK {
        // The host has already recorded why as the call's error (see ph_host_api):
        // do not overwrite it with a vaguer message; just fail.
        log_debug(ctx, &format!("remember: memory_write failed: {}", status_name(status)));
        return -1;
    }
    let id = CStr::from_ptr(id.as_ptr()).to_string_lossy();
    log_debug(ctx, &format!("remember: wrote memory {id} with {} concept(s)", concepts.len()));
    concepts.len() as i32
}

// ---------------------------------------------------------------------------
// The descriptor: all static, so it lives as long as the library is loaded.
// ---------------------------------------------------------------------------

/// Casts a typed `extern "C"` function to the descriptor's `void (*)(void)`.
macro_rules! c_fn {
    ($f:expr, $t:ty) => {
        Some(unsafe { core::mem::transmute::<$t, unsafe extern "C" fn()>($f) })
    };
}

static ADD_TYPES: [u32; 2] = [PH_TYPE_INT64, PH_TYPE_INT64];
static ADD_NAMES: Static<[*const c_char; 2]> = Static([c"a".as_ptr(), c"b".as_ptr()]);
static TEXT_TYPES: [u32; 1] = [PH_TYPE_STRING];
static TEXT_NAMES: Static<[*const c_char; 1]> = Static([c"text".as_ptr()]);

/// A parameter described in one line (ABI 1.1); a range, allowed strings or a default
/// (`PH_PARAM_OPTIONAL` with `default_json`) are declared in the same struct.
const fn described(description: &'static core::ffi::CStr) -> PhParamInfo {
    PhParamInfo {
        struct_size: core::mem::size_of::<PhParamInfo>() as u32,
        flags: 0,
        description: description.as_ptr(),
        minimum: 0.0,
        maximum: 0.0,
        default_json: core::ptr::null(),
        allowed: core::ptr::null(),
        allowed_count: 0,
        reserved: 0,
    }
}

static P_A: Static<PhParamInfo> = Static(described(c"the first addend"));
static P_B: Static<PhParamInfo> = Static(described(c"the second addend"));
static P_SHOUT: Static<PhParamInfo> = Static(described(c"the text to upper-case"));
static P_NOTE: Static<PhParamInfo> =
    Static(described(c"a note; its distinct words of 4 or more characters (the first 8) become its concepts"));
static ADD_PARAMS: Static<[*const PhParamInfo; 2]> = Static([&P_A.0, &P_B.0]);
static SHOUT_PARAMS: Static<[*const PhParamInfo; 1]> = Static([&P_SHOUT.0]);
static REMEMBER_PARAMS: Static<[*const PhParamInfo; 1]> = Static([&P_NOTE.0]);

static ADD: Static<PhFunction> = Static(PhFunction {
    struct_size: core::mem::size_of::<PhFunction>() as u32,
    name: c"add".as_ptr(),
    doc: c"a + b (wraps on overflow)".as_ptr(),
    fn_: c_fn!(add, extern "C" fn(i64, i64) -> i64),
    return_type: PH_TYPE_INT64,
    param_count: 2,
    param_types: ADD_TYPES.as_ptr(),
    param_names: ADD_NAMES.0.as_ptr(),
    flags: PH_FN_THREAD_SAFE,
    reserved: 0,
    params: ADD_PARAMS.0.as_ptr(),
    result_doc: c"the sum, wrapped to int64".as_ptr(),
    result_schema_json: core::ptr::null(),
});

static SHOUT: Static<PhFunction> = Static(PhFunction {
    struct_size: core::mem::size_of::<PhFunction>() as u32,
    name: c"shout".as_ptr(),
    doc: c"text with ASCII letters upper-cased".as_ptr(),
    fn_: c_fn!(shout, unsafe extern "C" fn(*const PhCallContext, *const c_char) -> *const c_char),
    return_type: PH_TYPE_STRING,
    param_count: 1,
    param_types: TEXT_TYPES.as_ptr(),
    param_names: TEXT_NAMES.0.as_ptr(),
    flags: PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC,
    reserved: 0,
    params: SHOUT_PARAMS.0.as_ptr(),
    result_doc: c"the text with its ASCII letters upper-cased".as_ptr(),
    result_schema_json: core::ptr::null(),
});

static REMEMBER: Static<PhFunction> = Static(PhFunction {
    struct_size: core::mem::size_of::<PhFunction>() as u32,
    name: c"remember".as_ptr(),
    doc: c"stores text as a memory tagged with its distinct words of 4+ characters; returns how many".as_ptr(),
    fn_: c_fn!(remember, unsafe extern "C" fn(*const PhCallContext, *const c_char) -> i32),
    return_type: PH_TYPE_INT32,
    param_count: 1,
    param_types: TEXT_TYPES.as_ptr(),
    param_names: TEXT_NAMES.0.as_ptr(),
    flags: PH_FN_TAKES_CONTEXT,
    reserved: 0,
    params: REMEMBER_PARAMS.0.as_ptr(),
    result_doc: c"how many concepts the stored memory has (0 to 8)".as_ptr(),
    result_schema_json: core::ptr::null(),
});

static FUNCTIONS: Static<[*const PhFunction; 3]> = Static([&ADD.0, &SHOUT.0, &REMEMBER.0]);

static PLUGIN: Static<PhPlugin> = Static(PhPlugin {
    struct_size: core::mem::size_of::<PhPlugin>() as u32,
    abi_major: PLUGHOST_ABI_MAJOR,
    abi_minor: PLUGHOST_ABI_MINOR,
    min_host_abi_minor: 0,
    name: c"hello_rust".as_ptr(),
    version: c"1.0.0".as_ptr(),
    description: c"example plugin in Rust: add, shout, remember".as_ptr(),
    function_count: FUNCTIONS.0.len() as u32,
    functions: FUNCTIONS.0.as_ptr(),
    init: None,
    shutdown: None,
    free_value: None,
});

/// The one symbol the host looks up. Returns the same pointer every time.
#[no_mangle]
pub extern "C" fn plughost_plugin_entry() -> *const PhPlugin {
    &PLUGIN.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concepts_are_distinct_lowercased_long_words() {
        let got = concepts_of("The quick brown Fox jumps over the lazy dog; the QUICK fox sleeps. Straße café naïve extra".as_bytes());
        let got: Vec<&str> = got.iter().map(|c| c.to_str().unwrap()).collect();
        assert_eq!(got, ["quick", "brown", "jumps", "over", "lazy", "sleeps", "straße", "café"]);
        assert!(concepts_of(b"a bb ccc, dd!").is_empty());
    }
}
