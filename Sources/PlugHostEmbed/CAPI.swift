import CPlugHostABI
import Foundation
@_spi(Embedding) import PlugHost
import PlugHostPipeline
#if PostgreSQL
import PlugHostPostgres
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The C embedding API: include/plughost/embed.h documents every function, who owns what it
// returns, and which threads may call it. Every function below catches every Swift error and
// turns it into a -1 or NULL return plus a thread-local message (plughost_last_error); none of
// them traps on bad input.
//
// A `plughost_host *` is an `Unmanaged<PlugHostRuntime>` retained by plughost_create and
// released by plughost_destroy.

/// The C API's helpers.
enum CAPI {
    /// Registers the engines this build of the library has beyond the embedded ones: PostgreSQL
    /// with the package trait `PostgreSQL` (`swift build --traits PostgreSQL`).
    static func registerEngines() {
        #if PostgreSQL
        PostgresEngine.register()
        #else
        EngineRegistry.noteAbsent(
            "postgres", "this libplughost_embed.so was built without the PostgreSQL trait (swift build --traits PostgreSQL)")
        #endif
    }

    /// Runs `body` with the thread's last error cleared; on a thrown error records its message
    /// and returns `failure`.
    @inline(__always)
    static func guarded<T>(_ failure: T, _ body: () throws -> T) -> T {
        ThreadError.clear()
        do {
            return try body()
        } catch {
            ThreadError.set(error)
            return failure
        }
    }

    /// `PLUGHOST_EMBED_VERSION_MAJOR` and `_MINOR` of the embed.h this library implements.
    static let apiMajor = UInt32(PLUGHOST_EMBED_VERSION_MAJOR)
    static let apiMinor = UInt32(PLUGHOST_EMBED_VERSION_MINOR)

    /// plughost's version as a static C string, for `plughost_version`.
    nonisolated(unsafe) static let version: UnsafePointer<CChar> = UnsafePointer(strdup(PlugHostVersion.current)!)

    /// The runtime behind a handle.
    static func runtime(_ host: OpaquePointer?) throws -> PlugHostRuntime {
        guard let host else { throw EmbeddingError(.invalidArgument, "host is NULL") }
        return Unmanaged<PlugHostRuntime>.fromOpaque(UnsafeRawPointer(host)).takeUnretainedValue()
    }

    /// A required C string argument as a Swift string.
    static func string(_ pointer: UnsafePointer<CChar>?, _ name: String) throws -> String {
        guard let pointer else { throw EmbeddingError(.invalidArgument, "\(name) is NULL") }
        guard let s = String(validatingCString: pointer) else {
            throw EmbeddingError(.invalidArgument, "\(name) is not valid UTF-8")
        }
        return s
    }

    /// An optional C string argument (NULL gives nil).
    static func optionalString(_ pointer: UnsafePointer<CChar>?, _ name: String) throws -> String? {
        guard let pointer else { return nil }
        return try string(pointer, name)
    }

    /// A `malloc`'d copy of `s` for the caller to release with plughost_free.
    static func copy(_ s: String) throws -> UnsafeMutablePointer<CChar> {
        guard let p = strdup(s) else { throw EmbeddingError(.invalidArgument, "out of memory copying a result of \(s.utf8.count) bytes") }
        return p
    }

