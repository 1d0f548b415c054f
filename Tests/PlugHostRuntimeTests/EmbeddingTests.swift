import Dispatch
import Foundation
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPostgres
@testable import PlugHostPipeline
@testable import PlugHostTools

#if canImport(Glibc)
import Glibc
#endif

// Tests of embedding plughost (issue 7): the async Swift API (PlugHostRuntime,
// HostConfiguration, Value(json:as:)), the C API of libplughost_embed.so called through
// dlopen/dlsym, the Python package and example agent, and (with PLUGHOST_TEST_EXAMPLES=1) the Swift example.

// MARK: - Support

/// Where the build put the bundled plugins and libplughost_embed.so, and how to run things.
enum EmbeddingSupport {
    /// The repository root (this file is Tests/PlugHostRuntimeTests/EmbeddingTests.swift).
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let libraryName = "libplughost_embed.so"

    /// The build folder holding libtext.so, libsig.so and libplughost_embed.so: the test
    /// binary's folder (where `swift test` builds them), else the repository's .build/debug.
    static let buildDirectory: String? = {
        let fm = FileManager.default
        func has(_ dir: String) -> Bool {
            fm.fileExists(atPath: (dir as NSString).appendingPathComponent("libtext.so"))
                && fm.fileExists(atPath: (dir as NSString).appendingPathComponent(libraryName))
        }
        var candidates = [PluginSearchPath.bundledDirectory]
        if let first = CommandLine.arguments.first { candidates.append((first as NSString).deletingLastPathComponent) }
        candidates.append(Bundle.main.bundlePath)
        candidates.append((Bundle.main.bundlePath as NSString).deletingLastPathComponent)
        candidates.append(repoRoot.appendingPathComponent(".build/debug").path)
        return candidates.first(where: has)
    }()

    static func requireBuildDirectory() throws -> String {
        try XCTUnwrap(buildDirectory, "cannot find the build folder with libtext.so and \(libraryName) (run swift build first)")
    }

    /// A runtime over the in-memory engine, finding plugins in the build folder.
    static func openMemoryRuntime(
        threshold: Int = 10, timeout: Double = 5
    ) async throws -> PlugHostRuntime {
        let dir = try requireBuildDirectory()
        return try await PlugHostRuntime.open(
            HostConfiguration(
                engine: .memory, pluginDirectories: [dir], clusteringThreshold: threshold, clusteringTimeout: timeout))
    }

    /// The output of a finished process.
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a program to its end, with output collected through temporary files.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], cwd: String? = nil) throws -> Output {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("embedtest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let out = tmp.appendingPathComponent("out"), err = tmp.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return Output(
            status: p.terminationStatus,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    /// The full path of a program on PATH, or nil.
    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

// MARK: - The C API through dlopen

/// libplughost_embed.so's functions, looked up with dlsym.
final class EmbedCAPI: @unchecked Sendable {
    typealias Create = @convention(c) (UnsafePointer<CChar>?) -> OpaquePointer?
    typealias HostInt = @convention(c) (OpaquePointer?) -> Int32
    typealias HostVoid = @convention(c) (OpaquePointer?) -> Void
    typealias HostString = @convention(c) (OpaquePointer?) -> UnsafeMutablePointer<CChar>?
    typealias Load = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Int32
    typealias Invoke =
        @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?) ->
        UnsafeMutablePointer<CChar>?
    typealias StringArg = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>?
    typealias Recall = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, Int32) -> UnsafeMutablePointer<CChar>?
    typealias Forget = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutablePointer<Int32>?) -> Int32
    typealias LastError = @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
    typealias Free = @convention(c) (UnsafeMutablePointer<CChar>?) -> Void

    let handle: UnsafeMutableRawPointer
    let create: Create
    let close: HostInt
    let destroy: HostVoid
    let load: Load
    let plugins: HostString
    let invoke: Invoke
    let write: StringArg
    let recall: Recall
    let forget: Forget
    let flush: HostInt
    let stats: HostString
    let clusters: StringArg
    let lastErrorFn: LastError
    let free: Free

    /// Opens the library once per process. RTLD_DEEPBIND makes it bind to its own copy of the
    /// PlugHost module rather than to the test binary's.
    static let shared: Result<EmbedCAPI, any Error> = Result {
        let dir = try EmbeddingSupport.requireBuildDirectory()
        let path = (dir as NSString).appendingPathComponent(EmbeddingSupport.libraryName)
        guard let h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) else {
            throw EmbeddingError(.invalidArgument, "dlopen \(path): \(String(cString: dlerror()))")
        }
        return try EmbedCAPI(handle: h)
    }

    private init(handle: UnsafeMutableRawPointer) throws {
        self.handle = handle
        func sym<T>(_ name: String, _: T.Type) throws -> T {
            guard let p = dlsym(handle, name) else { throw EmbeddingError(.invalidArgument, "dlsym \(name) failed") }
            return unsafeBitCast(p, to: T.self)
        }
        create = try sym("plughost_create", Create.self)
        close = try sym("plughost_close", HostInt.self)
        destroy = try sym("plughost_destroy", HostVoid.self)
        load = try sym("plughost_load", Load.self)
        plugins = try sym("plughost_plugins", HostString.self)
        invoke = try sym("plughost_invoke", Invoke.self)
        write = try sym("plughost_write", StringArg.self)
        recall = try sym("plughost_recall", Recall.self)
        forget = try sym("plughost_forget", Forget.self)
        flush = try sym("plughost_flush", HostInt.self)
        stats = try sym("plughost_stats", HostString.self)
        clusters = try sym("plughost_clusters", StringArg.self)
        lastErrorFn = try sym("plughost_last_error", LastError.self)
        free = try sym("plughost_free", Free.self)
    }

    /// The calling thread's last error.
    func lastError(_ host: OpaquePointer? = nil) -> String {
        guard let p = lastErrorFn(host) else { return "<NULL from plughost_last_error>" }
        return String(cString: p)
    }

    /// Copies and frees a returned string.
    func take(_ p: UnsafeMutablePointer<CChar>?) -> String? {
        guard let p else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// plughost_invoke with Swift strings (nil passes NULL).
    func invoke(_ host: OpaquePointer?, _ plugin: String?, _ function: String?, _ args: String?, goal: String? = nil) -> String? {
        withOptionalCString(plugin) { p in
            withOptionalCString(function) { f in
                withOptionalCString(args) { a in
                    withOptionalCString(goal) { g in take(invoke(host, p, f, a, g)) }
                }
            }
        }
    }

    func load(_ host: OpaquePointer?, _ plugin: String?, as alias: String? = nil) -> Int32 {
        withOptionalCString(plugin) { p in withOptionalCString(alias) { a in load(host, p, a) } }
    }

    func write(_ host: OpaquePointer?, _ json: String?) -> String? {
        withOptionalCString(json) { take(write(host, $0)) }
    }

    func recall(_ host: OpaquePointer?, goal: String?, _ query: String?, limit: Int32 = 0) -> String? {
        withOptionalCString(goal) { g in withOptionalCString(query) { q in take(recall(host, g, q, limit)) } }
    }

    func forget(_ host: OpaquePointer?, _ id: String?, goal: String? = nil) -> (Int32, Int32) {
        var found: Int32 = -7
        let rc = withOptionalCString(id) { i in withOptionalCString(goal) { g in forget(host, i, g, &found) } }
        return (rc, found)
    }

    func clusters(_ host: OpaquePointer?, goal: String? = nil) -> String? {
        withOptionalCString(goal) { take(clusters(host, $0)) }
    }

    func create(_ json: String?) -> OpaquePointer? {
        withOptionalCString(json) { create($0) }
    }

    /// A memory-engine host with plugin_directories set to the build folder.
    func memoryHost() throws -> OpaquePointer {
        let dir = try EmbeddingSupport.requireBuildDirectory()
        let config = #"{"engine":"memory","plugin_directories":[\#(Value.string(dir).jsonText)]}"#
        return try XCTUnwrap(create(config), "plughost_create failed: \(lastError())")
    }
}

