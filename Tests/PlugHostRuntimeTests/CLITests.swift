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

/// The real `plughost` executable, run as a child process.
final class CLITests: XCTestCase {
    private func plughost(
        _ args: [String], cwd: URL? = nil, environment: [String: String]? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.runPlughost(args, cwd: cwd, environment: environment, file: file, line: line)
        XCTAssertFalse(r.timedOut, "plughost \(args) timed out", file: file, line: line)
        return r
    }

    /// Asserts a zero exit and returns stdout.
    @discardableResult
    private func succeed(
        _ args: [String], cwd: URL? = nil, environment: [String: String]? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> String {
        let r = try plughost(args, cwd: cwd, environment: environment, file: file, line: line)
        XCTAssertEqual(r.status, 0, "plughost \(args.joined(separator: " ")): \(r)", file: file, line: line)
        return r.stdout
    }

    /// Asserts a non-zero exit and returns stderr + stdout.
    private func refuse(
        _ args: [String], cwd: URL? = nil, environment: [String: String]? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> String {
        let r = try plughost(args, cwd: cwd, environment: environment, file: file, line: line)
        XCTAssertNotEqual(r.status, 0, "plughost \(args.joined(separator: " ")) should fail: \(r)", file: file, line: line)
        return r.stderr + r.stdout
    }

    private func assertContains(_ text: String, _ parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        for p in parts {
            XCTAssertTrue(text.contains(p), "\(text.debugDescription) lacks \(p.debugDescription)", file: file, line: line)
        }
    }

    // MARK: - inspect

    func testInspectText() throws {
        let out = try succeed(["inspect", "text"])
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.first, "text 1.0.0 (plugin ABI 1.1)")
        XCTAssertEqual(lines.dropFirst().first, "Word counts, keywords and extractive summaries, remembered as memories.")
        let dir = try TestSupport.requireBinaryDirectory()
        let fileLine = try XCTUnwrap(lines.first { $0.hasPrefix("file: ") })
        XCTAssertEqual(
            URL(fileURLWithPath: String(fileLine.dropFirst(6))).resolvingSymlinksInPath().path,
            URL(fileURLWithPath: dir).appendingPathComponent("libtext.so").resolvingSymlinksInPath().path)
        XCTAssertTrue(lines.contains("functions:"))
        XCTAssertTrue(lines.contains("  int64_t word_count(const char *text);  [thread-safe]"), out)
        XCTAssertTrue(
            lines.contains("  const char *keywords(const ph_call_context *ctx, const char *text, int32_t k);  [thread-safe]"), out)
        XCTAssertTrue(lines.contains("  const char *summarize(const ph_call_context *ctx, const char *text, int32_t sentences);"), out)
        XCTAssertTrue(lines.contains("  int64_t tally(const ph_call_context *ctx, const char *key);"), out)
        XCTAssertTrue(lines.contains("  int64_t recall_count(const ph_call_context *ctx, const char *concept);  [thread-safe]"), out)
        XCTAssertTrue(lines.contains("      Increments the integer counter `key` of the goal context and returns the new value."), out)
        // Parameter metadata (ABI 1.1) under each function that declares it.
        XCTAssertTrue(lines.contains("      - k (int32, 1 to 50, optional, default 10): How many keywords to return."), out)
        XCTAssertTrue(lines.contains("      returns: The keywords, most frequent first, joined with \", \"."), out)
    }

    func testInspectTextJSON() throws {
        let out = try succeed(["inspect", "text", "--json"])
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], out)
        XCTAssertEqual(obj["name"] as? String, "text")
        XCTAssertEqual(obj["version"] as? String, "1.0.0")
        XCTAssertEqual(obj["abi"] as? String, "1.1")
        XCTAssertEqual(obj["abi_major"] as? Int, 1)
        XCTAssertEqual(obj["abi_minor"] as? Int, 1)
        XCTAssertEqual(obj["description"] as? String, "Word counts, keywords and extractive summaries, remembered as memories.")
        XCTAssertTrue((obj["path"] as? String)?.hasSuffix("/libtext.so") ?? false)
        let functions = try XCTUnwrap(obj["functions"] as? [[String: Any]])
        XCTAssertEqual(functions.compactMap { $0["name"] as? String }, ["word_count", "keywords", "summarize", "tally", "recall_count"])
        func fn(_ name: String) throws -> [String: Any] { try XCTUnwrap(functions.first { $0["name"] as? String == name }) }
        func params(_ f: [String: Any]) -> [[String]] {
            ((f["parameters"] as? [[String: Any]]) ?? []).map { [$0["name"] as? String ?? "?", $0["type"] as? String ?? "?"] }
        }
        let keywords = try fn("keywords")
        XCTAssertEqual(keywords["signature"] as? String, "const char *keywords(const ph_call_context *ctx, const char *text, int32_t k)")
        let k = try XCTUnwrap((keywords["parameters"] as? [[String: Any]])?.last)
        XCTAssertEqual(k["minimum"] as? Int, 1)
        XCTAssertEqual(k["maximum"] as? Int, 50)
        XCTAssertEqual(k["default"] as? Int, 10)
        XCTAssertEqual(k["optional"] as? Bool, true)
        XCTAssertEqual(k["description"] as? String, "How many keywords to return.")
        XCTAssertEqual(keywords["result_doc"] as? String, "The keywords, most frequent first, joined with \", \".")
        XCTAssertEqual(keywords["returns"] as? String, "string")
        XCTAssertEqual(params(keywords), [["text", "string"], ["k", "int32"]])
        XCTAssertEqual(keywords["takes_context"] as? Bool, true)
        XCTAssertEqual(keywords["thread_safe"] as? Bool, true)
        XCTAssertEqual((keywords["doc"] as? String)?.hasPrefix("Top k (1..50) keywords"), true)
        let wc = try fn("word_count")
        XCTAssertEqual(wc["signature"] as? String, "int64_t word_count(const char *text)")
        XCTAssertEqual(wc["returns"] as? String, "int64")
        XCTAssertEqual(params(wc), [["text", "string"]])
        XCTAssertEqual(wc["takes_context"] as? Bool, false)
        let summarize = try fn("summarize")
        XCTAssertEqual(params(summarize), [["text", "string"], ["sentences", "int32"]])
        XCTAssertEqual(summarize["thread_safe"] as? Bool, false)
        XCTAssertEqual(summarize["takes_context"] as? Bool, true)
        let tally = try fn("tally")
        XCTAssertEqual(tally["signature"] as? String, "int64_t tally(const ph_call_context *ctx, const char *key)")
        XCTAssertEqual(params(tally), [["key", "string"]])
        XCTAssertEqual(params(try fn("recall_count")), [["concept", "string"]])
    }

    func testInspectSigShowsEveryType() throws {
        let out = try succeed(["inspect", "sig", "--json"])
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let functions = try XCTUnwrap(obj["functions"] as? [[String: Any]])
        let sigs = Dictionary(
            uniqueKeysWithValues: functions.compactMap { f -> (String, String)? in
                guard let n = f["name"] as? String, let s = f["signature"] as? String else { return nil }
                return (n, s)
            })
        XCTAssertEqual(
            sigs["mixed"],
            "double mixed(int8_t a, uint16_t b, int32_t c, float d, uint64_t e, double f, int16_t g, float h, bool i, int64_t j, double k, uint8_t l)"
        )
        XCTAssertEqual(sigs["id_buf"], "ph_buffer id_buf(ph_buffer v)")
        XCTAssertEqual(sigs["id_ptr"], "void *id_ptr(void *v)")
        XCTAssertEqual(sigs["static_str"], "const char *static_str(void)")
        XCTAssertEqual(sigs["log_hello"], "void log_hello(const ph_call_context *ctx)")
        XCTAssertEqual(sigs["square_json"], "const char *square_json(int64_t n)")
        XCTAssertEqual(functions.count, 29)
        // A string result that carries JSON declares its schema (ABI 1.1), and inspect shows it.
        let square = try XCTUnwrap(functions.first { $0["name"] as? String == "square_json" })
        XCTAssertEqual((square["result_schema"] as? [String: Any])?["required"] as? [String], ["n", "square"])
        XCTAssertEqual(try succeed(["call", "sig", "square_json", "-7", "--engine", "memory"]), "{\"n\":-7,\"square\":49}\n")
    }

    // MARK: - call

    func testCallAdd3() throws {
        XCTAssertEqual(try succeed(["call", "sig", "add3", "1", "2", "3", "--engine", "memory"]), "6\n")
    }

    func testCallNegativeNumbersParse() throws {
        XCTAssertEqual(try succeed(["call", "sig", "id_i64", "-5", "--engine", "memory"]), "-5\n")
        XCTAssertEqual(try succeed(["call", "sig", "add3", "-1", "-2", "-3", "--engine", "memory"]), "-6\n")
        XCTAssertEqual(try succeed(["call", "sig", "id_i64", "-9223372036854775808", "--engine", "memory"]), "-9223372036854775808\n")
        XCTAssertEqual(try succeed(["call", "sig", "id_i8", "-128", "--engine", "memory"]), "-128\n")
        XCTAssertEqual(try succeed(["call", "sig", "id_f64", "-2.5", "--engine", "memory"]), "-2.5\n")
        XCTAssertEqual(try succeed(["call", "sig", "id_f64", "-inf", "--engine", "memory"]), "-inf\n")
        XCTAssertEqual(try succeed(["call", "sig", "id_i32", "-0x10", "--engine", "memory"]), "-16\n")
        // Options after negative arguments still work.
        XCTAssertEqual(try succeed(["call", "sig", "id_i64", "-7", "--engine", "memory", "--json"]).contains("\"result\":-7"), true)
    }

    func testCallOtherTypesPrint() throws {
        XCTAssertEqual(try succeed(["call", "sig", "id_u64", "18446744073709551615", "--engine", "memory"]), "18446744073709551615\n")
        XCTAssertEqual(try succeed(["call", "sig", "id_bool", "yes", "--engine", "memory"]), "true\n")
        XCTAssertEqual(try succeed(["call", "sig", "buf_reverse", "0102ff", "--engine", "memory"]), "ff0201\n")
        XCTAssertEqual(try succeed(["call", "sig", "id_str", "héllo wörld", "--engine", "memory"]), "héllo wörld\n")
        XCTAssertEqual(
            try succeed(["call", "sig", "mixed", "1", "2", "3", "4", "5", "6", "7", "8", "true", "10", "11", "12", "--engine", "memory"]),
            "578.0\n")
        XCTAssertEqual(try succeed(["call", "sig", "noop", "--engine", "memory"]), "")
        XCTAssertEqual(try succeed(["call", "sig", "id_f32", "0.1", "--engine", "memory"]), "\(Double(Float(0.1)))\n")
        XCTAssertEqual(try succeed(["call", "sig", "id_ptr", "0xdeadbeef", "--engine", "memory"]), "0xdeadbeef\n")
        // JSON keeps 64-bit integers exact and non-finite doubles as strings.
        XCTAssertTrue(
            try succeed(["call", "sig", "id_u64", "18446744073709551615", "--engine", "memory", "--json"]).contains(
                "\"result\":18446744073709551615}"))
        XCTAssertTrue(
            try succeed(["call", "sig", "id_i64", "-9223372036854775808", "--engine", "memory", "--json"]).contains(
                "\"result\":-9223372036854775808}"))
        XCTAssertTrue(try succeed(["call", "sig", "id_f64", "nan", "--engine", "memory", "--json"]).contains("\"result\":\"nan\"}"))
        XCTAssertTrue(try succeed(["call", "sig", "id_buf", "00ff", "--engine", "memory", "--json"]).contains("\"result\":[0,255]}"))
        let json = try succeed(["call", "sig", "add3", "1", "2", "3", "--engine", "memory", "--json", "--goal", "g7"])
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(obj["result"] as? Int, 6)
        XCTAssertEqual(obj["plugin"] as? String, "sig")
        XCTAssertEqual(obj["function"] as? String, "add3")
        XCTAssertEqual(obj["goal"] as? String, "g7")
    }

    func testCallOutOfRangeNamesTheArgumentAndTheRange() throws {
        let err = try refuse(["call", "sig", "id_i8", "300", "--engine", "memory"])
        assertContains(err, ["argument 1 (v)", "300 is out of range for int8"])
        let err2 = try refuse(["call", "sig", "id_u32", "-1", "--engine", "memory"])
        assertContains(err2, ["argument 1 (v)", "-1 is out of range for uint32"])
        let err3 = try refuse([
            "call", "sig", "mixed", "1", "2", "3", "4", "5", "6", "7", "8", "true", "10", "11", "256", "--engine", "memory",
        ])
        assertContains(err3, ["argument 12 (l)", "256 is out of range for uint8"])
    }

    func testCallBadArgumentsAreRefused() throws {
        assertContains(
            try refuse(["call", "sig", "id_i32", "twelve", "--engine", "memory"]),
            ["argument 1 (v: int32)", "\"twelve\" is not an integer"])
        assertContains(try refuse(["call", "sig", "add3", "1", "2", "--engine", "memory"]), ["sig.add3: takes 3 arguments", "got 2"])
        assertContains(try refuse(["call", "sig", "no_such_fn", "--engine", "memory"]), ["plugin sig has no function no_such_fn", "add3"])
        assertContains(try refuse(["call", "sig", "fail", "custom failure text", "--engine", "memory"]), ["custom failure text"])
        assertContains(
            try refuse(["call", "sig", "add3", "1", "2", "3", "--engine", "nosuch"]),
            ["'nosuch' is invalid for '--engine <engine>'", "'sqlite', 'postgres' or 'memory'"])
    }

    func testPluginLogAndPluginErrors() throws {
        // log_hello logs at INFO: shown with PLUGHOST_LOG=info, not by default (warn).
        let shown = try plughost(
            ["call", "sig", "log_hello", "--engine", "memory"], environment: TestSupport.environment(["PLUGHOST_LOG": "info"]))
        XCTAssertEqual(shown.status, 0, "\(shown)")
        XCTAssertEqual(shown.stdout, "")
        XCTAssertTrue(shown.stderr.contains("plughost[info] sig: hello from sig"), "\(shown)")
        let quiet = try plughost(
            ["call", "sig", "log_hello", "--engine", "memory"], environment: TestSupport.environment(["PLUGHOST_LOG": nil]))
        XCTAssertEqual(quiet.status, 0, "\(quiet)")
        XCTAssertFalse(quiet.stderr.contains("hello from sig"), "\(quiet)")
        // k = 0 is refused from the declared range (ABI minor 1); k may be left out (default 10).
        assertContains(
            try refuse(["call", "text", "keywords", "some words here", "0", "--engine", "memory"]),
            ["text.keywords: argument k is 0, below its minimum 1"])
        XCTAssertEqual(try succeed(["call", "text", "keywords", "The cat sat. The cat ran.", "--engine", "memory"]).isEmpty, false)
        XCTAssertEqual(try succeed(["call", "text", "keywords", "The cat sat. The cat ran.", "1", "--engine", "memory"]), "cat\n")
    }

    func testCallMissingPluginFailsClearly() throws {
        let err = try refuse(["call", "no_such_plugin_xyz", "f", "--engine", "memory"])
        assertContains(
            err,
            [
                "no_such_plugin_xyz", "no no_such_plugin_xyz.so or libno_such_plugin_xyz.so", "search path", "--plugin-dir",
                "PLUGHOST_PLUGIN_PATH",
            ])
        XCTAssertFalse(err.contains("Backtrac"), "a missing plugin is an error message, not a crash: \(err)")
        let dir = try TestSupport.makeTempDirectory(for: self)
        let err2 = try refuse(["call", "./missing.so", "f", "--engine", "memory"], cwd: dir)
        assertContains(err2, [dir.appendingPathComponent("missing.so").path, "no such file"])
    }

    func testCallRefusedFixtureReportsTheLoadError() throws {
        let path = try TestSupport.fixture("abi_major_new")
        let err = try refuse(["call", path, "f", "--engine", "memory"])
        assertContains(err, ["cannot load plugin \(path)", "built for plugin ABI 2.1"])
        let initFails = try TestSupport.fixture("init_fails")
        assertContains(
            try refuse(["call", initFails, "answer", "--engine", "memory"]),
            ["init returned false: init_fails: the required resource is missing"])
    }

    func testPluginDirAndEnvironmentPath() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        try FileManager.default.copyItem(atPath: try TestSupport.fixture("good"), toPath: dir.appendingPathComponent("libgood.so").path)
        XCTAssertEqual(try succeed(["call", "good", "add", "2", "40", "--engine", "memory", "--plugin-dir", dir.path]), "42\n")
        XCTAssertEqual(
            try succeed(
                ["call", "good", "greet", "you", "--engine", "memory"],
                environment: TestSupport.environment(["PLUGHOST_PLUGIN_PATH": dir.path])), "hello, you\n")
        let err = try refuse(
            ["call", "good", "add", "1", "2", "--engine", "memory"],
            environment: TestSupport.environment(["PLUGHOST_PLUGIN_PATH": nil]))
        assertContains(err, ["no good.so or libgood.so"])
        let minor = try TestSupport.fixture("abi_minor_new")
        XCTAssertEqual(try succeed(["call", minor, "answer", "--engine", "memory"]), "42\n")
        assertContains(try succeed(["inspect", minor]), ["abi_minor_new 1.0.0 (plugin ABI 1.6)"])
    }

    // MARK: - Context across processes (SQLite)

    func testTallyCarriesAcrossProcessesWithSQLite() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let db = dir.appendingPathComponent("m.sqlite").path
        let args = ["call", "text", "tally", "visits", "--engine", "sqlite", "--db", db]
        let first = try plughost(args, cwd: dir)
        XCTAssertEqual(first.status, 0, "\(first)")
        XCTAssertEqual(first.stdout, "1\n")
        let second = try plughost(args, cwd: dir)
        XCTAssertEqual(second.status, 0, "\(second)")
        XCTAssertEqual(second.stdout, "2\n", "the context must survive the process (SQLite engine)")
        // Another goal starts from 1; the first goal goes on.
        XCTAssertEqual(try succeed(args + ["--goal", "other"], cwd: dir), "1\n")
        XCTAssertEqual(try succeed(args, cwd: dir), "3\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: db))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent(".plughost").path), "--db is honoured")
    }

    // MARK: - memory replay

    /// A tiny workload and its clusters worked out by hand (θ = 2):
    /// - g0: its only memory is forgotten, so the goal has no live concept and is left out.
    /// - g1: one memory with five concepts (each pair co-occurs once: no edges) → five
    ///   singleton clusters; "Zu\u0308rich" normalises to NFC "zürich", "tab\tx" to "tab x";
    ///   `"`, `\` and U+0001 are escaped in the export, "ü" is not.
    /// - g2: apple–banana co-occur twice (edge), date→cherry is a dependency (edge),
    ///   elder/fig once (no edge), kiwi/lime twice but one memory is forgotten (no edge).
    static let workload = """
        {"op":"write","id":"w0","goal":"g0","concepts":["gone"]}
        {"op":"write","id":"w1","goal":"g2","concepts":["Apple","banana"]}
        {"op":"write","id":"w2","goal":"g2","concepts":["apple","  BANANA  "],"content":"second"}
        {"op":"write","id":"w3","goal":"g2","concepts":["cherry"],"depends_on":[["Date","cherry"]]}
        {"op":"write","id":"w4","goal":"g2","plugin":"p","concepts":["elder","fig"]}
        {"op":"write","id":"w5","goal":"g1","concepts":["Zu\\u0308rich","quote\\"d","tab\\tx","back\\\\slash","ctl\\u0001x"]}
        {"op":"write","id":"w6","goal":"g2","concepts":["kiwi","lime"]}
        {"op":"write","id":"w7","goal":"g2","concepts":["kiwi","lime"],"metadata":{"k":1},"ttl_ms":0}
        {"op":"forget","id":"w7"}
        {"op":"forget","id":"w0"}
        {"op":"forget","id":"never-written"}

        """

    /// The canonical export of `workload`, written out by hand, byte for byte.
    static let expectedClustersJSON =
        #"[{"goal":"g1","clusters":[{"id":"back\\slash","concepts":["back\\slash"]},{"id":"ctl\u0001x","concepts":["ctl\u0001x"]},"#
        + #"{"id":"quote\"d","concepts":["quote\"d"]},{"id":"tab x","concepts":["tab x"]},{"id":"zürich","concepts":["zürich"]}]},"#
        + #"{"goal":"g2","clusters":[{"id":"apple","concepts":["apple","banana"]},{"id":"cherry","concepts":["cherry","date"]},"#
        + #"{"id":"elder","concepts":["elder"]},{"id":"fig","concepts":["fig"]},{"id":"kiwi","concepts":["kiwi"]},{"id":"lime","concepts":["lime"]}]}]"#

    /// The same clusters as values.
    static let expectedClusters: [GoalClusters] = [
        GoalClusters(
            goal: "g1", clusters: ["back\\slash", "ctl\u{1}x", "quote\"d", "tab x", "zürich"].map { Cluster(id: $0, concepts: [$0]) }),
        GoalClusters(
            goal: "g2",
            clusters: [
                Cluster(id: "apple", concepts: ["apple", "banana"]),
                Cluster(id: "cherry", concepts: ["cherry", "date"]),
                Cluster(id: "elder", concepts: ["elder"]),
                Cluster(id: "fig", concepts: ["fig"]),
                Cluster(id: "kiwi", concepts: ["kiwi"]),
                Cluster(id: "lime", concepts: ["lime"]),
            ]),
    ]

    /// SHA-256 hex of `data` by coreutils' sha256sum: independent of the code under test.
    private func sha256sum(_ data: Data) throws -> String {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let f = dir.appendingPathComponent("blob")
        try data.write(to: f)
        let r = try TestSupport.run("sha256sum", [f.path])
        XCTAssertEqual(r.status, 0, "\(r)")
        return String(r.stdout.prefix(64))
    }

    func testReplayJSONAndCanonicalClusters() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let workload = try TestSupport.write(Self.workload, to: dir, "w.jsonl")
        let clustersOut = dir.appendingPathComponent("clusters.json").path
        let out = try succeed(["memory", "replay", workload, "--engine", "memory", "--json", "--clusters-out", clustersOut], cwd: dir)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], out)
        for key in ["ops", "seconds", "us_per_op", "memory", "digest"] {
            XCTAssertNotNil(obj[key], "replay --json lacks \(key): \(out)")
        }
        XCTAssertEqual(obj["ops"] as? Int, 11)
        XCTAssertEqual(obj["writes"] as? Int, 8)
        XCTAssertEqual(obj["forgets"] as? Int, 2)
        XCTAssertEqual(obj["forgets_unknown"] as? Int, 1)
        let seconds = try XCTUnwrap(obj["seconds"] as? Double)
        XCTAssertGreaterThan(seconds, 0)
        XCTAssertLessThan(seconds, 60)
        let usPerOp = try XCTUnwrap(obj["us_per_op"] as? Double)
        XCTAssertEqual(usPerOp, seconds * 1e6 / 11, accuracy: max(1e-6, usPerOp * 1e-9))
        // The memory counters, in the one stats schema (StatsJSON).
        let memory = try XCTUnwrap(obj["memory"] as? [String: Any], out)
        let ratio = try XCTUnwrap(memory["cache_hit_ratio"] as? Double)
        XCTAssertTrue((0...1).contains(ratio), "cache_hit_ratio \(ratio)")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(memory["edge_ops"] as? Int), 0)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(memory["clustering_runs"] as? Int), 1)
        XCTAssertNil(memory["clusterings"], "the old name is gone")

        // The export, byte for byte, against the hand-written literal.
        let written = try Data(contentsOf: URL(fileURLWithPath: clustersOut))
        XCTAssertEqual(String(decoding: written, as: UTF8.self), Self.expectedClustersJSON)
        XCTAssertEqual(written, Data(Self.expectedClustersJSON.utf8))
        XCTAssertEqual(CanonicalClusters.json(Self.expectedClusters), Self.expectedClustersJSON)

        // The digest: the code's SHA-256 and coreutils' agree, and equal the replay's.
        let digest = try XCTUnwrap(obj["digest"] as? String)
        XCTAssertEqual(digest, CanonicalClusters.digest(Self.expectedClusters))
        XCTAssertEqual(digest, try sha256sum(Data(Self.expectedClustersJSON.utf8)))
        XCTAssertEqual(digest.count, 64)
        XCTAssertEqual(digest, digest.lowercased())

        // The eager baseline gives the same clusters and digest.
        let baselineOut = dir.appendingPathComponent("baseline.json").path
        let base = try succeed(
            ["memory", "replay", workload, "--engine", "memory", "--json", "--baseline", "--clusters-out", baselineOut], cwd: dir)
        let baseObj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(base.utf8)) as? [String: Any])
        XCTAssertEqual(baseObj["digest"] as? String, digest)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: baselineOut)), written)

        // And the text output names the digest.
        let textOut = try succeed(["memory", "replay", workload, "--engine", "memory"], cwd: dir)
        assertContains(textOut, ["replayed 11 ops (8 writes, 2 forgets, 1 of unknown ids)", "digest \(digest)"])
    }

    func testReplayWithSQLiteMatchesTheHandWrittenExport() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let workload = try TestSupport.write(Self.workload, to: dir, "w.jsonl")
        let clustersOut = dir.appendingPathComponent("clusters.json").path
        let r = try plughost(
            [
                "memory", "replay", workload, "--engine", "sqlite", "--db", dir.appendingPathComponent("r.sqlite").path,
                "--clusters-out", clustersOut,
            ], cwd: dir)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(try String(contentsOfFile: clustersOut, encoding: .utf8), Self.expectedClustersJSON)
    }

    func testReplayStopsAtABadLineWithItsNumber() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        // Line 3 is blank (still counted); line 4 is wrong.
        let bad = try TestSupport.write(
            """
            {"op":"write","id":"a","goal":"g","concepts":["x"]}
            {"op":"write","id":"b","goal":"g","concepts":["x","y"]}

            {"op":"write","id":"c","goal":"g","concepts":"not-an-array"}
            {"op":"write","id":"d","goal":"g","concepts":["z"]}

            """, to: dir, "bad.jsonl")
        let clustersOut = dir.appendingPathComponent("clusters.json").path
        let err = try refuse(["memory", "replay", bad, "--engine", "memory", "--clusters-out", clustersOut], cwd: dir)
        assertContains(err, ["\(bad):4:", "\"concepts\" must be an array of strings"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: clustersOut), "nothing is applied or written for a malformed file")

        let notJSON = try TestSupport.write("{\"op\":\"write\",\"goal\":\"g\"}\n{oops\n", to: dir, "notjson.jsonl")
        assertContains(try refuse(["memory", "replay", notJSON, "--engine", "memory"], cwd: dir), ["\(notJSON):2:", "not valid JSON"])

        let unknownKey = try TestSupport.write("{\"op\":\"write\",\"goal\":\"g\",\"colour\":\"red\"}\n", to: dir, "key.jsonl")
        assertContains(
            try refuse(["memory", "replay", unknownKey, "--engine", "memory"], cwd: dir), ["\(unknownKey):1:", "unknown key \"colour\""])

        let unknownOp = try TestSupport.write("{\"op\":\"write\",\"goal\":\"g\"}\n{\"op\":\"frob\"}\n", to: dir, "op.jsonl")
        assertContains(
            try refuse(["memory", "replay", unknownOp, "--engine", "memory"], cwd: dir), ["\(unknownOp):2:", "unknown op \"frob\""])

        // A write the model rejects (an empty concept) stops at its line.
        let rejected = try TestSupport.write(
            """
            {"op":"write","id":"a","goal":"g","concepts":["x"]}
            {"op":"write","id":"b","goal":"g","concepts":["ok","   "]}
            {"op":"write","id":"c","goal":"g","concepts":["z"]}

            """, to: dir, "rejected.jsonl")
        assertContains(
            try refuse(["memory", "replay", rejected, "--engine", "memory"], cwd: dir), ["\(rejected):2:", "empty after normalisation"])

        assertContains(
            try refuse(["memory", "replay", dir.appendingPathComponent("none.jsonl").path, "--engine", "memory"], cwd: dir), ["cannot read"]
        )
    }

    // MARK: - idempotent writes, theta

    /// Re-running the quickstart on one SQLite file changes nothing: the same memories (the
    /// export) and the same clusters; the second run reports its writes as deduplicated.
    func testQuickstartTwiceLeavesTheMemoryAsItWas() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let db = dir.appendingPathComponent("m.sqlite").path
        let pipeline = TestSupport.repoRoot.appendingPathComponent("examples/pipelines/quickstart.yaml").path
        try succeed(["run", pipeline, "--quiet", "--db", db])
        let export1 = try succeed(["memory", "export", "--db", db])
        let clusters1 = try succeed(["memory", "clusters", "--json", "--db", db])
        let second = try succeed(["run", pipeline, "--json", "--db", db])
        let export2 = try succeed(["memory", "export", "--db", db])
        let clusters2 = try succeed(["memory", "clusters", "--json", "--db", db])
        XCTAssertFalse(export1.isEmpty)
        XCTAssertEqual(export2, export1, "the same memories")
        XCTAssertEqual(clusters2, clusters1, "the same clusters")
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(second.utf8)) as? [String: Any])
        let memory = try XCTUnwrap(report["memory"] as? [String: Any])
        XCTAssertEqual(memory["writes"] as? Int, 0, "\(memory)")
        // Every write of the second run is one of the first run's memories (at least one each).
        XCTAssertGreaterThanOrEqual(memory["deduplicated"] as? Int ?? 0, export1.split(separator: "\n").count, "\(memory)")
    }

    /// `--theta`: stored by the first process; another one is refused naming both values and the
    /// file; none uses the stored one; below 1 is refused.
    func testThetaOptionIsStoredWithTheDatabase() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let db = dir.appendingPathComponent("m.sqlite").path
        let empty = try TestSupport.write("", to: dir, "empty.jsonl")
        assertContains(try refuse(["memory", "replay", empty, "--db", db, "--theta", "0"]), ["--theta must be at least 1 (got 0)"])
        try succeed(["memory", "replay", empty, "--db", db, "--theta", "3"])
        assertContains(
            try refuse(["memory", "replay", empty, "--db", db, "--theta", "2"]), ["theta is 2", "created with theta 3", db])
        try succeed(["memory", "replay", empty, "--db", db])
        try succeed(["memory", "replay", empty, "--db", db, "--theta", "3"])
        try succeed(["stats", "--db", db, "--theta", "3"])
        assertContains(try refuse(["stats", "--db", db, "--theta", "4"]), ["theta is 4", "created with theta 3"])
    }

    /// A pipeline's `theta:` opens the memory with it; `--theta` overrides it; a range error is
    /// located.
    func testPipelineThetaKey() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let db = dir.appendingPathComponent("m.sqlite").path
        let body =
            "goal: g\nplugins:\n  text: text\nsteps:\n  - id: k\n    call: text.keywords\n    args: {text: \"basil and tomato\", k: 2}\n"
        let three = try TestSupport.write("theta: 3\n" + body, to: dir, "three.yaml")
        let zero = try TestSupport.write("theta: 0\n" + body, to: dir, "zero.yaml")
        let five = try TestSupport.write("theta: 5\n" + body, to: dir, "five.yaml")
        assertContains(try refuse(["run", zero, "--db", db]), ["zero.yaml", "theta", "at least 1 (got 0)"])
        try succeed(["run", three, "--quiet", "--db", db])
        assertContains(try refuse(["run", five, "--quiet", "--db", db]), ["theta is 5", "created with theta 3", db])
        try succeed(["run", five, "--quiet", "--db", db, "--theta", "3"])
        assertContains(try refuse(["run", three, "--quiet", "--db", db, "--theta", "2"]), ["theta is 2", "created with theta 3"])
    }
}
