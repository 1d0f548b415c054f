import CPlugHostRuntime
import Foundation
import PlugHostTestSupport
import Synchronization
import XCTest

/// The broken-plugin matrix (Tests/Fixtures/broken): every misbehaving plugin run by the real
/// `plughost` in `process` isolation must end with a clear error or the right value and a living
/// host, never a host death, a hang or a silently wrong result; acknowledged memory survives.
/// The same cases run `in-process` record what that mode cannot survive: docs/trust-model.md's
/// table is that record (PLUGHOST_UPDATE_TRUST_TABLE=1 rewrites it).
final class BrokenPluginMatrixTests: XCTestCase {
    struct Case: Decodable {
        struct Call: Decodable {
            var function: String
            var args: [String]?
        }
        var `case`: String
        var source: String
        var function: String
        var args: [String]?
        var setup: [Call]?
        var expect: String
        var signal: String?
        var value: String?
        var valueRepeat: Int?
        var valueBelow: Int?
        var maxSeconds: Double?
        var accept: [String]?
        var why: String

        enum CodingKeys: String, CodingKey {
            case `case`, source, function, args, setup, expect, signal, value, why, accept
            case valueRepeat = "value_repeat", valueBelow = "value_below", maxSeconds = "max_seconds"
        }
    }

    /// How one run of the host ended.
    struct Outcome {
        var status: Int32
        var signal: Int32?
        var hung: Bool
        var stdout: String
        var stderr: String
        var seconds: Double

        var hostDied: Bool { signal != nil }
        /// The first line the host printed as its error.
        var errorLine: String {
            let lines = stderr.split(separator: "\n")
            return (lines.last { $0.hasPrefix("Error:") } ?? lines.last { $0.contains("error") }).map(String.init) ?? ""
        }
    }

    static let brokenDirectory = TestSupport.repoRoot.appendingPathComponent("Tests/Fixtures/broken")
    /// Process-mode deadline given to the host; in-process hangs are cut by the watchdog.
    static let callTimeout = "3"
    static let watchdog: TimeInterval = 12

    private static let built = Mutex<String?>(nil)

    /// Builds every fixture (once per test process) and returns the folder of the .so files.
    static func buildFixtures() throws -> String {
        try built.withLock { dir in
            if let dir { return dir }
            let out = TestSupport.fixtureBuildDirectory.appendingPathComponent("broken").path
            let r = try TestSupport.run("bash", [brokenDirectory.appendingPathComponent("build.sh").path, out])
            guard r.status == 0 else { throw TestSupportError("build.sh failed: \(r)") }
            dir = out
            return out
        }
    }

    static func loadCases() throws -> [Case] {
        let data = try Data(contentsOf: brokenDirectory.appendingPathComponent("cases.json"))
        return try JSONDecoder().decode([Case].self, from: data)
    }

