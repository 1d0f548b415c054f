import Foundation
import PlugHost
import PlugHostIsolation
import PlugHostPipeline
import PlugHostTestSupport
import XCTest

/// Process isolation through the Swift API and the CLI: workers restart after a crash or a
/// timeout, the host API works from a worker, quarantine and its way out, pins, step deadlines.
final class ProcessIsolationTests: XCTestCase {
    func makeHost(_ limits: PluginLimits = .default, state: URL) throws -> PluginHost {
        let dir = try TestSupport.requireBinaryDirectory()
        return PluginHost(
            memory: try MemoryService(engine: InMemoryEngine()), searchPath: PluginSearchPath(extra: [dir], environment: [:]),
            isolation: .process, limits: limits, quarantine: CrashQuarantine(file: state.appendingPathComponent("q.json").path))
    }

    func testAWorkerThatCrashesOrHangsIsReplacedAndTheHostAPIWorksFromIt() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        var limits = PluginLimits.default
        limits.timeout = .milliseconds(300)
        let host = try makeHost(limits, state: dir)
        defer { try? host.close() }
        let p = try host.load(try TestSupport.fixture("crashy"))
        XCTAssertEqual(p.isolation, .process)
        XCTAssertEqual(try p.call("ok", [.int(41)]), .int(42))
        XCTAssertEqual(try p.call("count", []), .int(1))
        XCTAssertEqual(try p.call("count", []), .int(2))

        let crash = try TestSupport.expectError(CallError.self) { try p.call("crash", []) }
        XCTAssertEqual(crash?.code, .crashed)
        XCTAssertEqual(
            crash?.description, "plugin crashy crashed in function crash: SIGSEGV (Segmentation fault); the next call starts a new worker")
        // A fresh worker: the statics start again.
        XCTAssertEqual(try p.call("count", []), .int(1))

        let start = Date()
        let hang = try TestSupport.expectError(CallError.self) { try p.call("spin", []) }
        XCTAssertEqual(hang?.code, .timedOut)
        XCTAssertEqual(
            hang?.description, "plugin crashy.spin timed out after 300 ms; its worker was killed and the next call starts a new one")
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        // A per-call deadline overrides the plugin's.
        let f = try XCTUnwrap(p.function(named: "spin"))
        let longer = try TestSupport.expectError(CallError.self) { try f.call([], timeout: .milliseconds(700)) }
        XCTAssertTrue(longer?.message.contains("after 700 ms") ?? false, "\(String(describing: longer))")

