import Foundation
import Synchronization
import XCTest

@testable import PlugHost

#if canImport(Glibc)
import Glibc
#endif

// The C API's additions of embed.h 1.1: versions, error codes, goal contexts, pipelines, and
// optional parameters taking their defaults. Called through dlopen/dlsym like EmbeddingTests.

/// The 1.1 functions of libplughost_embed.so, looked up in the library EmbedCAPI opened.
private struct EmbedCAPI11 {
    typealias Version = @convention(c) () -> UnsafePointer<CChar>?
    typealias APIVersion = @convention(c) () -> UInt32
    typealias Code = @convention(c) () -> Int32
    typealias ErrorName = @convention(c) (Int32) -> UnsafePointer<CChar>?
    typealias ContextGet =
        @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>?
    typealias ContextSet =
        @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Int32
    typealias RunPipeline =
        @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>?

    let base: EmbedCAPI
    let version: Version
    let apiVersion: APIVersion
    let lastErrorCode: Code
    let errorName: ErrorName
    let contextGet: ContextGet
    let contextSet: ContextSet
    let runPipeline: RunPipeline

    init() throws {
        base = try EmbedCAPI.shared.get()
        let handle = base.handle
        func sym<T>(_ name: String, _: T.Type) throws -> T {
            unsafeBitCast(try XCTUnwrap(dlsym(handle, name), "dlsym \(name)"), to: T.self)
        }
        version = try sym("plughost_version", Version.self)
        apiVersion = try sym("plughost_api_version", APIVersion.self)
        lastErrorCode = try sym("plughost_last_error_code", Code.self)
        errorName = try sym("plughost_error_name", ErrorName.self)
        contextGet = try sym("plughost_context_get", ContextGet.self)
        contextSet = try sym("plughost_context_set", ContextSet.self)
        runPipeline = try sym("plughost_run_pipeline", RunPipeline.self)
    }

    var code: String { String(cString: errorName(lastErrorCode())!) }

    func context(_ h: OpaquePointer?, _ goal: String?, _ plugin: String?) -> String? {
        with(goal) { g in with(plugin) { p in base.take(contextGet(h, g, p)) } }
    }

    func setContext(_ h: OpaquePointer?, _ goal: String?, _ plugin: String?, _ key: String?, _ value: String?) -> Int32 {
        with(goal) { g in with(plugin) { p in with(key) { k in with(value) { v in contextSet(h, g, p, k, v) } } } }
    }

    func run(_ h: OpaquePointer?, _ path: String?, _ options: String?) -> String? {
        with(path) { p in with(options) { o in base.take(runPipeline(h, p, o)) } }
    }

    private func with<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let s else { return body(nil) }
        return s.withCString { body($0) }
    }
}