    /// Runs `plughost` with its own watchdog (SIGKILL, so that a host ignoring SIGTERM is cut
    /// too); output goes to files, so a forked child holding them cannot stall the test.
    static func runHost(_ arguments: [String], cwd: URL, environment: [String: String]) throws -> Outcome {
        let exe = try TestSupport.plughostExecutable()
        let outURL = cwd.appendingPathComponent("stdout-\(UUID().uuidString)")
        let errURL = cwd.appendingPathComponent("stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = arguments
        p.currentDirectoryURL = cwd
        // No Swift backtracer in the host processes a crashing in-process plugin takes down: it
        // ptrace-attaches to the dying process, and while it runs (stuck for good, once, on a
        // loaded machine) the zombie cannot be reaped and terminationHandler never fires.
        var environment = environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        p.environment = environment
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        let start = Date()
        try p.run()
        var hung = false
        if done.wait(timeout: .now() + watchdog) == .timedOut {
            hung = true
            kill(p.processIdentifier, SIGKILL)
            // Bounded: a process that cannot be reaped must fail this case, not hang the suite.
            if done.wait(timeout: .now() + 60) == .timedOut {
                throw TestSupportError(
                    "plughost \(arguments.joined(separator: " ")) (pid \(p.processIdentifier)) was not reaped 60 s after SIGKILL")
            }
        }
        try? out.close()
        try? err.close()
        let signaled = p.terminationReason == .uncaughtSignal && !hung
        return Outcome(
            status: p.terminationStatus, signal: signaled ? p.terminationStatus : nil, hung: hung,
            stdout: String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self),
            stderr: String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self),
            seconds: Date().timeIntervalSince(start))
    }

    /// Runs one case in one isolation: `plughost call` or, with setup calls, a pipeline.
    static func run(_ c: Case, library: String, isolation: String, dir: URL, db: String) throws -> Outcome {
        let env = TestSupport.environment(["PLUGHOST_STATE_DIR": dir.appendingPathComponent("state").path, "PLUGHOST_LOG": nil])
        // 512 MiB of address space keeps the memory hogs quick; a 16 MiB result is checked as text.
        let common =
            ["--db", db, "--isolation", isolation, "--timeout", callTimeout, "--memory-limit", "512"]
            + (c.valueRepeat == nil ? ["--json"] : [])
        guard let setup = c.setup, !setup.isEmpty else {
            return try runHost(["call", library, c.function] + (c.args ?? []) + ["--goal", "matrix"] + common, cwd: dir, environment: env)
        }
        func step(_ id: String, _ call: Case.Call) -> String {
            let args = (call.args ?? []).map { "\"\($0)\"" }.joined(separator: ", ")
            return "  - id: \(id)\n    call: p.\(call.function)\n    args: [\(args)]\n"
        }
        var yaml = "name: matrix\ngoal: matrix\nplugins:\n  p: \(library)\nsteps:\n"
        for (i, s) in setup.enumerated() { yaml += step("setup\(i)", s) }
        yaml += step("main", Case.Call(function: c.function, args: c.args))
        yaml += "outputs:\n  result: ${steps.main}\n"
        let file = try TestSupport.write(yaml, to: dir, "\(c.case)-\(isolation).yaml")
        return try runHost(["run", file] + common, cwd: dir, environment: env)
    }

    /// The result the host printed (`call --json` or `run --json`), as text.
    static func result(_ o: Outcome) -> String? {
        if !o.stdout.hasPrefix("{") { return o.stdout.hasSuffix("\n") ? String(o.stdout.dropLast()) : o.stdout }
        guard let data = o.stdout.data(using: .utf8),
            let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        let value = obj["result"] ?? (obj["outputs"] as? [String: Any])?["result"]
        switch value {
        case let n as NSNumber: return n.stringValue
        case let s as String: return s
        case nil: return nil
        case let v?: return "\(v)"
        }
    }

    static let signalNames: [Int32: String] = [
        SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGILL: "SIGILL", SIGKILL: "SIGKILL",
        SIGTRAP: "SIGTRAP", SIGSYS: "SIGSYS", SIGXCPU: "SIGXCPU", SIGTERM: "SIGTERM", SIGSTOP: "SIGSTOP", SIGPIPE: "SIGPIPE",
    ]

    /// A short, stable description of an outcome for the table.
    static func verdict(_ o: Outcome) -> String {
        if o.hung { return "**host hangs** (killed after \(Int(watchdog)) s)" }
        if let s = o.signal { return "**host dies** (\(signalNames[s] ?? "signal \(s)"))" }
        if o.status == 0 {
            guard let r = result(o), !r.isEmpty else { return "**host exits 0** with no result" }
            return "ok: \(r.count > 24 ? "\(r.count) bytes" : r)"
        }
        let line = o.errorLine
        for (needle, label) in [
            ("crashed while loading", "error: crashed while loading"), ("crashed in function", "error: crashed"),
            ("did not finish within", "error: load timed out"), ("timed out after", "error: timed out"),
            ("quarantined", "error: quarantined"), ("over the limit", "error: over a limit"), ("limit of", "error: over a limit"),
            ("broke the protocol", "error: protocol broken"), ("returned", "error: bad return"),
        ] where line.contains(needle) {
            if label == "error: crashed", let sig = line.range(of: "SIG[A-Z]+", options: .regularExpression) {
                return "\(label) (\(line[sig]))"
            }
            if label == "error: crashed", let st = line.range(of: "exited with status [0-9]+", options: .regularExpression) {
                return "\(label) (\(line[st]))"
            }
            return label
        }
        if o.status == 1 && !line.isEmpty { return "error" }
        return "**host exits \(o.status)** without an error"
    }

    func testEveryBrokenPluginInProcessIsolationIsAnErrorAndTheHostLives() throws {
        let lib = try Self.buildFixtures()
        let cases = try Self.loadCases()
        XCTAssertGreaterThanOrEqual(cases.count, 30)
        let dir = try TestSupport.makeTempDirectory(for: self, "matrix")
        var rows: [(Case, String, String)] = []
        let landlock = Self.landlockAvailable
        let inProcessSkipped: Set<String> = ["memory_hog", "huge_buffer"]
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: "\(lib)/rust_panic.so") || TestSupport.resolveExecutable("rustc") == nil,
            "rustc is installed but rust_panic.so was not built")
        // Every case in both isolations, three hosts at a time (most of the time is spent
        // waiting for deadlines); the checks run afterwards, in order.
        let runnable = cases.filter { FileManager.default.fileExists(atPath: "\(lib)/\($0.case).so") }
        XCTAssertEqual(Set(cases.map(\.case)).subtracting(runnable.map(\.case)).subtracting(["rust_panic"]), [], "cases not built")
        let outcomes = Mutex<[String: (Outcome, Outcome?)]>([:])
        let errors = Mutex<[String]>([])
        let queue = DispatchQueue(label: "matrix", attributes: .concurrent)
        let slots = DispatchSemaphore(value: 3)
        let group = DispatchGroup()
        for c in runnable {
            slots.wait()
            queue.async(group: group) {
                defer { slots.signal() }
                do {
                    let library = "\(lib)/\(c.case).so"
                    let o = try Self.run(
                        c, library: library, isolation: "process", dir: dir, db: dir.appendingPathComponent("\(c.case).sqlite").path)
                    var inProcess: Outcome? = nil
                    if !inProcessSkipped.contains(c.case) {
                        inProcess = try Self.run(
                            c, library: library, isolation: "in-process", dir: dir,
                            db: dir.appendingPathComponent("\(c.case)-in.sqlite").path)
                    }
                    outcomes.withLock { $0[c.case] = (o, inProcess) }
                } catch {
                    errors.withLock { $0.append("\(c.case): \(error)") }
                }
            }
        }
        group.wait()
        XCTAssertEqual(errors.withLock { $0 }, [])
        for c in runnable {
            guard let (o, inProcessOutcome) = outcomes.withLock({ $0[c.case] }) else { continue }
            let db = dir.appendingPathComponent("\(c.case).sqlite").path
            let label = "\(c.case) (process): \(o.status) \(o.signal.map { "signal \($0)" } ?? "") \(o.stderr.suffix(800))"
            XCTAssertFalse(o.hostDied, "host died: \(label)")
            XCTAssertFalse(o.hung, "host hung: \(label)")
            // Debug builds (what `swift test` runs) print big results several times slower.
            XCTAssertLessThan(o.seconds, max(c.maxSeconds ?? 20, 20) * (Self.isDebugBuild ? 1.5 : 1), label)
            let value = Self.result(o)
            switch c.expect {
            case "crash":
                XCTAssertEqual(o.status, 1, label)
                XCTAssertTrue(o.stderr.contains("crashed in function"), label)
                if let s = c.signal { XCTAssertTrue(o.stderr.contains(s), "expected \(s): \(label)") }
            case "protocol":
                XCTAssertEqual(o.status, 1, label)
                XCTAssertTrue(o.stderr.contains("broke the protocol"), label)
            case "timeout":
                XCTAssertEqual(o.status, 1, label)
                XCTAssertTrue(o.stderr.contains("timed out after"), label)
            case "load-crash":
                XCTAssertEqual(o.status, 4, "a plugin that cannot be loaded: \(label)")
                XCTAssertTrue(o.stderr.contains("crashed while loading"), label)
            case "load-timeout":
                XCTAssertEqual(o.status, 4, "a plugin that cannot be loaded: \(label)")
                XCTAssertTrue(o.stderr.contains("did not finish within"), label)
            case "bad-return":
                XCTAssertEqual(o.status, 1, label)
                XCTAssertTrue(o.stderr.contains("returned"), label)
            case "limit" where c.valueBelow != nil:
                XCTAssertEqual(o.status, 0, label)
                XCTAssertLessThan(Int(value ?? "") ?? Int.max, c.valueBelow!, label)
            case "limit":
                XCTAssertEqual(o.status, 1, label)
                // Over a result or context limit; or (huge_buffer under the matrix's 1 GiB address
                // space) the plugin's own allocation failed first and it said so.
                XCTAssertTrue(o.stderr.contains("limit") || o.stderr.contains("alloc"), label)
            case "value" where c.valueRepeat != nil:
                XCTAssertEqual(o.status, 0, label)
                XCTAssertEqual(value?.utf8.count, (c.value ?? "").utf8.count * c.valueRepeat!, label)
                XCTAssertTrue(value?.hasPrefix(String(repeating: c.value ?? "", count: 16)) ?? false, label)
            case "value", "state":
                XCTAssertEqual(o.status, 0, label)
                XCTAssertEqual(value, c.value ?? (c.expect == "state" ? "5" : nil), label)
            case "sandbox":
                XCTAssertEqual(o.status, 0, label)
                if landlock { XCTAssertTrue((c.accept ?? ["13", "1"]).contains(value ?? ""), "the sandbox let it through: \(label)") }
            default:
                XCTFail("unknown expectation \(c.expect) of \(c.case)")
            }
            try checkMemory(after: c, db: db, dir: dir)
            rows.append((c, Self.verdict(o), inProcessOutcome.map(Self.verdict) ?? "not run (would exhaust the machine's memory)"))
        }
        try checkTable(rows)
    }

    /// Acknowledged memory is intact, read by a new process, and nothing was written twice.
    func checkMemory(after c: Case, db: String, dir: URL) throws {
        func recall(_ concept: String) throws -> [[String: Any]] {
            let r = try TestSupport.runPlughost(
                ["memory", "recall", "--goal", "matrix", "--concept", concept, "--db", db, "--json"], cwd: dir)
            XCTAssertEqual(r.status, 0, "\(r)")
            return (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]) ?? []
        }
        switch c.case {
        case "write_then_crash":
            let found = try recall("durable")
            XCTAssertEqual(found.compactMap { $0["id"] as? String }, ["ack-1"], "the acknowledged memory is lost")
        case "fork_child":
            XCTAssertEqual(try recall("fork").count, 1, "a forked child wrote as the host")
        default: break
        }
    }

    /// docs/trust-model.md holds the table between markers; the in-process column must match.
    func checkTable(_ rows: [(Case, String, String)]) throws {
        var table = "| case | what the plugin does | `process` | `in-process` |\n|---|---|---|---|\n"
        for (c, process, inProcess) in rows {
            let why = c.why.replacingOccurrences(of: "|", with: "\\|")
            table += "| `\(c.case)` | \(why) | \(process) | \(inProcess) |\n"
        }
        let deaths = rows.filter { $0.2.contains("host dies") }.count
        let hangs = rows.filter { $0.2.contains("host hangs") }.count
        let exits = rows.filter { $0.2.contains("host exits") }.count
        table +=
            "\n\(rows.count) cases: in `process` isolation, 0 host deaths, 0 hangs and 0 silent exits; `in-process`, \(deaths) host deaths, \(hangs) hangs and \(exits) exits without an error.\n"
        let doc = TestSupport.repoRoot.appendingPathComponent("docs/trust-model.md")
        let begin = "<!-- matrix:begin (generated by BrokenPluginMatrixTests) -->\n", end = "<!-- matrix:end -->"
        var text = (try? String(contentsOf: doc, encoding: .utf8)) ?? ""
        if ProcessInfo.processInfo.environment["PLUGHOST_UPDATE_TRUST_TABLE"] == "1" {
            if let b = text.range(of: begin), let e = text.range(of: end) {
                text.replaceSubrange(b.upperBound..<e.lowerBound, with: table)
            } else {
                text += "\n" + begin + table + end + "\n"
            }
            try text.write(to: doc, atomically: true, encoding: .utf8)
            return
        }
        guard let b = text.range(of: begin), let e = text.range(of: end) else {
            return XCTFail("docs/trust-model.md has no matrix table; run this test with PLUGHOST_UPDATE_TRUST_TABLE=1")
        }
        // In-process, these two act on whatever the host has open (fd 4; the free descriptors),
        // which differs between machines and builds: only whether the host survives is compared.
        let hostDependent: Set<String> = ["`fd_hog`", "`channel_scribble`"]
        func inProcessColumn(_ t: Substring) -> [String: String] {
            var m: [String: String] = [:]
            for line in t.split(separator: "\n") where line.hasPrefix("| `") {
                let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard cells.count >= 5 else { continue }
                let cell = cells[4]
                m[cells[1]] =
                    hostDependent.contains(cells[1]) && !cell.contains("**host") ? "the host survives" : cell
            }
            return m
        }
        XCTAssertEqual(
            inProcessColumn(text[b.upperBound..<e.lowerBound]), inProcessColumn(Substring(table)),
            "docs/trust-model.md's table is stale; run this test with PLUGHOST_UPDATE_TRUST_TABLE=1:\n\(table)")
    }

    static var isDebugBuild: Bool {
        #if DEBUG
        true
        #else
        false
        #endif
    }

    static var landlockAvailable: Bool {
        ph_rt_landlock_abi() > 0
    }

    // MARK: - Files that are not plugins

    func testFilesThatAreNotPluginsAreNamedWithoutOpeningThem() throws {
        let lib = try Self.buildFixtures()
        let dir = try TestSupport.makeTempDirectory(for: self, "files")
        let fifo = dir.appendingPathComponent("fifo.so").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let loop = dir.appendingPathComponent("loop.so").path
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
        let folder = dir.appendingPathComponent("folder.so").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // An aarch64 (or x86_64 on an arm host) shared object: a real one with e_machine changed.
        var elf = try Data(contentsOf: URL(fileURLWithPath: "\(lib)/segv.so"))
        let other: UInt16 = elf[18] == 62 ? 183 : 62
        elf[18] = UInt8(other & 0xFF)
        elf[19] = UInt8(other >> 8)
        let foreign = dir.appendingPathComponent("foreign.so").path
        try elf.write(to: URL(fileURLWithPath: foreign))
        let env = TestSupport.environment(["PLUGHOST_STATE_DIR": dir.appendingPathComponent("state").path])
        for (path, expected) in [
            (fifo, "is a FIFO (named pipe), not a shared object"), (loop, "is a symbolic link loop"),
            (folder, "is a directory, not a shared object"),
            (foreign, "built for \(other == 183 ? "aarch64" : "x86_64")"),
            (dir.appendingPathComponent("missing.so").path, "no such file"),
        ] {
            for isolation in ["process", "in-process"] {
                let o = try Self.runHost(["inspect", path, "--isolation", isolation], cwd: dir, environment: env)
                XCTAssertEqual(o.status, 4, "a plugin that cannot be loaded: \(path) \(isolation): \(o.stderr)")
                XCTAssertFalse(o.hung, path)
                XCTAssertTrue(o.stderr.contains(path) && o.stderr.contains(expected), "\(isolation): \(o.stderr) lacks \(expected)")
            }
        }
    }
}