private func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s else { return body(nil) }
    return s.withCString { body($0) }
}

// MARK: - Tests

final class EmbeddingTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        PostgresEngine.register()
    }

    // MARK: HostConfiguration

    func testHostConfigurationDefaultsAndJSON() throws {
        let d = HostConfiguration()
        XCTAssertEqual(d.engine, .sqlite)
        XCTAssertNil(d.databasePath)
        XCTAssertFalse(d.baseline)
        XCTAssertEqual(d.cacheCapacity, 50)
        XCTAssertEqual(d.cacheTTL, 7200)
        XCTAssertEqual(d.clusteringThreshold, 10)
        XCTAssertEqual(d.clusteringTimeout, 5)
        XCTAssertNil(d.theta)  // the memory's stored θ, else 2
        XCTAssertNil(d.memoryConfiguration.explicitTheta)
        XCTAssertEqual(try HostConfiguration(json: "{}"), d)

        let c = try HostConfiguration(
            json: """
                {"engine":"memory","database_path":"/tmp/x.sqlite","baseline":true,"plugin_directories":["/a","/b"],
                 "cache_capacity":7,"cache_ttl":1.5,"clustering_threshold":3,"clustering_timeout":0.25,"theta":4}
                """)
        XCTAssertEqual(
            c,
            HostConfiguration(
                engine: .memory, databasePath: "/tmp/x.sqlite", baseline: true, pluginDirectories: ["/a", "/b"],
                cacheCapacity: 7, cacheTTL: 1.5, clusteringThreshold: 3, clusteringTimeout: 0.25, theta: 4))
        let m = c.memoryConfiguration
        XCTAssertFalse(m.optimized)
        XCTAssertEqual(m.cacheCapacity, 7)
        XCTAssertEqual(m.theta, 4)

        // Codable round trip, through both coders.
        let data = try JSONEncoder().encode(c)
        XCTAssertEqual(try JSONDecoder().decode(HostConfiguration.self, from: data), c)
        XCTAssertEqual(try HostConfiguration(json: String(decoding: data, as: UTF8.self)), c)

        func rejects(_ json: String, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try HostConfiguration(json: json), file: file, line: line) { error in
                guard let e = error as? EmbeddingError else { return XCTFail("\(error) is not an EmbeddingError", file: file, line: line) }
                XCTAssertEqual(e.code, .invalidConfiguration, file: file, line: line)
                for f in fragments {
                    XCTAssertTrue(
                        e.message.contains(f), "\(e.message.debugDescription) lacks \(f.debugDescription)", file: file, line: line)
                }
            }
        }
        rejects("{", ["not valid JSON"])
        rejects("[]", ["must be a JSON object"])
        rejects(#"{"engin":"memory"}"#, ["unknown configuration key \"engin\""])
        rejects(#"{"engine":"mongo"}"#, ["unknown engine \"mongo\"", "sqlite", "postgres"])
        // Without database_path the URL comes from PLUGHOST_DB, as in the CLI.
        let savedDB = ProcessInfo.processInfo.environment["PLUGHOST_DB"]
        defer { if let savedDB { setenv("PLUGHOST_DB", savedDB, 1) } else { unsetenv("PLUGHOST_DB") } }
        unsetenv("PLUGHOST_DB")
        rejects(#"{"engine":"postgres"}"#, ["database_path", "needs a database URL"])
        setenv("PLUGHOST_DB", "postgres://agent@db.example:5432/memory", 1)
        XCTAssertEqual(try HostConfiguration(json: #"{"engine":"postgres"}"#).engine, .postgres)
        setenv("PLUGHOST_DB", "mysql://agent@db.example/memory", 1)
        rejects(#"{"engine":"postgres"}"#, ["database_path", "not postgres"])
        unsetenv("PLUGHOST_DB")
        rejects(#"{"engine":"postgres","database_path":"mysql://u@h/db"}"#, ["database_path", "not postgres"])
        rejects(#"{"cache_capacity":"50"}"#, ["cache_capacity", "an integer"])
        rejects(#"{"baseline":1}"#, ["baseline"])
        rejects(#"{"plugin_directories":"/a"}"#, ["plugin_directories"])
        rejects(#"{"cache_capacity":0}"#, ["cache_capacity", "at least 1"])
        rejects(#"{"theta":0}"#, ["theta", "at least 1"])
        rejects(#"{"clustering_timeout":0}"#, ["clustering_timeout"])
        rejects(#"{"database_path":""}"#, ["database_path", "empty"])
    }

    // MARK: Value(json:as:)

    func testValueFromJSON() throws {
        func parse(_ text: String) throws -> Any {
            try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        }
        func ok(_ json: String, _ type: ValueType, _ expected: Value, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(try Value(json: parse(json), as: type), expected, file: file, line: line)
        }
        func bad(
            _ json: String, _ type: ValueType, _ code: CallError.Code, _ fragment: String, file: StaticString = #filePath,
            line: UInt = #line
        ) {
            XCTAssertThrowsError(try Value(json: parse(json), as: type), file: file, line: line) { error in
                guard let e = error as? CallError else { return XCTFail("\(error)", file: file, line: line) }
                XCTAssertEqual(e.code, code, "\(e.message)", file: file, line: line)
                XCTAssertTrue(
                    e.message.contains(fragment), "\(e.message.debugDescription) lacks \(fragment.debugDescription)", file: file, line: line
                )
            }
        }
        ok("true", .bool, .bool(true))
        ok("false", .bool, .bool(false))
        bad("1", .bool, .argumentType, "expected bool, got number 1")
        bad("0", .bool, .argumentType, "got number 0")
        bad("true", .int32, .argumentType, "expected int32, got boolean true")
        ok("-7", .int8, .int(-7))
        ok("127", .int8, .int(127))
        bad("128", .int8, .argumentRange, "128 is out of range for int8")
        ok("3.0", .int32, .int(3))
        bad("1.5", .int32, .argumentType, "1.5, which is not an integer")
        bad("\"12\"", .int64, .argumentType, "expected int64, got string \"12\"")
        bad("null", .int64, .argumentType, "got null")
        ok("9223372036854775807", .int64, .int(Int64.max))
        ok("-9223372036854775808", .int64, .int(Int64.min))
        ok("18446744073709551615", .uint64, .uint(UInt64.max))
        bad("18446744073709551615", .int64, .argumentRange, "out of range for int64")
        bad("-1", .uint8, .argumentRange, "-1 is out of range for uint8")
        ok("255", .uint8, .uint(255))
        bad("256", .uint8, .argumentRange, "out of range")
        ok("1.5", .double, .double(1.5))
        ok("2", .float, .double(2))
        ok("\"inf\"", .double, .double(.infinity))
        ok("\"-inf\"", .float, .double(-.infinity))
        XCTAssertTrue(
            try {
                if case .double(let d) = try Value(json: parse("\"nan\""), as: .double) { return d.isNaN }; return false
            }())
        bad("\"1.5\"", .double, .argumentType, "only \"nan\"")
        bad("1e300", .float, .argumentRange, "out of range for float")
        ok("\"héllo\"", .string, .string("héllo"))
        bad("5", .string, .argumentType, "expected string, got number 5")
        bad("null", .string, .argumentType, "got null")
        ok("[104, 105, 0, 255]", .buffer, .buffer([104, 105, 0, 255]))
        ok("[]", .buffer, .buffer([]))
        bad("[1, 256]", .buffer, .argumentType, "buffer element 1 is number 256")
        bad("[1, true]", .buffer, .argumentType, "buffer element 1 is boolean true")
        bad("\"hi\"", .buffer, .argumentType, "expected buffer (an array of bytes 0-255)")
        ok("null", .pointer, .pointer(0))
        ok("4096", .pointer, .pointer(4096))
        bad("-1", .pointer, .argumentRange, "out of range for pointer")
        bad("{}", .pointer, .argumentType, "an object")
        bad("1", .void, .argumentType, "void")

        // Swift values as well as JSONSerialization's.
        XCTAssertEqual(try Value(json: true, as: .bool), .bool(true))
        XCTAssertEqual(try Value(json: 42, as: .int16), .int(42))
        XCTAssertEqual(try Value(json: UInt64.max, as: .uint64), .uint(UInt64.max))
        XCTAssertEqual(try Value(json: [1, 2] as [Any], as: .buffer), .buffer([1, 2]))
        XCTAssertThrowsError(try Value(json: true, as: .int64))
        XCTAssertThrowsError(try Value(json: 1, as: .bool))

        // jsonText reads back.
        let values: [(Value, ValueType)] = [
            (.bool(true), .bool), (.int(-5), .int64), (.uint(UInt64.max), .uint64), (.double(0.1), .double),
            (.double(-.infinity), .double), (.string("a\"b\\c\n/é"), .string), (.buffer([0, 1, 255]), .buffer), (.pointer(77), .pointer),
        ]
        for (v, t) in values {
            XCTAssertEqual(try Value(json: parse(v.jsonText), as: t), v, v.jsonText)
        }
        XCTAssertEqual(Value.void.jsonText, "null")
        XCTAssertEqual(Value.double(.nan).jsonText, "\"nan\"")
    }

    /// The fast JSON reader behind `invoke(_:_:jsonArguments:goal:)` agrees with
    /// JSONSerialization on what is JSON and on every conversion to every type.
    func testJSONReaderAgreesWithJSONSerialization() throws {
        let corpus = [
            "0", "-0", "1", "-1", "127", "128", "-129", "255", "256", "65535", "65536", "2147483647", "2147483648",
            "4294967295", "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
            "18446744073709551615", "1.0", "1.5", "-2.5", "1e2", "1E+2", "2.5e-3", "1e300", "3.4028235e38", "3.5e38",
            "123456789012345678", "0.1", "true", "false", "null", "\"\"", "\"abc\"", "\"nan\"", "\"-inf\"", "\"inf\"",
            "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "\"\\u00e9\\u4e2d\\ud83d\\ude00\"", "\"é中😀\"",
            "[]", "[1, 2, 255]", "[0,256]", "[1,true]", "[[1]]", "{}", "{\"a\": 1}", " [ 1 , 2 ] ", "\t\n1\r\n",
            // Not JSON.
            "", " ", "[", "]", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}", "01", "-", "1.", ".5", "1e", "+1", "tru", "nul",
            "\"abc", "\"\\x\"", "\"\\u12\"", "[1] x", "1 2", "NaN", "Infinity", "'a'", "[1,2", "{\"a\":1,}",
        ]
        // Trailing commas: Foundation's JSONSerialization (swift-corelibs) accepts them, the
        // reader follows RFC 8259 and does not.
        let lenientSerialization: Set<String> = ["[1,]", "{\"a\":1,}"]
        func serialization(_ text: String) -> Any? {
            try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        }
        func render(_ r: Result<Value, any Error>) -> String {
            switch r {
            case .success(.double(let d)) where d.isNaN: "nan"
            case .success(let v): "\(v)"
            case .failure(let e as CallError): "\(e.code): \(e.message)"
            case .failure(let e): "other: \(e)"
            }
        }
        for text in corpus {
            let fast = Result { try JSONValue.parse(text) }
            let slow = serialization(text)
            switch (fast, slow) {
            case (.success, nil):
                XCTFail("the reader accepts \(text.debugDescription), JSONSerialization does not")
            case (.failure, .some) where lenientSerialization.contains(text):
                continue
            case (.failure, .some):
                XCTFail("JSONSerialization accepts \(text.debugDescription), the reader does not")
            case (.failure, nil):
                continue
            case (.success(let parsed), .some(let object)):
                for type in ValueType.allCases {
                    let a = render(Result { try Value(json: parsed, as: type) })
                    let b = render(Result { try Value(json: object, as: type) })
                    XCTAssertEqual(a, b, "\(text.debugDescription) as \(type.name)")
                }
            }
        }
        // Nesting is bounded, not a stack overflow.
        XCTAssertThrowsError(try JSONValue.parse(String(repeating: "[", count: 100_000)))
        XCTAssertNoThrow(try JSONValue.parse(String(repeating: "[", count: 500) + String(repeating: "]", count: 500)))
        // Lone surrogates are refused.
        XCTAssertThrowsError(try JSONValue.parse("\"\\ud800\""))
        XCTAssertThrowsError(try JSONValue.parse("\"\\udc00x\""))
        XCTAssertEqual(try Value(json: JSONValue.parse("\"\\ud83d\\ude00\""), as: .string), .string("😀"))
    }

    // MARK: The async API

    func testConcurrentInvokesAndWritesFromManyTasks() async throws {
        let runtime = try await EmbeddingSupport.openMemoryRuntime()
        let text = try await runtime.load("text")
        XCTAssertEqual(text.name, "text")
        XCTAssertNotNil(text.function(named: "keywords"))
        XCTAssertEqual(text.function(named: "word_count")?.parameters.map(\.name), ["text"])
        _ = try await runtime.load("sig")
        // Loading again under the same name returns the loaded plugin.
        let awaited1 = try await runtime.load("sig").path
        let awaited2 = try await runtime.plugins().first { $0.name == "sig" }?.path
        XCTAssertEqual(awaited1, awaited2)

        let tasks = 240
        let outcomes = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for i in 0..<tasks {
                group.addTask {
                    switch i % 4 {
                    case 0:
                        let v = try await runtime.invoke("sig", "add3", [.int(Int64(i)), .int(Int64(2 * i)), .int(-1)])
                        return (i, v.text)
                    case 1:
                        let id = try await runtime.write(
                            MemoryWrite(
                                goal: "swarm", plugin: "agent", content: "note \(i)", concepts: ["c\(i % 5)", "shared"]))
                        return (i, id)
                    case 2:
                        let v = try await runtime.invoke(
                            "text", "word_count", arguments: ["text": .string(String(repeating: "word ", count: i))], goal: "swarm")
                        return (i, v.text)
                    default:
                        let v = try await runtime.invoke("sig", "add3", jsonArguments: "[\(i), 1, 1]")
                        return (i, v.text)
                    }
                }
            }
            var all: [Int: String] = [:]
            for try await (i, s) in group { all[i] = s }
            return all
        }
        XCTAssertEqual(outcomes.count, tasks)
        var ids = Set<String>()
        for (i, s) in outcomes {
            switch i % 4 {
            case 0: XCTAssertEqual(s, String(3 * i - 1), "add3 of task \(i)")
            case 1: ids.insert(s)
            case 2: XCTAssertEqual(s, String(i), "word_count of task \(i)")
            default: XCTAssertEqual(s, String(i + 2), "JSON add3 of task \(i)")
            }
        }
        XCTAssertEqual(ids.count, tasks / 4, "every write got its own id")

        // Read your writes, then exact clusters after a flush.
        let recalled = try await runtime.recall(goal: "swarm", .concept("  SHARED "), limit: 1000)
        XCTAssertEqual(Set(recalled.map(\.memory.id)), ids)
        try await runtime.flush()
        let clusters = try await runtime.clusters(goal: "swarm")
        XCTAssertEqual(clusters.count, 1)
        XCTAssertEqual(clusters.first?.clusters.map(\.concepts), [["c0", "c1", "c2", "c3", "c4", "shared"]])
        XCTAssertEqual(try runtime.host.memory.verifyClusters(), [])

        let stats = try await runtime.stats()
        XCTAssertEqual(stats.engine, "memory")
        XCTAssertNil(stats.databasePath)
        XCTAssertEqual(stats.plugins, ["sig", "text"])
        XCTAssertEqual(stats.invocations, tasks / 4 * 3)
        XCTAssertEqual(stats.failedInvocations, 0)
        XCTAssertEqual(stats.memory.writes, tasks / 4)
        XCTAssertLessThanOrEqual(stats.memory.commits, tasks / 4)
        try await runtime.close()
    }

    func testPluginsSeeTheirContextAndMemoryThroughTheRuntime() async throws {
        let runtime = try await EmbeddingSupport.openMemoryRuntime()
        _ = try await runtime.load("text")
        let note = "Swift actors isolate state. Actors and tasks make Swift concurrency safe."
        let keywords = try await runtime.invoke("text", "keywords", arguments: ["text": .string(note), "k": .int(3)], goal: "g")
        XCTAssertEqual(keywords, .string("swift, actors, isolate"))
        let summary = try await runtime.invoke("text", "summarize", [.string(note), .int(1)], goal: "g")
        XCTAssertEqual(summary, .string("Swift actors isolate state."))
        // summarize keeps a count and the last summary in its goal context.
        let context = try await runtime.context(goal: "g", plugin: "text")
        XCTAssertEqual(context.values["summaries"], "1")
        XCTAssertEqual(context.values["last_summary"], "Swift actors isolate state.")
        XCTAssertEqual(context.recent.count, 2)
        // A value the agent sets is what the plugin reads: tally increments its key.
        try await runtime.setContext(goal: "g", plugin: "text", key: "visits", value: "41")
        let awaited3 = try await runtime.invoke("text", "tally", [.string("visits")], goal: "g")
        XCTAssertEqual(awaited3, .int(42))
        let awaited4 = try await runtime.context(goal: "g", plugin: "text").values["visits"]
        XCTAssertEqual(awaited4, "42")
        try await runtime.setContext(goal: "g", plugin: "text", key: "visits", value: nil)
        let awaited5 = try await runtime.context(goal: "g", plugin: "text").values["visits"]
        XCTAssertNil(awaited5)
        // The plugin recalls what the agent wrote.
        let id = try await runtime.write(MemoryWrite(goal: "g", plugin: "agent", content: "x", concepts: ["Actors"]))
        let awaited6 = try await runtime.invoke("text", "recall_count", [.string("actors")], goal: "g")
        XCTAssertEqual(awaited6, .int(3))
        let awaited7 = try await runtime.recall(goal: "g", .plugin("agent")).map(\.memory.id)
        XCTAssertEqual(awaited7, [id])
        let awaited8 = try await runtime.recall(goal: "g", .text("isolate state")).isEmpty
        XCTAssertFalse(awaited8)
        let awaited9 = try await runtime.forget(id, goal: "g")
        XCTAssertTrue(awaited9)
        let awaited10 = try await runtime.forget(id)
        XCTAssertFalse(awaited10)
        let awaited11 = try await runtime.invoke("text", "recall_count", [.string("actors")], goal: "g")
        XCTAssertEqual(awaited11, .int(2))
        try await runtime.close()
    }

    func testCallErrorsThroughTheAsyncAPI() async throws {
        let runtime = try await EmbeddingSupport.openMemoryRuntime()
        _ = try await runtime.load("sig")
        func expect(_ code: CallError.Code, _ fragment: String, line: UInt = #line, _ body: () async throws -> Value) async {
            do {
                let v = try await body()
                XCTFail("expected \(code), got \(v)", line: line)
            } catch let e as CallError {
                XCTAssertEqual(e.code, code, e.description, line: line)
                XCTAssertTrue(
                    e.description.contains(fragment), "\(e.description.debugDescription) lacks \(fragment.debugDescription)", line: line)
            } catch {
                XCTFail("\(error) is not a CallError", line: line)
            }
        }
        await expect(.unknownFunction, "no plugin named nope is loaded (loaded: sig)") { try await runtime.invoke("nope", "f", []) }
        await expect(.unknownFunction, "plugin sig has no function nope") { try await runtime.invoke("sig", "nope", []) }
        await expect(.argumentCount, "expects 3 arguments") { try await runtime.invoke("sig", "add3", [.int(1)]) }
        await expect(.argumentType, "expected int64, got string") {
            try await runtime.invoke("sig", "add3", [.int(1), .int(2), .string("3")])
        }
        await expect(.argumentRange, "out of range for int8") { try await runtime.invoke("sig", "id_i8", [.int(300)]) }
        await expect(.argumentCount, "has no parameter d (it takes a: int64, b: int64, c: int64)") {
            try await runtime.invoke("sig", "add3", arguments: ["a": .int(1), "b": .int(2), "c": .int(3), "d": .int(4)])
        }
        await expect(.argumentCount, "missing argument c") {
            try await runtime.invoke("sig", "add3", arguments: ["a": .int(1), "b": .int(2)])
        }
        await expect(.argumentType, "sig.add3: argument 2 (b): expected int64, got boolean true") {
            try await runtime.invoke("sig", "add3", jsonArguments: "[1, true, 3]")
        }
        await expect(.argumentCount, "missing argument a") { try await runtime.invoke("sig", "add3", jsonArguments: #"{"b": 1, "c": 2}"#) }
        await expect(.pluginError, "sig.fail: it broke") { try await runtime.invoke("sig", "fail", [.string("it broke")]) }
        do {
            _ = try await runtime.invoke("sig", "add3", jsonArguments: "[1, 2")
            XCTFail("bad JSON accepted")
        } catch let e as EmbeddingError {
            XCTAssertEqual(e.code, .invalidArgument)
            XCTAssertTrue(e.message.contains("not valid JSON"), e.message)
        }
        do {
            _ = try await runtime.invoke("sig", "add3", jsonArguments: "3")
            XCTFail("a number accepted as arguments")
        } catch let e as EmbeddingError {
            XCTAssertTrue(e.message.contains("must be a JSON array"), e.message)
        }
        // By name and JSON, the happy paths.
        let awaited12 = try await runtime.invoke("sig", "add3", arguments: ["c": .int(3), "a": .int(1), "b": .int(2)])
        XCTAssertEqual(awaited12, .int(6))
        let awaited13 = try await runtime.invoke("sig", "add3", jsonArguments: #"{"c": 3, "a": 1, "b": 2}"#)
        XCTAssertEqual(awaited13, .int(6))
        let awaited14 = try await runtime.invoke("sig", "id_buf", jsonArguments: "[[1, 2, 255]]")
        XCTAssertEqual(awaited14, .buffer([1, 2, 255]))
        let awaited15 = try await runtime.invoke("sig", "noop", jsonArguments: "[]")
        XCTAssertEqual(awaited15, .void)
        do {
            _ = try await runtime.load("/nonexistent/libnothing.so")
            XCTFail("loaded a missing file")
        } catch let e as LoadError {
            XCTAssertEqual(e.code, .fileNotFound)
        }
        let stats = try await runtime.stats()
        XCTAssertEqual(stats.failedInvocations, 12)
        XCTAssertEqual(stats.invocations, 4)
        try await runtime.close()
    }

    func testCloseFlushesWaitsForRunningCallsAndRefusesLaterOnes() async throws {
        // Clustering only on flush, so that close's flush is what clusters.
        let runtime = try await EmbeddingSupport.openMemoryRuntime(threshold: 100_000, timeout: 100_000)
        _ = try await runtime.load("sig")
        _ = try await runtime.load("text")
        for i in 0..<3 {
            _ = try await runtime.write(MemoryWrite(goal: "c", plugin: "agent", content: "\(i)", concepts: ["a", "b"]))
        }
        XCTAssertEqual(runtime.host.memory.stats.clusteringRuns, 0)

        // Calls racing with close either complete correctly or fail with `closed`, nothing else.
        let results = await withTaskGroup(of: String.self) { group in
            for i in 0..<64 {
                group.addTask {
                    do {
                        let v = try await runtime.invoke("sig", "add3", [.int(Int64(i)), .int(1), .int(1)])
                        return v == .int(Int64(i + 2)) ? "ok" : "wrong \(v)"
                    } catch let e as EmbeddingError where e.code == .closed {
                        return "closed"
                    } catch {
                        return "unexpected \(error)"
                    }
                }
            }
            group.addTask {
                do { try await runtime.close(); return "close" } catch { return "close failed \(error)" }
            }
            var all: [String] = []
            for await r in group { all.append(r) }
            return all
        }
        XCTAssertEqual(results.filter { $0 == "close" }.count, 1, "\(results)")
        XCTAssertEqual(results.filter { $0 != "ok" && $0 != "closed" && $0 != "close" }, [])
        XCTAssertTrue(runtime.isClosed)
        XCTAssertGreaterThanOrEqual(runtime.host.memory.stats.clusteringRuns, 1, "close flushed")

        func expectClosed(_ what: String, line: UInt = #line, _ body: () async throws -> Void) async {
            do {
                try await body()
                XCTFail("\(what) after close succeeded", line: line)
            } catch let e as EmbeddingError {
                XCTAssertEqual(e.code, .closed, line: line)
                XCTAssertTrue(e.message.hasPrefix("host is closed: \(what)"), e.message, line: line)
            } catch {
                XCTFail("\(what): \(error) is not EmbeddingError.closed", line: line)
            }
        }
        await expectClosed("invoke") { _ = try await runtime.invoke("sig", "add3", [.int(1), .int(2), .int(3)]) }
        await expectClosed("invoke") { _ = try await runtime.invoke("sig", "add3", arguments: [:]) }
        await expectClosed("invoke") { _ = try await runtime.invoke("sig", "add3", jsonArguments: "[]") }
        await expectClosed("load") { _ = try await runtime.load("text") }
        await expectClosed("write") { _ = try await runtime.write(MemoryWrite(goal: "c", plugin: "p", content: "")) }
        await expectClosed("forget") { _ = try await runtime.forget("x") }
        await expectClosed("recall") { _ = try await runtime.recall(goal: "c", .concept("a")) }
        await expectClosed("context") { _ = try await runtime.context(goal: "c", plugin: "text") }
        await expectClosed("setContext") { try await runtime.setContext(goal: "c", plugin: "text", key: "k", value: "v") }
        await expectClosed("clusters") { _ = try await runtime.clusters() }
        await expectClosed("stats") { _ = try await runtime.stats() }
        await expectClosed("plugins") { _ = try await runtime.plugins() }
        await expectClosed("flush") { try await runtime.flush() }
        // Closing again is allowed and does nothing.
        try await runtime.close()
    }

    func testConcurrentClosesAllWaitForTheFirst() async throws {
        let runtime = try await EmbeddingSupport.openMemoryRuntime()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { try await runtime.close() } }
            try await group.waitForAll()
        }
        XCTAssertTrue(runtime.isClosed)
    }

    func testSQLiteEngineByConfiguration() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embed-sqlite-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = HostConfiguration(
            engine: .sqlite, databasePath: dir.appendingPathComponent("sub/memory.sqlite").path,
            pluginDirectories: [try EmbeddingSupport.requireBuildDirectory()])
        let runtime = try await PlugHostRuntime.open(config)
        _ = try await runtime.load("text")
        _ = try await runtime.invoke("text", "summarize", [.string("Durable memory survives. It is SQLite."), .int(1)], goal: "d")
        let id = try await runtime.write(MemoryWrite(goal: "d", plugin: "agent", content: "kept", concepts: ["durable"]))
        try await runtime.setContext(goal: "d", plugin: "agent", key: "k", value: "v")
        let awaited16 = try await runtime.stats().engine
        XCTAssertEqual(awaited16, "sqlite")
        try await runtime.close()

        let reopened = try await PlugHostRuntime.open(config)
        let awaited17 = try await reopened.recall(goal: "d", .concept("durable")).map(\.memory.id).contains(id)
        XCTAssertEqual(awaited17, true)
        let awaited18 = try await reopened.context(goal: "d", plugin: "agent").values["k"]
        XCTAssertEqual(awaited18, "v")
        let awaited19 = try await reopened.context(goal: "d", plugin: "text").values["summaries"]
        XCTAssertEqual(awaited19, "1")
        let awaited20 = try await reopened.clusters(goal: "d").isEmpty
        XCTAssertFalse(awaited20)
        try await reopened.close()
    }

    // MARK: The C API

    func testCAPIHappyPath() throws {
        let c = try EmbedCAPI.shared.get()
        let h = try c.memoryHost()
        defer { c.destroy(h) }
        XCTAssertEqual(c.load(h, "text"), 0, c.lastError())
        XCTAssertEqual(c.lastError(), "", "success clears the thread's error")
        XCTAssertEqual(c.load(h, "sig", as: "sig2"), 0, c.lastError())
        XCTAssertEqual(c.load(h, "text"), 0, "loading again is fine")

        let plugins = try XCTUnwrap(c.take(c.plugins(h)), c.lastError())
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(plugins.utf8)) as? [[String: Any]])
        XCTAssertEqual(list.map { $0["name"] as? String }, ["sig2", "text"])
        let fns = try XCTUnwrap(list[1]["functions"] as? [[String: Any]])
        XCTAssertTrue(
            fns.contains {
                $0["name"] as? String == "keywords"
                    && ($0["parameters"] as? [[String: Any]])?.map { $0["name"] as? String } == ["text", "k"]
            })

        XCTAssertEqual(c.invoke(h, "sig2", "add3", "[1, 2, 3]"), "6")
        XCTAssertEqual(c.invoke(h, "sig2", "add3", #"{"a": 40, "b": 1, "c": 1}"#), "42")
        XCTAssertEqual(c.invoke(h, "sig2", "id_str", #"["ünï \"q\""]"#), #""ünï \"q\"""#)
        XCTAssertEqual(c.invoke(h, "sig2", "id_f64", "[0.5]"), "0.5")
        XCTAssertEqual(c.invoke(h, "sig2", "id_bool", "[true]"), "true")
        XCTAssertEqual(c.invoke(h, "sig2", "noop", "[]"), "null")
        XCTAssertEqual(c.invoke(h, "sig2", "id_u64", "[18446744073709551615]"), "18446744073709551615")
        XCTAssertEqual(
            c.invoke(h, "text", "keywords", #"{"text": "Swift actors and Swift tasks and actors", "k": 2}"#, goal: "notes"),
            #""swift, actors""#)

        let id = try XCTUnwrap(
            c.write(
                h,
                #"{"goal":"notes","id":"obs-1","content":"hello","concepts":["Swift","Tasks"],"depends_on":[["tasks","swift"]],"metadata":{"source":"test"},"ttl_ms":0}"#
            ), c.lastError())
        XCTAssertEqual(id, "obs-1")
        XCTAssertEqual(c.flush(h), 0, c.lastError())
        let recalled = try XCTUnwrap(c.recall(h, goal: "notes", #"{"concept":"  SWIFT "}"#), c.lastError())
        let memories = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(recalled.utf8)) as? [[String: Any]])
        XCTAssertEqual(memories.count, 2)
        let mine = try XCTUnwrap(memories.first { $0["id"] as? String == "obs-1" })
        XCTAssertEqual(mine["plugin"] as? String, "agent")
        XCTAssertEqual(mine["concepts"] as? [String], ["swift", "tasks"])
        XCTAssertEqual(mine["depends_on"] as? [[String]], [["tasks", "swift"]])
        XCTAssertEqual((mine["metadata"] as? [String: String])?["source"], "test")
        XCTAssertTrue(mine["expires_at"] is NSNull)
        XCTAssertEqual(try XCTUnwrap(c.recall(h, goal: "notes", #"{"plugin":"text"}"#, limit: 1)).filter { $0 == "{" }.count, 1)
        XCTAssertNotNil(c.recall(h, goal: "notes", #"{"text":"hello"}"#), c.lastError())

        let clusters = try XCTUnwrap(c.clusters(h, goal: "notes"), c.lastError())
        XCTAssertEqual(
            clusters, #"[{"goal":"notes","clusters":[{"id":"actors","concepts":["actors"]},{"id":"swift","concepts":["swift","tasks"]}]}]"#)
        XCTAssertEqual(c.clusters(h), clusters, "one goal: all goals print the same")

        let stats = try XCTUnwrap(c.take(c.stats(h)), c.lastError())
        let s = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(stats.utf8)) as? [String: Any])
        XCTAssertEqual(s["engine"] as? String, "memory")
        XCTAssertEqual(s["plugins"] as? [String], ["sig2", "text"])
        XCTAssertEqual(s["invocations"] as? Int, 8)
        XCTAssertEqual((s["memory"] as? [String: Any])?["writes"] as? Int, 2)

        let elsewhere = c.forget(h, "obs-1", goal: "other")
        XCTAssertEqual(elsewhere.0, 0, c.lastError())
        XCTAssertEqual(elsewhere.1, 0, "not in that goal")
        let first = c.forget(h, "obs-1", goal: "notes")
        XCTAssertEqual(first.0, 0, c.lastError())
        XCTAssertEqual(first.1, 1)
        let again = c.forget(h, "obs-1")
        XCTAssertEqual(again.0, 0, "forgetting an unknown id is not an error")
        XCTAssertEqual(again.1, 0)
        XCTAssertEqual(c.close(h), 0, c.lastError())
    }

    func testCAPIErrorPaths() throws {
        let c = try EmbedCAPI.shared.get()
        func fails(_ result: String?, _ fragment: String, line: UInt = #line) {
            XCTAssertNil(result, "expected a failure with \(fragment.debugDescription)", line: line)
            let e = c.lastError()
            XCTAssertTrue(e.contains(fragment), "\(e.debugDescription) lacks \(fragment.debugDescription)", line: line)
        }
        func failsInt(_ rc: Int32, _ fragment: String, line: UInt = #line) {
            XCTAssertEqual(rc, -1, line: line)
            let e = c.lastError()
            XCTAssertTrue(e.contains(fragment), "\(e.debugDescription) lacks \(fragment.debugDescription)", line: line)
        }

        // Creation.
        XCTAssertNil(c.create("{"))
        XCTAssertTrue(c.lastError().contains("not valid JSON"), c.lastError())
        XCTAssertNil(c.create(#"{"engine":"memory","cache_capacity":-1}"#))
        XCTAssertTrue(c.lastError().contains("cache_capacity"), c.lastError())
        XCTAssertNil(c.create(#"{"engine":"memory","bogus":1}"#))
        XCTAssertTrue(c.lastError().contains("unknown configuration key \"bogus\""), c.lastError())

        // NULL host everywhere.
        failsInt(c.load(nil, "text"), "host is NULL")
        fails(c.invoke(nil, "sig", "add3", "[1,2,3]"), "host is NULL")
        fails(c.write(nil, #"{"goal":"g"}"#), "host is NULL")
        fails(c.recall(nil, goal: "g", #"{"concept":"a"}"#), "host is NULL")
        failsInt(c.forget(nil, "x").0, "host is NULL")
        failsInt(c.flush(nil), "host is NULL")
        fails(c.take(c.stats(nil)), "host is NULL")
        fails(c.clusters(nil), "host is NULL")
        fails(c.take(c.plugins(nil)), "host is NULL")
        failsInt(c.close(nil), "host is NULL")
        c.destroy(nil)
        XCTAssertEqual(c.lastError(), "host is NULL", "destroy leaves the thread's last error alone (embed.h 1.1)")
        c.free(nil)

        let h = try c.memoryHost()
        defer { c.destroy(h) }
        // Loading.
        failsInt(c.load(h, nil), "plugin is NULL")
        failsInt(c.load(h, "no_such_plugin"), "no no_such_plugin.so or libno_such_plugin.so in the plugin search path")
        failsInt(c.load(h, "/nonexistent/x.so"), "cannot load plugin /nonexistent/x.so")
        XCTAssertEqual(c.load(h, "sig"), 0, c.lastError())
        XCTAssertEqual(c.load(h, "text"), 0, c.lastError())

        // Invoking.
        fails(c.invoke(h, nil, "add3", "[]"), "plugin is NULL")
        fails(c.invoke(h, "sig", nil, "[]"), "function is NULL")
        fails(c.invoke(h, "sig", "add3", nil), "args_json is NULL")
        fails(c.invoke(h, "sig", "add3", "[1, 2"), "sig.add3: arguments are not valid JSON")
        fails(c.invoke(h, "sig", "add3", "\"1 2 3\""), "must be a JSON array (by position) or a JSON object")
        fails(c.invoke(h, "nope", "add3", "[]"), "no plugin named nope is loaded")
        fails(c.invoke(h, "sig", "nope", "[]"), "sig.nope: plugin sig has no function nope")
        fails(c.invoke(h, "sig", "add3", "[1, 2]"), "sig.add3: takes 3 arguments (a: int64, b: int64, c: int64), got 2")
        fails(c.invoke(h, "sig", "add3", #"[1, 2, "3"]"#), "sig.add3: argument 3 (c): expected int64, got string \"3\"")
        fails(c.invoke(h, "sig", "add3", "[1, 2, 3.5]"), "which is not an integer")
        fails(c.invoke(h, "sig", "add3", #"{"a": 1, "b": 2, "z": 3}"#), "has no parameter z")
        fails(c.invoke(h, "sig", "id_i8", "[300]"), "300 is out of range for int8")
        fails(c.invoke(h, "sig", "id_bool", "[1]"), "expected bool, got number 1")
        fails(c.invoke(h, "sig", "id_str", #"["a\u0000b"]"#), "NUL")
        fails(c.invoke(h, "sig", "fail", #"["the plugin said no"]"#), "sig.fail: the plugin said no")
        fails(c.invoke(h, "text", "summarize", #"{"text": "x", "sentences": 99}"#), "argument sentences is 99, above its maximum 20")
        // Invalid UTF-8 in an argument string.
        let badUTF8: [CChar] = [CChar(bitPattern: 0xC3), 0x28, 0]
        XCTAssertNil(badUTF8.withUnsafeBufferPointer { c.invoke(h, "sig", "add3", $0.baseAddress, nil) })
        XCTAssertTrue(c.lastError().contains("args_json is not valid UTF-8"), c.lastError())

        // Memory.
        fails(c.write(h, nil), "memory_json is NULL")
        fails(c.write(h, "{"), "memory_json is not valid JSON")
        fails(c.write(h, "[]"), "memory_json must be a JSON object")
        fails(c.write(h, #"{"content":"x"}"#), "missing \"goal\"")
        fails(c.write(h, #"{"goal":"g","colour":"red"}"#), "unknown key \"colour\"")
        fails(c.write(h, #"{"goal":"g","concepts":"a"}"#), "\"concepts\" must be an array of strings")
        fails(c.write(h, #"{"goal":"g","concepts":["ok", "   "]}"#), "concepts[1]")
        fails(c.write(h, #"{"goal":"g","depends_on":[["a"]]}"#), "depends_on[0] must be a pair")
        fails(c.write(h, #"{"goal":"g","ttl_ms":-5}"#), "ttl_ms")
        fails(c.write(h, #"{"goal":"g","metadata":"x"}"#), "\"metadata\" must be a JSON object")
        fails(c.recall(h, goal: nil, #"{"concept":"a"}"#), "goal is NULL")
        fails(c.recall(h, goal: "g", nil), "query_json is NULL")
        fails(c.recall(h, goal: "g", "nope"), "query_json is not valid JSON")
        fails(c.recall(h, goal: "g", #"{"concept":"a","text":"b"}"#), "exactly one of the keys")
        fails(c.recall(h, goal: "g", #"{"concept":5}"#), "\"concept\" must be a string")
        fails(c.recall(h, goal: "g", #"{"concept":"   "}"#), "empty after normalisation")
        fails(c.recall(h, goal: "g", #"{"concept":"a"}"#, limit: -1), "limit must be 0")
        failsInt(c.forget(h, nil).0, "id is NULL")

        // Nothing of that was applied.
        let stats = try XCTUnwrap(c.take(c.stats(h)))
        XCTAssertTrue(stats.contains(#""writes":0"#), stats)
        XCTAssertTrue(stats.contains(#""invocations":0"#), stats)

        // A closed host: every call fails with "host is closed", the handle stays valid.
        XCTAssertEqual(c.close(h), 0, c.lastError())
        XCTAssertEqual(c.close(h), 0, "closing twice is fine")
        fails(c.invoke(h, "sig", "add3", "[1,2,3]"), "host is closed")
        failsInt(c.load(h, "text"), "host is closed")
        fails(c.write(h, #"{"goal":"g"}"#), "host is closed")
        fails(c.recall(h, goal: "g", #"{"concept":"a"}"#), "host is closed")
        failsInt(c.forget(h, "x").0, "host is closed")
        failsInt(c.flush(h), "host is closed")
        fails(c.take(c.stats(h)), "host is closed")
        fails(c.clusters(h), "host is closed")
        fails(c.take(c.plugins(h)), "host is closed")
    }

    func testCAPILastErrorIsPerThread() throws {
        let c = try EmbedCAPI.shared.get()
        let h = try c.memoryHost()
        defer { c.destroy(h) }
        XCTAssertEqual(c.load(h, "sig"), 0, c.lastError())
        let hostBits = Int(bitPattern: UnsafeRawPointer(h))
        let record = ThreadBox<[String: String]>([:])
        let aFailed = DispatchSemaphore(value: 0), bDone = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)

        let a = Thread {
            let h = OpaquePointer(bitPattern: hostBits)
            _ = c.invoke(h, "sig", "fail", #"["failure on A"]"#)
            record.with { $0["a1"] = c.lastError() }
            aFailed.signal()
            bDone.wait()
            // B's calls (a success and a different failure) did not touch A's message.
            record.with { $0["a2"] = c.lastError() }
            _ = c.invoke(h, "sig", "add3", "[1,2,3]")
            record.with { $0["a3"] = c.lastError() }
            finished.signal()
        }
        let b = Thread {
            let h = OpaquePointer(bitPattern: hostBits)
            aFailed.wait()
            record.with { $0["b0"] = c.lastError() }
            _ = c.invoke(h, "sig", "add3", "[1,2,3]")
            record.with { $0["b1"] = c.lastError() }
            _ = c.invoke(h, "sig", "fail", #"["failure on B"]"#)
            record.with { $0["b2"] = c.lastError() }
            bDone.signal()
            finished.signal()
        }
        a.start()
        b.start()
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success)
        let r = record.with { $0 }
        XCTAssertEqual(r["a1"], "sig.fail: failure on A")
        XCTAssertEqual(r["b0"], "", "a fresh thread has no error")
        XCTAssertEqual(r["b1"], "")
        XCTAssertEqual(r["b2"], "sig.fail: failure on B")
        XCTAssertEqual(r["a2"], "sig.fail: failure on A")
        XCTAssertEqual(r["a3"], "", "A's next successful call cleared it")
        XCTAssertEqual(c.lastError(), "", "this thread's last call (load) succeeded")
    }

    func testCAPIFromManyThreadsAtOnce() throws {
        let c = try EmbedCAPI.shared.get()
        let h = try c.memoryHost()
        defer { c.destroy(h) }
        XCTAssertEqual(c.load(h, "sig"), 0, c.lastError())
        XCTAssertEqual(c.load(h, "text"), 0, c.lastError())
        let hostBits = Int(bitPattern: UnsafeRawPointer(h))
        let wrong = ThreadBox<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            let h = OpaquePointer(bitPattern: hostBits)
            for i in 0..<50 {
                let r = c.invoke(h, "sig", "add3", "[\(t), \(i), 1]")
                if r != String(t + i + 1) { wrong.with { $0.append("add3 \(t) \(i): \(r ?? c.lastError())") } }
                if c.write(h, #"{"goal":"threads","content":"t\#(t) i\#(i)","concepts":["t\#(t)","all"]}"#) == nil {
                    wrong.with { $0.append("write: \(c.lastError())") }
                }
                if i % 10 == 0, c.invoke(h, "text", "keywords", #"["thread \#(t) writes words", 2]"#, goal: "threads") == nil {
                    wrong.with { $0.append("keywords: \(c.lastError())") }
                }
            }
        }
        XCTAssertEqual(wrong.with { $0 }, [])
        let recalled = try XCTUnwrap(c.recall(h, goal: "threads", #"{"concept":"all"}"#, limit: 1000))
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(recalled.utf8)) as? [Any])?.count, 400)
        XCTAssertEqual(c.close(h), 0, c.lastError())
    }

    func testEmbedHeaderCompilesAsC11AndCxxAndLinks() throws {
        guard let cc = EmbeddingSupport.which("cc") else { throw XCTSkip("no C compiler") }
        let dir = try EmbeddingSupport.requireBuildDirectory()
        let include = EmbeddingSupport.repoRoot.appendingPathComponent("include").path
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("embed-header-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let source = tmp.appendingPathComponent("smoke.c")
        try #"""
        #include <plughost/embed.h>
        #include <stdio.h>
        #include <string.h>
        int main(int argc, char **argv) {
            if (argc != 2) return 2;
            char config[4096];
            snprintf(config, sizeof config, "{\"engine\":\"memory\",\"plugin_directories\":[\"%s\"]}", argv[1]);
            plughost_host *h = plughost_create(config);
            if (!h) { fprintf(stderr, "create: %s\n", plughost_last_error(NULL)); return 1; }
            if (plughost_load(h, "sig", NULL) != 0) { fprintf(stderr, "load: %s\n", plughost_last_error(h)); return 1; }
            char *r = plughost_invoke(h, "sig", "add3", "[20, 20, 2]", NULL);
            if (!r) { fprintf(stderr, "invoke: %s\n", plughost_last_error(h)); return 1; }
            printf("add3=%s\n", r);
            plughost_free(r);
            r = plughost_invoke(h, "sig", "add3", "[1]", "g");
            printf("error=%s\n", r ? "none" : plughost_last_error(h));
            int forgotten = -1;
            if (plughost_forget(h, "none", NULL, &forgotten) != 0 || forgotten != 0) return 1;
            if (plughost_close(h) != 0) return 1;
            r = plughost_stats(h);
            printf("closed=%s\n", r ? "no" : plughost_last_error(h));
            plughost_destroy(h);
            return 0;
        }
        """#.write(to: source, atomically: true, encoding: .utf8)
        let strict = ["-Wall", "-Wextra", "-pedantic", "-Werror", "-I", include]
        let c11 = try EmbeddingSupport.run(cc, ["-std=c11"] + strict + ["-fsyntax-only", source.path])
        XCTAssertEqual(c11.status, 0, c11.stderr)
        if let cxx = EmbeddingSupport.which("c++") {
            let copy = tmp.appendingPathComponent("smoke.cpp")
            try FileManager.default.copyItem(at: source, to: copy)
            for std in ["-std=c++11", "-std=c++17"] {
                let r = try EmbeddingSupport.run(cxx, [std] + strict + ["-fsyntax-only", copy.path])
                XCTAssertEqual(r.status, 0, "\(std): \(r.stderr)")
            }
        }
        // Just the header, alone, as the first include.
        let alone = tmp.appendingPathComponent("alone.c")
        try "#include <plughost/embed.h>\nint main(void) { return plughost_last_error(0)[0]; }\n".write(
            to: alone, atomically: true, encoding: .utf8)
        XCTAssertEqual(try EmbeddingSupport.run(cc, ["-std=c11"] + strict + ["-fsyntax-only", alone.path]).status, 0)

        let exe = tmp.appendingPathComponent("smoke").path
        let link = try EmbeddingSupport.run(
            cc, ["-std=c11"] + strict + [source.path, "-L", dir, "-lplughost_embed", "-Wl,-rpath,\(dir)", "-o", exe])
        XCTAssertEqual(link.status, 0, link.stderr)
        let run = try EmbeddingSupport.run(exe, [dir])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(
            run.stdout,
            """
            add3=42
            error=sig.add3: takes 3 arguments (a: int64, b: int64, c: int64), got 1
            closed=host is closed: stats after close() is not allowed

            """)
    }

    // MARK: The examples

    /// The environment Python examples and tests run in: the checkout's package on
    /// PYTHONPATH, the build folder (plughost, libplughost_embed.so) first on PATH.
    private func pythonEnvironment(_ dir: String) -> [String: String] {
        let package = EmbeddingSupport.repoRoot.appendingPathComponent("Sources/PlugHostPython").path
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return ["PYTHONPATH": package, "PATH": "\(dir):\(path)", "PYTHONDONTWRITEBYTECODE": "1"]
    }

    /// Whether python3 imports `modules`; fails (rather than skips) under PLUGHOST_REQUIRE_MCP=1.
    private func pythonHas(_ python: String, _ modules: String) throws -> Bool {
        let probe = try EmbeddingSupport.run(python, ["-c", "import \(modules)"])
        if probe.status != 0, ProcessInfo.processInfo.environment["PLUGHOST_REQUIRE_MCP"] == "1" {
            XCTFail("PLUGHOST_REQUIRE_MCP=1 but python3 cannot import \(modules): \(probe.stderr)")
        }
        return probe.status == 0
    }

    /// examples/agent-python/agent.py: the package in-process, then `plughost mcp` over the
    /// same SQLite file through the official MCP SDK.
    func testPythonAgentExample() throws {
        guard let python = EmbeddingSupport.which("python3") else { throw XCTSkip("no python3") }
        let dir = try EmbeddingSupport.requireBuildDirectory()
        let script = EmbeddingSupport.repoRoot.appendingPathComponent("examples/agent-python/agent.py").path
        let withMCP = try pythonHas(python, "mcp")
        let r = try EmbeddingSupport.run(
            python, [script] + (withMCP ? [] : ["--no-mcp"]), environment: pythonEnvironment(dir), cwd: NSTemporaryDirectory())
        XCTAssertEqual(r.status, 0, "stdout:\n\(r.stdout)\nstderr:\n\(r.stderr)")
        XCTAssertTrue(r.stdout.contains("loaded: text 1.0.0"), r.stdout)
        XCTAssertTrue(r.stdout.contains("note 1: 13 words; keywords: swift, actors, isolate, mutable"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  summary: Swift actors isolate mutable state."), r.stdout)
        XCTAssertTrue(r.stdout.contains("bad arguments (BAD_ARGUMENTS): text.keywords: argument k is 0, below its minimum 1"), r.stdout)
        XCTAssertTrue(r.stdout.contains("context: {'last_run_notes': '4'}"), r.stdout)
        XCTAssertTrue(r.stdout.contains("pipeline journal: 6 calls"), r.stdout)
        XCTAssertTrue(r.stdout.contains("recall concept 'swift': 5 memories"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  [actors] actors, call, isolate, mutable, plugins, swift, tasks"), r.stdout)
        if withMCP {
            XCTAssertTrue(r.stdout.contains("mcp clusters resource equals the in-process clusters"), r.stdout)
            XCTAssertTrue(r.stdout.contains("mcp text_keywords: {'result': 'swift, actors, isolate, mutable'}"), r.stdout)
            // The MCP keywords call writes note 1's memory again: the same memory (idempotent writes).
            XCTAssertTrue(r.stdout.contains("mcp recall concept 'swift': 5 memories"), r.stdout)
        }
        XCTAssertTrue(r.stdout.hasSuffix("ok\n"), r.stdout)

        // A bad library path is an error exit naming it, not a crash.
        var env = pythonEnvironment(dir)
        env["PLUGHOST_LIB"] = "/nonexistent/libplughost_embed.so"
        let bad = try EmbeddingSupport.run(python, [script], environment: env)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("PLUGHOST_LIB=/nonexistent/libplughost_embed.so: no such file"), bad.stderr)
    }

    func testPythonBenchExampleRuns() throws {
        guard let python = EmbeddingSupport.which("python3") else { throw XCTSkip("no python3") }
        let dir = try EmbeddingSupport.requireBuildDirectory()
        let script = EmbeddingSupport.repoRoot.appendingPathComponent("examples/agent-python/bench.py").path
        let r = try EmbeddingSupport.run(
            python, [script, "--calls", "200", "--repeats", "3", "--json"], environment: pythonEnvironment(dir))
        XCTAssertEqual(r.status, 0, r.stderr)
        let figures = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Double], r.stdout)
        XCTAssertGreaterThan(figures["plughost_invoke_ns"] ?? 0, 0)
        XCTAssertGreaterThan(figures["ctypes_add3_ns"] ?? 0, 0)
    }

    /// Tests/PythonPackage: the `plughost` Python package (Sources/PlugHostPython) against the
    /// built library, under pytest; pip-installing it included.
    func testPythonPackage() throws {
        guard let python = EmbeddingSupport.which("python3") else { throw XCTSkip("no python3") }
        let dir = try EmbeddingSupport.requireBuildDirectory()
        guard try pythonHas(python, "pytest") else { throw XCTSkip("python3 lacks pytest (pip install pytest)") }
        let tests = EmbeddingSupport.repoRoot.appendingPathComponent("Tests/PythonPackage").path
        var env = pythonEnvironment(dir)
        env["PLUGHOST_BUILD_DIR"] = dir
        let r = try EmbeddingSupport.run(python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", tests], environment: env)
        XCTAssertEqual(r.status, 0, "pytest failed:\n\(r.stdout.suffix(20000))\n\(r.stderr.suffix(5000))")
        XCTAssertFalse(r.stdout.contains(" skipped"), "no package test may be skipped:\n\(r.stdout.suffix(3000))")
    }

    /// Builds and runs examples/embed-swift: slow (it compiles plughost again for that
    /// package), so only with PLUGHOST_TEST_EXAMPLES=1.
    func testSwiftExamplePackage() throws {
        guard ProcessInfo.processInfo.environment["PLUGHOST_TEST_EXAMPLES"] == "1" else {
            throw XCTSkip("set PLUGHOST_TEST_EXAMPLES=1 to build and run examples/embed-swift")
        }
        guard let swift = EmbeddingSupport.which("swift") else { throw XCTSkip("no swift on PATH") }
        let dir = try EmbeddingSupport.requireBuildDirectory()
        let package = EmbeddingSupport.repoRoot.appendingPathComponent("examples/embed-swift").path
        let scratch =
            ProcessInfo.processInfo.environment["PLUGHOST_EXAMPLES_SCRATCH"]
            ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("plughost-embed-swift-example")
        let build = try EmbeddingSupport.run(swift, ["build", "--package-path", package, "--scratch-path", scratch])
        XCTAssertEqual(build.status, 0, "\(build.stdout)\n\(build.stderr)")
        let exe = (scratch as NSString).appendingPathComponent("debug/embed-agent")
        let r = try EmbeddingSupport.run(exe, ["--plugin-dir", dir], cwd: NSTemporaryDirectory())
        XCTAssertEqual(r.status, 0, "stdout:\n\(r.stdout)\nstderr:\n\(r.stderr)")
        XCTAssertTrue(r.stdout.contains("loaded text 1.0.0"), r.stdout)
        XCTAssertTrue(r.stdout.contains("recall concept \"swift\": 5 memories"), r.stdout)
        XCTAssertTrue(r.stdout.contains(#"clusters: [{"goal":"embed-swift","clusters":[{"id":"actors""#), r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix("ok\n"), r.stdout)
        // The plugin directory can come from PLUGHOST_PLUGIN_PATH instead.
        let env = try EmbeddingSupport.run(exe, [], environment: ["PLUGHOST_PLUGIN_PATH": dir], cwd: NSTemporaryDirectory())
        XCTAssertEqual(env.status, 0, env.stderr)
        // Process isolation from an embedding program: the worker is found through PLUGHOST_WORKER,
        // and without it the error says how to provide one.
        let worker = (dir as NSString).appendingPathComponent("plughost-worker")
        let isolated = try EmbeddingSupport.run(
            exe, ["--plugin-dir", dir, "--isolation", "process"], environment: ["PLUGHOST_WORKER": worker], cwd: NSTemporaryDirectory())
        XCTAssertEqual(isolated.status, 0, isolated.stderr)
        XCTAssertTrue(isolated.stdout.contains("recall concept \"swift\": 5 memories"), isolated.stdout)
        let missing = try EmbeddingSupport.run(exe, ["--plugin-dir", dir, "--isolation", "process"], cwd: NSTemporaryDirectory())
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("PLUGHOST_WORKER"), missing.stderr)
    }
}