    /// The folder this library was loaded from: the build folder, where the bundled plugins
    /// (libtext.so, libsig.so) are, searched for bare plugin names after everything else.
    static let libraryDirectory: String? = {
        // dladdr needs _GNU_SOURCE, which Swift's Glibc module does not define: find the
        // mapping that holds this image's DSO handle in /proc/self/maps instead.
        let address = UInt(bitPattern: #dsohandle)
        // /proc files report a size of 0: read them to the end by hand.
        let fd = open("/proc/self/maps", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { _ = Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        let maps = String(decoding: bytes, as: UTF8.self)
        for line in maps.split(separator: "\n") {
            // "start-end perms offset dev inode   /path/to/file"
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6 else { continue }
            let path = fields[5].trimmingCharacters(in: .whitespaces)
            guard path.hasPrefix("/") else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let lo = UInt(range[0], radix: 16), let hi = UInt(range[1], radix: 16),
                lo <= address, address < hi
            else { continue }
            let dir = (path as NSString).deletingLastPathComponent
            return dir.isEmpty ? nil : dir
        }
        return nil
    }()

    /// Searched for bare plugin names after everything else: the library's folder (the build
    /// folder) and, installed in `<prefix>/lib`, `<prefix>/lib/plughost/plugins`.
    static let pluginDirectories: [String] = {
        guard let dir = libraryDirectory else { return [] }
        return [dir] + (PluginSearchPath.installedPluginDirectory(besideLibraryIn: dir).map { [$0] } ?? [])
    }()
}

/// `plughost_create` (embed.h): a host from JSON configuration, or NULL.
@_cdecl("plughost_create")
public func plughost_create(_ configJSON: UnsafePointer<CChar>?) -> OpaquePointer? {
    CAPI.guarded(nil) {
        let text = try CAPI.optionalString(configJSON, "config_json") ?? "{}"
        // Log lines (plugins' included) to standard error, at PLUGHOST_LOG's level (default warning).
        LoggingBootstrap.configureFromEnvironment()
        CAPI.registerEngines()
        let configuration = try HostConfiguration(json: text)
        let runtime = try PlugHostRuntime.openBlocking(
            configuration, fallbackPluginDirectories: CAPI.pluginDirectories)
        return OpaquePointer(Unmanaged.passRetained(runtime).toOpaque())
    }
}

/// `plughost_close` (embed.h): flushes and closes; later calls fail with "host is closed".
@_cdecl("plughost_close")
public func plughost_close(_ host: OpaquePointer?) -> Int32 {
    CAPI.guarded(-1) {
        try CAPI.runtime(host).closeBlocking()
        return 0
    }
}

/// `plughost_destroy` (embed.h): closes if open, then releases the handle.
@_cdecl("plughost_destroy")
public func plughost_destroy(_ host: OpaquePointer?) {
    // The thread's last error is left alone unless closing fails: a binding may destroy a host
    // (a garbage collector's finaliser) between another call's failure and reading its error.
    guard let host else { return }
    let unmanaged = Unmanaged<PlugHostRuntime>.fromOpaque(UnsafeRawPointer(host))
    do {
        try unmanaged.takeUnretainedValue().closeBlocking()
    } catch {
        ThreadError.set(error)
    }
    unmanaged.release()
}

/// `plughost_load` (embed.h): loads a plugin by path or bare name; 0 or -1.
@_cdecl("plughost_load")
public func plughost_load(_ host: OpaquePointer?, _ plugin: UnsafePointer<CChar>?, _ alias: UnsafePointer<CChar>?) -> Int32 {
    CAPI.guarded(-1) {
        let runtime = try CAPI.runtime(host)
        _ = try runtime.loadBlocking(try CAPI.string(plugin, "plugin"), as: try CAPI.optionalString(alias, "alias"))
        return 0
    }
}

/// `plughost_plugins` (embed.h): the loaded plugins as JSON, or NULL.
@_cdecl("plughost_plugins")
public func plughost_plugins(_ host: OpaquePointer?) -> UnsafeMutablePointer<CChar>? {
    CAPI.guarded(nil) {
        try CAPI.copy(EmbedJSON.plugins(try CAPI.runtime(host).pluginsBlocking()))
    }
}

/// `plughost_invoke` (embed.h): calls a function with JSON arguments; its result as JSON, or NULL.
@_cdecl("plughost_invoke")
public func plughost_invoke(
    _ host: OpaquePointer?, _ plugin: UnsafePointer<CChar>?, _ function: UnsafePointer<CChar>?,
    _ argsJSON: UnsafePointer<CChar>?, _ goal: UnsafePointer<CChar>?
) -> UnsafeMutablePointer<CChar>? {
    CAPI.guarded(nil) {
        let runtime = try CAPI.runtime(host)
        let value = try runtime.invokeBlocking(
            try CAPI.string(plugin, "plugin"), try CAPI.string(function, "function"),
            jsonArguments: try CAPI.string(argsJSON, "args_json"),
            goal: try CAPI.optionalString(goal, "goal") ?? "default")
        return try CAPI.copy(value.jsonText)
    }
}

/// `plughost_write` (embed.h): writes a memory from JSON; its id, or NULL.
@_cdecl("plughost_write")
public func plughost_write(_ host: OpaquePointer?, _ memoryJSON: UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>? {
    CAPI.guarded(nil) {
        let runtime = try CAPI.runtime(host)
        let write = try EmbedJSON.memoryWrite(try CAPI.string(memoryJSON, "memory_json"))
        return try CAPI.copy(try runtime.writeBlocking(write))
    }
}

/// `plughost_recall` (embed.h): recalled memories as a JSON array, or NULL.
@_cdecl("plughost_recall")
public func plughost_recall(
    _ host: OpaquePointer?, _ goal: UnsafePointer<CChar>?, _ queryJSON: UnsafePointer<CChar>?, _ limit: Int32
) -> UnsafeMutablePointer<CChar>? {
    CAPI.guarded(nil) {
        let runtime = try CAPI.runtime(host)
        let goal = try CAPI.string(goal, "goal")
        let query = try EmbedJSON.recallQuery(try CAPI.string(queryJSON, "query_json"))
        guard limit >= 0 else { throw EmbeddingError(.invalidArgument, "limit must be 0 (for 20) or more, got \(limit)") }
        let memories = try runtime.recallBlocking(goal: goal, query, limit: limit == 0 ? 20 : Int(limit))
        return try CAPI.copy(try EmbedJSON.recalled(memories))
    }
}

/// `plughost_forget` (embed.h): forgets a memory by id; 0 or -1, `*forgotten` 1 or 0.
@_cdecl("plughost_forget")
public func plughost_forget(
    _ host: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ goal: UnsafePointer<CChar>?, _ forgotten: UnsafeMutablePointer<Int32>?
) -> Int32 {
    CAPI.guarded(-1) {
        let runtime = try CAPI.runtime(host)
        let found = try runtime.forgetBlocking(try CAPI.string(id, "id"), goal: try CAPI.optionalString(goal, "goal"))
        forgotten?.pointee = found ? 1 : 0
        return 0
    }
}

/// `plughost_flush` (embed.h): sweeps expired memories and runs pending clustering; 0 or -1.
@_cdecl("plughost_flush")
public func plughost_flush(_ host: OpaquePointer?) -> Int32 {
    CAPI.guarded(-1) {
        try CAPI.runtime(host).flushBlocking()
        return 0
    }
}

/// `plughost_stats` (embed.h): counters as JSON, or NULL.
@_cdecl("plughost_stats")
public func plughost_stats(_ host: OpaquePointer?) -> UnsafeMutablePointer<CChar>? {
    CAPI.guarded(nil) {
        try CAPI.copy(EmbedJSON.stats(try CAPI.runtime(host).statsBlocking()))
    }
}

/// `plughost_clusters` (embed.h): the canonical clusters JSON, or NULL.
@_cdecl("plughost_clusters")
public func plughost_clusters(_ host: OpaquePointer?, _ goal: UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>? {
    CAPI.guarded(nil) {
        let runtime = try CAPI.runtime(host)
        return try CAPI.copy(CanonicalClusters.json(try runtime.clustersBlocking(goal: try CAPI.optionalString(goal, "goal"))))
    }
}

/// `plughost_last_error` (embed.h): the calling thread's last error, "" after a success.
@_cdecl("plughost_last_error")
public func plughost_last_error(_ host: OpaquePointer?) -> UnsafePointer<CChar> {
    ThreadError.current
}

/// `plughost_free` (embed.h): releases a string this API returned.
@_cdecl("plughost_free")
public func plughost_free(_ pointer: UnsafeMutablePointer<CChar>?) {
    free(pointer)
}

/// `plughost_last_error_code` (embed.h): the calling thread's last error code, 0 after a success.
@_cdecl("plughost_last_error_code")
public func plughost_last_error_code() -> Int32 {
    ThreadError.code.rawValue
}

/// `plughost_error_name` (embed.h): a code's name ("plugin_failed"), static.
@_cdecl("plughost_error_name")
public func plughost_error_name(_ code: Int32) -> UnsafePointer<CChar> {
    ErrorCode.staticNames[code] ?? ErrorCode.unknownName
}

/// `plughost_version` (embed.h): plughost's version, static.
@_cdecl("plughost_version")
public func plughost_version() -> UnsafePointer<CChar> {
    CAPI.version
}

/// `plughost_api_version` (embed.h): the embed API version of this library, major << 16 | minor.
@_cdecl("plughost_api_version")
public func plughost_api_version() -> UInt32 {
    CAPI.apiMajor << 16 | CAPI.apiMinor
}

/// `plughost_context_get` (embed.h): a plugin's goal context as JSON, or NULL.
@_cdecl("plughost_context_get")
public func plughost_context_get(
    _ host: OpaquePointer?, _ goal: UnsafePointer<CChar>?, _ plugin: UnsafePointer<CChar>?
) -> UnsafeMutablePointer<CChar>? {
    CAPI.guarded(nil) {
        let runtime = try CAPI.runtime(host)
        let context = try runtime.contextBlocking(goal: try CAPI.string(goal, "goal"), plugin: try CAPI.string(plugin, "plugin"))
        return try CAPI.copy(EmbedJSON.text(["values": context.values, "recent": context.recent]))
    }
}

/// `plughost_context_set` (embed.h): sets (or with a NULL value removes) one key; 0 or -1.
@_cdecl("plughost_context_set")
public func plughost_context_set(
    _ host: OpaquePointer?, _ goal: UnsafePointer<CChar>?, _ plugin: UnsafePointer<CChar>?, _ key: UnsafePointer<CChar>?,
    _ value: UnsafePointer<CChar>?
) -> Int32 {
    CAPI.guarded(-1) {
        let runtime = try CAPI.runtime(host)
        try runtime.setContextBlocking(
            goal: try CAPI.string(goal, "goal"), plugin: try CAPI.string(plugin, "plugin"), key: try CAPI.string(key, "key"),
            value: try CAPI.optionalString(value, "value"))
        return 0
    }
}

/// `plughost_run_pipeline` (embed.h): runs a pipeline file on the host; its report as JSON, or NULL.
@_cdecl("plughost_run_pipeline")
public func plughost_run_pipeline(
    _ host: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ optionsJSON: UnsafePointer<CChar>?
) -> UnsafeMutablePointer<CChar>? {
    CAPI.guarded(nil) {
        let runtime = try CAPI.runtime(host)
        let path = try CAPI.string(path, "path")
        let options = try EmbedJSON.pipelineOptions(try CAPI.optionalString(optionsJSON, "options_json") ?? "{}")
        let definition = try PipelineParser.parse(path: path)
        let report = try runtime.withOpenHost("run_pipeline") { host in
            let runner = try PipelineRunner(definition: definition, host: host, goal: options.goal, inputValues: options.inputs)
            return try runner.run()
        }
        return try CAPI.copy(EmbedJSON.text(report.jsonObject))
    }
}