final class EmbeddingAPI11Tests: XCTestCase {
    private func object(_ text: String?) throws -> [String: Any] {
        let t = try XCTUnwrap(text)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(t.utf8)) as? [String: Any], t)
    }

    func testVersionsAndErrorNames() throws {
        let c = try EmbedCAPI11()
        XCTAssertEqual(String(cString: try XCTUnwrap(c.version())), PlugHostVersion.current)
        XCTAssertEqual(c.apiVersion(), 1 << 16 | 1, "embed.h says 1.1")
        let names = (0...16).map { String(cString: c.errorName(Int32($0))!) }
        XCTAssertEqual(
            names,
            [
                "ok", "invalid_argument", "invalid_configuration", "closed", "not_found", "load_failed", "bad_arguments",
                "plugin_failed", "plugin_crashed", "plugin_timed_out", "plugin_quarantined", "memory_limit", "memory_invalid",
                "engine", "forbidden", "pipeline", "unknown",
            ])
        XCTAssertEqual(String(cString: c.errorName(99)!), "internal")
        XCTAssertEqual(String(cString: c.errorName(-1)!), "unknown")
        // The header's enum and the library agree (a drift would make a C caller misread codes).
        let header = try String(contentsOf: EmbeddingSupport.repoRoot.appendingPathComponent("include/plughost/embed.h"), encoding: .utf8)
        for (i, name) in names.enumerated() where i > 0 && name != "unknown" {
            XCTAssertTrue(
                header.contains("PLUGHOST_ERROR_\(name.uppercased()) = \(i),"), "embed.h lacks PLUGHOST_ERROR_\(name.uppercased()) = \(i)")
        }
        XCTAssertTrue(header.contains("PLUGHOST_ERROR_INTERNAL = 99 "), "embed.h lacks PLUGHOST_ERROR_INTERNAL = 99")
    }

    func testErrorCodesNameTheKindOfFailure() throws {
        let c = try EmbedCAPI11()
        let b = c.base
        XCTAssertNil(b.create(#"{"cache_capacity": 0}"#))
        XCTAssertEqual(c.code, "invalid_configuration", b.lastError())
        let h = try b.memoryHost()
        defer { b.destroy(h) }
        XCTAssertEqual(b.load(h, "text"), 0, b.lastError())
        XCTAssertEqual(c.code, "ok", "a success resets the code")
        XCTAssertEqual(b.load(h, "/nonexistent/plugin.so"), -1)
        XCTAssertEqual(c.code, "load_failed", b.lastError())
        XCTAssertNil(b.invoke(h, "nope", "f", "[]"))
        XCTAssertEqual(c.code, "not_found", b.lastError())
        XCTAssertNil(b.invoke(h, "text", "nope", "[]"))
        XCTAssertEqual(c.code, "not_found", b.lastError())
        XCTAssertNil(b.invoke(h, "text", "keywords", #"{"text": "a b", "k": 0}"#))
        XCTAssertEqual(c.code, "bad_arguments", b.lastError())
        XCTAssertTrue(b.lastError().contains("below its minimum 1"), b.lastError())
        XCTAssertNil(b.invoke(h, "text", "keywords", #"{"text": 5}"#))
        XCTAssertEqual(c.code, "bad_arguments", b.lastError())
        XCTAssertNil(b.invoke(h, "text", "keywords", "not json"))
        XCTAssertEqual(c.code, "invalid_argument", b.lastError())
        XCTAssertNil(b.write(h, #"{"goal": ""}"#))
        XCTAssertEqual(c.code, "memory_invalid", b.lastError())
        XCTAssertNil(b.write(h, #"{"goal": "g", "content": "\#(String(repeating: "x", count: 2_000_000))"}"#))
        XCTAssertEqual(c.code, "memory_limit", b.lastError())
        XCTAssertNil(c.run(h, "/nonexistent/p.yaml", nil))
        XCTAssertEqual(c.code, "pipeline", b.lastError())
        XCTAssertEqual(b.close(h), 0)
        XCTAssertNil(b.invoke(h, "text", "keywords", "[]"))
        XCTAssertEqual(c.code, "closed", b.lastError())

        // Per thread, like the message.
        let seen = Mutex<Int32>(-1)
        let done = DispatchSemaphore(value: 0)
        Thread {
            seen.withLock { $0 = c.lastErrorCode() }
            done.signal()
        }.start()
        done.wait()
        XCTAssertEqual(seen.withLock { $0 }, 0)
        XCTAssertEqual(c.code, "closed")
    }

    func testOptionalParametersTakeTheirDefaults() throws {
        let c = try EmbedCAPI11()
        let b = c.base
        let h = try b.memoryHost()
        defer { b.destroy(h) }
        XCTAssertEqual(b.load(h, "text"), 0, b.lastError())
        let note = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron"
        let all = try XCTUnwrap(b.invoke(h, "text", "keywords", #"{"text": "\#(note)"}"#), b.lastError())
        XCTAssertEqual(all, try XCTUnwrap(b.invoke(h, "text", "keywords", #"{"text": "\#(note)", "k": 10}"#)), "k defaults to 10")
        XCTAssertEqual(all, try XCTUnwrap(b.invoke(h, "text", "keywords", #"["\#(note)"]"#)), "by position too")
        XCTAssertEqual(all.split(separator: ",").count, 10)
        XCTAssertNil(b.invoke(h, "text", "keywords", "[]"))
        XCTAssertTrue(b.lastError().contains("takes 1 to 2 arguments"), b.lastError())

        let plugins = try XCTUnwrap(b.take(b.plugins(h)))
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(plugins.utf8)) as? [[String: Any]])
        let keywords = try XCTUnwrap((list[0]["functions"] as? [[String: Any]])?.first { $0["name"] as? String == "keywords" })
        let k = try XCTUnwrap((keywords["parameters"] as? [[String: Any]])?.last)
        XCTAssertEqual(k["minimum"] as? Int, 1)
        XCTAssertEqual(k["maximum"] as? Int, 50)
        XCTAssertEqual(k["default"] as? Int, 10)
        XCTAssertEqual(k["optional"] as? Bool, true)
        XCTAssertFalse((keywords["result_doc"] as? String ?? "").isEmpty)
    }

    func testGoalContextGetAndSet() throws {
        let c = try EmbedCAPI11()
        let b = c.base
        let h = try b.memoryHost()
        defer { b.destroy(h) }
        XCTAssertEqual(c.context(h, "g", "text"), #"{"recent":[],"values":{}}"#, b.lastError())
        XCTAssertEqual(c.setContext(h, "g", "text", "mood", "calm"), 0, b.lastError())
        XCTAssertEqual(c.setContext(h, "g", "text", "runs", "2"), 0, b.lastError())
        XCTAssertEqual(c.context(h, "g", "text"), #"{"recent":[],"values":{"mood":"calm","runs":"2"}}"#)
        XCTAssertEqual(c.context(h, "other", "text"), #"{"recent":[],"values":{}}"#, "per goal")

        // The plugin sees what was set: text.tally counts runs in its context.
        XCTAssertEqual(b.load(h, "text"), 0, b.lastError())
        XCTAssertEqual(b.invoke(h, "text", "tally", #"["runs"]"#, goal: "g"), "3")
        XCTAssertEqual(try object(c.context(h, "g", "text"))["values"] as? [String: String], ["mood": "calm", "runs": "3"])
        _ = try XCTUnwrap(b.invoke(h, "text", "keywords", #"{"text": "swift actors"}"#, goal: "g"), b.lastError())
        XCTAssertEqual((try object(c.context(h, "g", "text"))["recent"] as? [String])?.count, 1, "its memory is recent")

        XCTAssertEqual(c.setContext(h, "g", "text", "mood", nil), 0, "NULL removes")
        XCTAssertEqual(try object(c.context(h, "g", "text"))["values"] as? [String: String], ["runs": "3"])
        XCTAssertNil(c.context(h, nil, "text"))
        XCTAssertEqual(c.code, "invalid_argument")
        XCTAssertTrue(b.lastError().contains("goal is NULL"), b.lastError())
        XCTAssertEqual(c.setContext(h, "g", "text", "plughost:file", "x"), -1)
        XCTAssertTrue(b.lastError().contains("reserved for the host"), b.lastError())
        XCTAssertEqual(c.setContext(h, "g", "text", nil, "x"), -1)
        XCTAssertTrue(b.lastError().contains("key is NULL"), b.lastError())
    }

    func testRunPipelineEqualsTheCLIsReport() throws {
        let c = try EmbedCAPI11()
        let b = c.base
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embed-pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("p.yaml")
        try """
        name: p
        goal: pg
        plugins: {text: text}
        inputs:
          notes: ["Swift actors isolate state.", "Swift tasks run concurrently."]
          title: none
        steps:
          - id: kw
            call: text.keywords
            foreach: ${inputs.notes}
            args: {text: "${item}", k: 2}
          - id: t
            call: text.keywords
            args: {text: "${inputs.title}"}
        outputs:
          kw: ${steps.kw}
          t: ${steps.t}
          clusters: ${memory.clusters}
        """.write(to: file, atomically: true, encoding: .utf8)
        let h = try b.memoryHost()
        defer { b.destroy(h) }
        let report = try object(
            c.run(h, file.path, #"{"goal": "g2", "inputs": {"notes": ["Rust traits", "Rust lifetimes"], "title": "ducks"}}"#))
        XCTAssertEqual(report["goal"] as? String, "g2")
        XCTAssertEqual(report["name"] as? String, "p")
        let outputs = try XCTUnwrap(report["outputs"] as? [String: Any])
        XCTAssertEqual(outputs["kw"] as? [String], ["rust, traits", "rust, lifetimes"])
        XCTAssertEqual(outputs["t"] as? String, "ducks")
        XCTAssertEqual((report["steps"] as? [[String: Any]])?.map { $0["calls"] as? Int }, [2, 1])
        XCTAssertEqual(((report["memory"] as? [String: Any])?["writes"] as? Int), 3)
        // The memory is the host's: recall sees what the pipeline wrote.
        XCTAssertEqual(b.recall(h, goal: "g2", #"{"concept":"rust"}"#)?.components(separatedBy: "\"id\"").count, 3)

        XCTAssertNil(c.run(h, file.path, #"{"inputs": {"nope": "x"}}"#))
        XCTAssertEqual(c.code, "pipeline")
        XCTAssertTrue(b.lastError().contains("has no input nope"), b.lastError())
        XCTAssertNil(c.run(h, file.path, #"{"goal": 3}"#))
        XCTAssertEqual(c.code, "invalid_argument")
        XCTAssertNil(c.run(h, file.path, #"{"colour": "red"}"#))
        XCTAssertTrue(b.lastError().contains("unknown key \"colour\""), b.lastError())
        XCTAssertNil(c.run(h, nil, nil))
        XCTAssertTrue(b.lastError().contains("path is NULL"), b.lastError())
    }

    /// A plugin reached through a relative symbolic link to a bundled folder (SwiftPM's
    /// `.build/release → x86_64-unknown-linux-gnu/release`) is bundled: in-process by default.
    func testBundledFolderThroughARelativeSymlinkIsBundled() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bundled-link-\(UUID().uuidString)")
        let real = dir.appendingPathComponent("x86_64/release")
        try FileManager.default.createDirectory(at: real, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createSymbolicLink(
            atPath: dir.appendingPathComponent("release").path, withDestinationPath: "x86_64/release")
        FileManager.default.createFile(atPath: real.appendingPathComponent("libx.so").path, contents: Data())
        var searchPath = PluginSearchPath(extra: [])
        searchPath.bundledDirectories = [real.path]
        let host = PluginHost(memory: try MemoryService(engine: InMemoryEngine()), searchPath: searchPath)
        defer { try? host.close() }
        XCTAssertEqual(host.isolation(forPluginAt: dir.appendingPathComponent("release/libx.so").path), .inProcess)
        XCTAssertEqual(host.isolation(forPluginAt: real.appendingPathComponent("libx.so").path), .inProcess)
        XCTAssertEqual(host.isolation(forPluginAt: dir.appendingPathComponent("libx.so").path), .process)
    }
}
