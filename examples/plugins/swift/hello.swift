// hello_swift — an example plughost plugin in Swift, built with nothing but
// swiftc and include/plughost/plughost.h (imported through CPlugHost/module.modulemap).
//
//   add(a: int64, b: int64) -> int64     a + b, wrapping on overflow
//   shout(text: string) -> string        ASCII upper-case copy of text
//   remember(text: string) -> int32      stores text as a memory whose concepts
//                                        are its distinct words of 4+ characters,
//                                        lower-cased, first 8; returns how many,
//                                        or -1 on error
//
// A word is a run of ASCII letters, ASCII digits and non-ASCII characters
// (every byte >= 0x80, so a UTF-8 sequence is never cut); its length is
// counted in characters. Only ASCII letters are lower-cased here: the host
// normalises concept keys further. A word longer than PH_MAX_CONCEPT_KEY_BYTES
// is skipped (the host would reject the whole write).
//
// The plugin functions are @convention(c) closures: no Swift error or
// Swift-only type crosses the C boundary.

import CPlugHost

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Most concepts `remember` attaches to a memory.
private let rememberMaxConcepts = 8
/// Shortest word, in characters, that `remember` turns into a concept.
private let rememberMinWord = 4

// MARK: - Helpers

/// Reports `message` as the current call's error.
private func setError(_ ctx: UnsafePointer<ph_call_context>, _ message: String) {
    guard let setError = ctx.pointee.host.pointee.set_error else { return }
    message.withCString { setError(ctx, $0) }
}

/// Logs `message` at debug level.
private func logDebug(_ ctx: UnsafePointer<ph_call_context>, _ message: String) {
    guard let log = ctx.pointee.host.pointee.log else { return }
    message.withCString { log(ctx, PH_LOG_DEBUG, $0) }
}

private func statusName(_ status: ph_status) -> String {
    switch status {
    case PH_OK: return "PH_OK"
    case PH_ERR_INVALID: return "PH_ERR_INVALID"
    case PH_ERR_NOT_FOUND: return "PH_ERR_NOT_FOUND"
    case PH_ERR_STORAGE: return "PH_ERR_STORAGE"
    case PH_ERR_NO_MEMORY: return "PH_ERR_NO_MEMORY"
    case PH_ERR_STATE: return "PH_ERR_STATE"
    default: return "unknown status"
    }
}

/// The distinct words of `text` that `remember` keeps as concepts.
private func concepts(of text: UnsafeBufferPointer<UInt8>) -> [[UInt8]] {
    func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b >= 0x80
    }
    var result: [[UInt8]] = []
    for word in text.split(whereSeparator: { !isWordByte($0) }) {
        if result.count == rememberMaxConcepts { break }
        // Characters = bytes that are not UTF-8 continuation bytes.
        guard word.lazy.filter({ $0 & 0xC0 != 0x80 }).count >= rememberMinWord,
            word.count <= Int(PH_MAX_CONCEPT_KEY_BYTES)
        else { continue }
        let lower = word.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
        if !result.contains(lower) { result.append(lower) }
    }
    return result
}

// MARK: - The functions

private let add: @convention(c) (Int64, Int64) -> Int64 = { a, b in a &+ b }

/// PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC: the result comes from
/// host->alloc and the host frees it after copying.
private let shout: @convention(c) (UnsafePointer<ph_call_context>?, UnsafePointer<CChar>?) -> UnsafePointer<CChar>? = {
    ctx, text in
    guard let ctx, let text else { return nil }
    let length = strlen(text)
    guard let alloc = ctx.pointee.host.pointee.alloc,
        let raw = alloc(length + 1)
    else {
        setError(ctx, "shout: out of memory")
        return nil  // ignored by the host once set_error was called
    }
    let out = raw.bindMemory(to: UInt8.self, capacity: length + 1)
    let input = UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self)
    for i in 0...length {  // the NUL too
        let b = input[i]
        out[i] = b >= 0x61 && b <= 0x7A ? b - 0x20 : b
    }
    return UnsafeRawPointer(out).assumingMemoryBound(to: CChar.self)
}

/// PH_FN_TAKES_CONTEXT: writes one memory through the host.
private let remember: @convention(c) (UnsafePointer<ph_call_context>?, UnsafePointer<CChar>?) -> Int32 = {
    ctx, text in
    guard let ctx, let text else { return -1 }
    let host = ctx.pointee.host.pointee
    guard let memoryWrite = host.memory_write else {
        setError(ctx, "remember: the host has no memory_write")
        return -1
    }
    let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: strlen(text))
    let words = concepts(of: bytes)
    // NUL-terminated copies of the words, freed when this function returns.
    let cWords: [UnsafePointer<CChar>?] = words.map { word in
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: word.count + 1)
        for (i, b) in word.enumerated() { p[i] = CChar(bitPattern: b) }
        p[word.count] = 0
        return UnsafePointer(p)
    }
    defer { for p in cWords { UnsafeMutablePointer(mutating: p)?.deallocate() } }

    var id = [CChar](repeating: 0, count: Int(PH_MEMORY_ID_CAPACITY))
    let status: ph_status = "{\"source\":\"hello_swift\"}".withCString { metadata in
        cWords.withUnsafeBufferPointer { conceptPointers in
            var write = ph_memory_write(
                struct_size: UInt32(MemoryLayout<ph_memory_write>.size),
                id: nil,  // let the host choose one
                content: text,
                concepts: conceptPointers.baseAddress,
                concept_count: conceptPointers.count,
                depends_on: nil,
                depends_on_count: 0,
                metadata_json: metadata,
                ttl_ms: 0)  // keep forever
            return id.withUnsafeMutableBufferPointer { idBuffer in
                memoryWrite(ctx, &write, idBuffer.baseAddress, idBuffer.count)
            }
        }
    }
    guard status == PH_OK else {
        // The host has already recorded why as the call's error (see ph_host_api):
        // do not overwrite it with a vaguer message; just fail.
        logDebug(ctx, "remember: memory_write failed: \(statusName(status))")
        return -1
    }
    let idText = id.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    logDebug(ctx, "remember: wrote memory \(idText) with \(words.count) concept(s)")
    return Int32(words.count)
}

