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

// Issue 13, item 4: one JSON reader, one writer, one memory-write schema, one stats schema.

final class JSONLayerTests: XCTestCase {
    // MARK: The reader

    func testReaderIsStrict() {
        for bad in [
            "", " ", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1", "1e", "[1] x", "{\"a\" 1}", "{a:1}",
            "\"\\x\"", "\"\\ud800\"", "\"\\udc00x\"", "\"\\ud800\\u0041\"", "\"a\u{1}\"", "nul", "tru", "[", "\"abc",
        ] {
            XCTAssertThrowsError(try JSONReader.parse(bad), bad.debugDescription)
        }
        XCTAssertThrowsError(try JSONReader.parse(String(repeating: "[", count: 100_000)))
        XCTAssertNoThrow(try JSONReader.parse(String(repeating: "[", count: 500) + String(repeating: "]", count: 500)))
        do {
            _ = try JSONReader.parse("{\"a\":1} x")
            XCTFail("trailing text")
        } catch {
            XCTAssertEqual("\(error)", "unexpected text after the JSON value at byte 9")
        }
    }

    func testReaderKeepsNumbersAsWrittenAndIntegersExact() throws {
        guard case .array(let items) = try JSONReader.parse("[1, 1.0, -0, 1e3, 18446744073709551615, 99999999999999999999999, 1.50]") else {
            return XCTFail()
        }
        let literals = items.compactMap { v -> String? in if case .number(let n) = v { n.literal } else { nil } }
        XCTAssertEqual(literals, ["1", "1.0", "-0", "1e3", "18446744073709551615", "99999999999999999999999", "1.50"])
        XCTAssertEqual(items[0].integer, .signed(1))
        XCTAssertEqual(items[1].integer, .signed(1), "1.0 is integral in value (argument conversion takes it)")
        if case .number(let n) = items[1] { XCTAssertFalse(n.isIntegerLiteral, "but not an integer literal (ttl_ms refuses it)") }
        XCTAssertEqual(items[4].integer, .unsigned(UInt64.max))
        XCTAssertNil(items[5].integer, "beyond 64 bits: not an integer, and the literal is kept")
        XCTAssertEqual(
            JSONNumber(literal: "-0").double.sign, .plus, "an integer literal's double is its integer's (as JSONSerialization reads it)")
        XCTAssertEqual(try JSONReader.parse("\"\\ud83d\\ude00\\/\"").text, "\"😀/\"")
    }

    func testDuplicateKeysAreRefusedByTheSchemasNamingThePath() throws {
        guard case .object(let members) = try JSONReader.parse(#"{"a":1,"b":{},"a":2}"#) else { return XCTFail() }
        XCTAssertEqual(members.map(\.key), ["a", "b", "a"], "the reader keeps members as written")
        XCTAssertThrowsError(try JSONValue.uniqueMembers(members, at: "metadata")) {
            XCTAssertEqual("\($0)", "the key \"a\" appears twice in metadata")
        }
        XCTAssertThrowsError(try MemoryWriteJSON.decode(#"{"goal":"g","goal":"h"}"#)) {
            XCTAssertEqual("\($0)", "the key \"goal\" appears twice")
        }
    }

    // MARK: The writer

    func testOneEscapingRuleSlashNotEscaped() {
        XCTAssertEqual(JSONWriter.quoted("a/b"), #""a/b""#, "/ is never escaped")
        XCTAssertEqual(JSONWriter.quoted("\"\\\n\r\t\u{8}\u{C}\u{0}\u{1F}\u{7F}é😀"), "\"\\\"\\\\\\n\\r\\t\\b\\f\\u0000\\u001f\u{7F}é😀\"")
        var w = JSONWriter()
        w.beginObject()
        w.key("k/"); w.strings(["x", "y/z"])
        w.key("n"); w.null()
        w.key("d"); w.double(.nan)
        w.key("o"); w.beginObject(); w.endObject()
        w.endObject()
        XCTAssertEqual(w.text, #"{"k/":["x","y/z"],"n":null,"d":null,"o":{}}"#)
        // The SQLite JSON columns escape the same way.
        var bytes: [UInt8] = []
        SQLiteJSON.encode(["a/b", "\u{8}"], into: &bytes)
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), #"["a/b","\b"]"#)
    }

    func testCanonicalClustersBytesAreUnchanged() {
        let goals = [GoalClusters(goal: "g/\"1\"", clusters: [Cluster(id: "a\u{1}", concepts: ["a\u{1}", "b\tc", "é/"])])]
        XCTAssertEqual(
            CanonicalClusters.json(goals), #"[{"goal":"g/\"1\"","clusters":[{"id":"a\u0001","concepts":["a\u0001","b\tc","é/"]}]}]"#)
        XCTAssertEqual(CanonicalClusters.json([]), "[]")
    }

    func testCanonicalForm() throws {
        let text = #"{ "b" : 1.50, "Z":[true, null, "x/y\u00e9\n"], "a":{"y":2,"x":-0}, "é":1, "b":2E+3 }"#
        let canonical = #"{"Z":[true,null,"x/yé\n"],"a":{"x":-0,"y":2},"b":2E+3,"é":1}"#
        XCTAssertEqual(try JSONValue.canonicalObject(text), canonical)
        XCTAssertEqual(try JSONValue.canonicalObject(canonical), canonical)
        XCTAssertThrowsError(try JSONValue.canonicalObject("[1]"))
        XCTAssertEqual(
            JSONValue.canonicalText(of: ["b": 1, "a": ["x/y", NSNull(), true, 1.5]] as [String: Any]), #"{"a":["x/y",null,true,1.5],"b":1}"#
        )
    }

    // MARK: The memory-write schema: the disagreements of the two copies it replaced

    private func workloadWrite(_ json: String) throws -> MemoryWrite {
        let line = "{\"op\":\"write\"," + json.dropFirst()
        guard case .write(let w) = try WorkloadOp.parse(Substring(line)) else { throw JSONSchemaError("not a write") }
        return w
    }

    func testDefaultPluginIsAgentEverywhere() throws {
        XCTAssertEqual(MemoryWriteJSON.defaultPlugin, "agent")
        XCTAssertEqual(try MemoryWriteJSON.decode(#"{"goal":"g"}"#).plugin, "agent", "C API")
        XCTAssertEqual(try workloadWrite(#"{"goal":"g"}"#).plugin, "agent", "workload replay (was \"replay\")")
        XCTAssertEqual(try workloadWrite(#"{"goal":"g","plugin":"p"}"#).plugin, "p")
    }

    func testMetadataIsCanonicalAndSlashUnescapedEverywhere() throws {
        let json = #"{"goal":"g","metadata":{"url":"http://x/y","b":1.50,"a":[1]}}"#
        let canonical = #"{"a":[1],"b":1.50,"url":"http://x/y"}"#
        XCTAssertEqual(try MemoryWriteJSON.decode(json).metadata, canonical, "C API (was JSONSerialization's form)")
        XCTAssertEqual(try workloadWrite(json).metadata, canonical, "workload replay")
        XCTAssertNil(try MemoryWriteJSON.decode(#"{"goal":"g","metadata":null}"#).metadata)
        XCTAssertThrowsError(try MemoryWriteJSON.decode(#"{"goal":"g","metadata":"{}"}"#)) {
            XCTAssertTrue("\($0)".contains("\"metadata\" must be a JSON object, not the string"), "\($0)")
        }
    }

    func testTTLMustBeANonNegativeIntegerEverywhere() throws {
        for bad in ["true", "1.5", "1.0", "1e3", "-1", "\"5\"", "null", "9223372036854775808"] {
            let json = #"{"goal":"g","ttl_ms":\#(bad)}"#
            XCTAssertThrowsError(try MemoryWriteJSON.decode(json), "C API: \(bad)") {
                XCTAssertTrue("\($0)".contains("\"ttl_ms\" must be a non-negative integer"), "\($0)")
            }
            XCTAssertThrowsError(try workloadWrite(json), "workload: \(bad)")
        }
        XCTAssertEqual(try MemoryWriteJSON.decode(#"{"goal":"g","ttl_ms":60000}"#).ttlMilliseconds, 60000)
        XCTAssertEqual(try MemoryWriteJSON.decode(#"{"goal":"g","ttl_ms":-0}"#).ttlMilliseconds, 0)
    }

    func testMemoryWriteErrorsNameTheField() {
        func refuse(_ json: String, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try MemoryWriteJSON.decode(json), line: line) {
                XCTAssertTrue("\($0)".contains(fragment), "\($0) lacks \(fragment)", line: line)
            }
        }
        refuse(#"{}"#, "missing \"goal\"")
        refuse(#"{"goal":1}"#, "\"goal\" must be a string, not the number 1")
        refuse(#"{"goal":"g","plugin":null}"#, "\"plugin\" must be a string, not null")
        refuse(#"{"goal":"g","concepts":["a",2]}"#, "concepts[1] is the number 2")
        refuse(#"{"goal":"g","depends_on":[["a"]]}"#, "depends_on[0] must be a pair of strings")
        refuse(#"{"goal":"g","colour":"red"}"#, "unknown key \"colour\"")
        refuse(#"[]"#, "not a JSON object")
    }

    func testMemoryWriteRoundTrip() throws {
        let w = MemoryWrite(
            goal: "g/1", plugin: "p", id: "m\"1", content: "a\nb", concepts: ["x", "y/z"],
            dependsOn: [Dependency("x", "y/z")], metadata: #"{"a":"b/c"}"#, ttlMilliseconds: 5)
        let text = MemoryWriteJSON.encode(w)
        XCTAssertEqual(
            text,
            #"{"id":"m\"1","goal":"g/1","plugin":"p","content":"a\nb","concepts":["x","y/z"],"depends_on":[["x","y/z"]],"metadata":{"a":"b/c"},"ttl_ms":5}"#
        )
        XCTAssertEqual(try MemoryWriteJSON.decode(text), w)
        XCTAssertEqual(WorkloadOp.write(w).jsonLine, "{\"op\":\"write\"," + text.dropFirst())
    }

    // MARK: The stats schema

    func testStatsSchemaNames() throws {
        var m = MemoryStats()
        m.writes = 3
        m.forgets = 1
        m.clusteringRuns = 2
        let stats = RuntimeStats(
            engine: "sqlite", databasePath: "/tmp/a/b.sqlite", plugins: ["x"], invocations: 4, failedInvocations: 1, memory: m)
        let text = StatsJSON.runtime(stats)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(o.keys.sorted(), ["database_path", "engine", "failed_invocations", "invocations", "memory", "plugins"])
        XCTAssertTrue(text.contains(#""database_path":"/tmp/a/b.sqlite""#), text)
        let memory = try XCTUnwrap(o["memory"] as? [String: Any])
        XCTAssertEqual(memory["clustering_runs"] as? Int, 2)
        XCTAssertEqual(memory["clustering_runs_saved"] as? Int, 2)
        for key in [
            "writes", "forgets", "rejected", "commits", "batches", "cache_hits", "cache_misses", "cache_evictions",
            "cache_expirations", "cache_hit_ratio", "edge_ops", "edge_ops_saved", "edge_ops_unbatched",
            "cache_nanos", "batch_nanos", "engine_nanos", "clustering_nanos",
        ] {
            XCTAssertNotNil(memory[key], "no \(key)")
        }
        XCTAssertNil(memory["clusterings"])
        // The CLI's dictionaries carry the same object.
        XCTAssertEqual(JSONValue.canonicalText(of: StatsJSON.memory(m)), try JSONReader.parse(text).object("memory")?.canonical)
    }

    func testCLIStatsJSONUsesTheSameNames() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let r = try TestSupport.runPlughost(["stats", "--json", "--engine", "memory"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.description)
        let zeros = StoredCounters.names.map { #""\#($0)":0"# }.joined(separator: ",")
        XCTAssertEqual(
            r.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
            #"{"counters":{\#(zeros)},"database_path":null,"database_size_bytes":null,"engine":"memory","goals":[]}"#)
        let db = dir.appendingPathComponent("m.sqlite").path
        let w = try TestSupport.write(#"{"op":"write","goal":"g","concepts":["a","b"]}"# + "\n", to: dir, "w.jsonl")
        XCTAssertEqual(try TestSupport.runPlughost(["memory", "replay", w, "--db", db], cwd: dir).status, 0)
        let s = try TestSupport.runPlughost(["stats", "--json", "--db", db], cwd: dir)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as? [String: Any], s.description)
        XCTAssertEqual(o["engine"] as? String, "sqlite")
        XCTAssertEqual(o["database_path"] as? String, db, "was \"location\"")
        XCTAssertNil(o["location"])
        XCTAssertEqual((o["goals"] as? [[String: Any]])?.first?["concepts"] as? Int, 2)
        XCTAssertEqual((o["goals"] as? [[String: Any]])?.first?["memories"] as? Int, 1)
        XCTAssertEqual((o["counters"] as? [String: Any])?["writes"] as? Int, 1, "stored by the replay process")
        XCTAssertGreaterThan(o["database_size_bytes"] as? Int ?? 0, 0)
    }
}

private extension JSONValue {
    func object(_ key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }
}