        // The host API from a worker goes through the host's write path and goal contexts.
        XCTAssertEqual(try p.call("remember", [.string("written from a worker")], goal: "g"), .int(0))
        let recalled = try host.memory.recall(goal: "g", .concept("crashy"), limit: 10)
        XCTAssertEqual(recalled.map(\.memory.content), ["written from a worker"])
        XCTAssertEqual(recalled.first?.memory.plugin, "crashy")
        XCTAssertEqual(try p.call("note", [.string("kept")], goal: "g"), .int(0))
        _ = try? p.call("crash", [], goal: "g")
        XCTAssertEqual(try p.call("recall_note", [], goal: "g"), .string("kept"), "the goal context is the host's, not the worker's")
        XCTAssertEqual(try host.memory.contextValue(goal: "g", plugin: "crashy", key: "note"), "kept")
    }

    func testRepeatedCrashesQuarantineTheFileUntilReleased() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let env = TestSupport.environment(["PLUGHOST_STATE_DIR": dir.path])
        let lib = try TestSupport.fixture("crashy")
        let db = dir.appendingPathComponent("m.sqlite").path
        func crash() throws -> TestSupport.ProcessResult {
            try TestSupport.runPlughost(["call", lib, "crash", "--db", db], cwd: dir, environment: env)
        }
        for _ in 0..<2 {
            let r = try crash()
            XCTAssertEqual(r.status, 1, "\(r)")
            XCTAssertTrue(r.stderr.contains("crashed in function crash: SIGSEGV"), "\(r)")
        }
        let third = try crash()
        XCTAssertTrue(third.stderr.contains("is now quarantined after repeated crashes"), "\(third)")
        let refused = try TestSupport.runPlughost(["call", lib, "ok", "1", "--db", db], cwd: dir, environment: env)
        XCTAssertEqual(refused.status, 4, "a quarantined plugin cannot be loaded")
        XCTAssertTrue(refused.stderr.contains("quarantined: it crashed 3 times within 5 minutes"), "\(refused)")
        XCTAssertTrue(refused.stderr.contains("plughost quarantine release \(lib)"), "\(refused)")

        let list = try TestSupport.runPlughost(["quarantine", "list"], cwd: dir, environment: env)
        XCTAssertTrue(list.stdout.contains("QUARANTINED \(lib)"), "\(list)")
        let release = try TestSupport.runPlughost(["quarantine", "release", lib], cwd: dir, environment: env)
        XCTAssertEqual(release.status, 0, "\(release)")
        let again = try TestSupport.runPlughost(["call", lib, "ok", "1", "--db", db], cwd: dir, environment: env)
        XCTAssertEqual(again.stdout, "2\n", "\(again)")
        // In-process crashes are the host's own death and are not recorded; the bundled plugins
        // load in-process by default.
        let inspect = try TestSupport.runPlughost(["inspect", "text"], cwd: dir, environment: env)
        XCTAssertTrue(inspect.stdout.contains("read in: a worker process"), "\(inspect)")
    }

    func testPipelinesPinFilesChooseIsolationAndNameTheStepOfATimeout() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let env = TestSupport.environment(["PLUGHOST_STATE_DIR": dir.path])
        let lib = try TestSupport.fixture("crashy")
        let digest = try PluginDigest.sha256(ofFile: lib)
        func pipeline(_ plugin: String, _ steps: String) throws -> TestSupport.ProcessResult {
            let file = try TestSupport.write(
                "name: p\ngoal: g\nplugins:\n  c: \(plugin)\ninputs:\n  xs: [1, 2]\nsteps:\n\(steps)outputs:\n  out: ${steps.last}\n",
                to: dir,
                "p-\(UUID().uuidString).yaml")
            return try TestSupport.runPlughost(
                ["run", file, "--db", dir.appendingPathComponent("m.sqlite").path], cwd: dir, environment: env)
        }
        let ok = try pipeline("{path: \(lib), sha256: \"sha256:\(digest)\"}", "  - id: last\n    call: c.ok\n    args: [41]\n")
        XCTAssertEqual(ok.status, 0, "\(ok)")
        XCTAssertTrue(ok.stdout.contains("out: 42"), "\(ok)")

        let wrong = String(repeating: "0", count: 64)
        let pinned = try pipeline("{path: \(lib), sha256: \(wrong)}", "  - id: last\n    call: c.ok\n    args: [41]\n")
        XCTAssertEqual(pinned.status, 4, "a plugin refused by its pinned SHA-256")
        XCTAssertTrue(pinned.stderr.contains("its SHA-256 is \(digest), but sha256:\(wrong) is pinned"), "\(pinned)")

        let start = Date()
        let slow = try pipeline(
            "{path: \(lib), timeout: 5}", "  - id: last\n    call: c.spin\n    foreach: ${inputs.xs}\n    timeout: 0.4\n    args: []\n")
        XCTAssertEqual(slow.status, 1)
        XCTAssertTrue(slow.stderr.contains("step last"), "\(slow)")
        XCTAssertTrue(slow.stderr.contains("item 1 of 2"), "\(slow)")
        XCTAssertTrue(slow.stderr.contains("timed out after 400 ms"), "\(slow)")
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)

        let bad = try pipeline("{path: \(lib), isolation: sandboxed}", "  - id: last\n    call: c.ok\n    args: [1]\n")
        XCTAssertEqual(bad.status, 2, "an invalid pipeline file")
        XCTAssertTrue(bad.stderr.contains("plugins.c.isolation") && bad.stderr.contains("must be process or in-process"), "\(bad)")
    }

    func testEmbeddingConfigurationChoosesIsolation() throws {
        let c = try HostConfiguration(
            json: #"{"engine": "memory", "isolation": "in-process", "call_timeout": 2.5, "allow_read": ["/data"]}"#)
        XCTAssertEqual(c.isolation, .inProcess)
        XCTAssertEqual(c.pluginLimits.timeout, .milliseconds(2500))
        XCTAssertEqual(c.pluginLimits.readablePaths, ["/data"])
        let e = try TestSupport.expectError(EmbeddingError.self) { try HostConfiguration(json: #"{"isolation": "vm"}"#) }
        XCTAssertTrue(e?.message.contains("configuration key isolation") ?? false, "\(String(describing: e))")
        let d = try TestSupport.expectError(EmbeddingError.self) { try HostConfiguration(json: #"{"call_timeout": -1}"#) }
        XCTAssertTrue(d?.message.contains("call_timeout") ?? false, "\(String(describing: d))")
    }
}