// MARK: - The descriptor

/// A copy of `s` that is never freed: descriptor strings must live as long as the library.
private func permanent(_ s: String) -> UnsafePointer<CChar> {
    UnsafePointer(strdup(s)!)
}

/// A buffer holding `values` that is never freed.
private func permanent<T>(_ values: [T]) -> UnsafePointer<T>? {
    guard !values.isEmpty else { return nil }
    let p = UnsafeMutablePointer<T>.allocate(capacity: values.count)
    p.initialize(from: values, count: values.count)
    return UnsafePointer(p)
}

/// A parameter's metadata (ABI minor 1): here only its description; a range, allowed
/// strings or a default (PH_PARAM_OPTIONAL with default_json) are declared the same way.
private func describe(_ description: String) -> UnsafePointer<ph_param_info>? {
    var info = ph_param_info()
    info.struct_size = UInt32(MemoryLayout<ph_param_info>.size)
    info.description = permanent(description)
    return permanent([info])
}

private func function(
    _ name: String, doc: String, fn: @escaping @convention(c) () -> Void,
    returns: ph_type, params: [(String, ph_type, String)], result: String, flags: UInt32
) -> UnsafePointer<ph_function>? {
    let f = UnsafeMutablePointer<ph_function>.allocate(capacity: 1)
    f.initialize(
        to: ph_function(
            struct_size: UInt32(MemoryLayout<ph_function>.size),
            name: permanent(name),
            doc: permanent(doc),
            fn: fn,
            return_type: returns.rawValue,
            param_count: UInt32(params.count),
            param_types: permanent(params.map { $0.1.rawValue }),
            param_names: permanent(params.map { Optional(permanent($0.0)) }),
            flags: flags, reserved: 0,
            // ABI minor 1: what each parameter and the result mean (no result schema here).
            params: permanent(params.map { describe($0.2) }), result_doc: permanent(result), result_schema_json: nil))
    return UnsafePointer(f)
}

/// Casts a typed C function pointer to the descriptor's `void (*)(void)`.
private func erase<F>(_ f: F) -> @convention(c) () -> Void {
    unsafeBitCast(f, to: (@convention(c) () -> Void).self)
}

/// Built once, on the first call of the entry point (Swift initialises globals
/// lazily and thread-safely), and never freed. Immutable after that, hence
/// nonisolated(unsafe) is safe.
private nonisolated(unsafe) let descriptor: UnsafePointer<ph_plugin> = {
    let functions = [
        function(
            "add", doc: "a + b (wraps on overflow)", fn: erase(add),
            returns: PH_TYPE_INT64, params: [("a", PH_TYPE_INT64, "the first addend"), ("b", PH_TYPE_INT64, "the second addend")],
            result: "the sum, wrapped to int64", flags: UInt32(PH_FN_THREAD_SAFE)),
        function(
            "shout", doc: "text with ASCII letters upper-cased", fn: erase(shout),
            returns: PH_TYPE_STRING, params: [("text", PH_TYPE_STRING, "the text to upper-case")],
            result: "the text with its ASCII letters upper-cased", flags: UInt32(PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC)),
        function(
            "remember", doc: "stores text as a memory tagged with its distinct words of 4+ characters; returns how many",
            fn: erase(remember),
            returns: PH_TYPE_INT32,
            params: [("text", PH_TYPE_STRING, "a note; its distinct words of 4 or more characters (the first 8) become its concepts")],
            result: "how many concepts the stored memory has (0 to 8)", flags: UInt32(PH_FN_TAKES_CONTEXT)),
    ]
    let plugin = UnsafeMutablePointer<ph_plugin>.allocate(capacity: 1)
    plugin.initialize(
        to: ph_plugin(
            struct_size: UInt32(MemoryLayout<ph_plugin>.size),
            abi_major: UInt32(PLUGHOST_ABI_MAJOR),
            abi_minor: UInt32(PLUGHOST_ABI_MINOR),
            min_host_abi_minor: 0,
            name: permanent("hello_swift"),
            version: permanent("1.0.0"),
            description: permanent("example plugin in Swift: add, shout, remember"),
            function_count: UInt32(functions.count),
            functions: permanent(functions),
            init: nil,
            shutdown: nil,
            free_value: nil))
    return UnsafePointer(plugin)
}()

/// The one symbol the host looks up. Returns the same pointer every time.
@_cdecl("plughost_plugin_entry")
public func plughostPluginEntry() -> UnsafePointer<ph_plugin> {
    descriptor
}
