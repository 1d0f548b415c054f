import CPlugHostABI
import Foundation
import PlugHost
import PlugHostIsolation
import PlugHostTestSupport
import XCTest

/// Recall by cluster from outside the memory layer: `PH_RECALL_RELATED` in the plugin host API
/// (both isolations, through the `recaller` fixture), `plughost memory recall --related`, and
/// the C embedding API's `"related": true`.
final class RecallRelatedHostAPITests: XCTestCase {
    /// a–b: co 2; b–c: a dependency (4 holds b and c); x–y: co 2; z alone. Ids in write order.
    private static let writes: [(String, [String], [Dependency])] = [
        ("1", ["a", "b"], []), ("2", ["x", "y"], []), ("3", ["A", "B"], []), ("4", ["c"], [Dependency("b", "c")]),
        ("5", ["x", "y"], []), ("6", ["z"], []), ("7", ["c", "q"], []),
    ]

    private func write(into memory: MemoryService, goal: String) throws {
        for (id, concepts, deps) in Self.writes {
            _ = try memory.write(MemoryWrite(goal: goal, plugin: "agent", id: id, content: "m\(id)", concepts: concepts, dependsOn: deps))
        }
    }

    func testPluginsRecallByClusterWithPHRecallRelatedInBothIsolations() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        for isolation in [Isolation.inProcess, .process] {
            var c = MemoryConfiguration()
            c.backgroundClustering = false
            c.clusteringThreshold = 1_000_000
            c.clusteringTimeout = 1e9
            let memory = try MemoryService(engine: InMemoryEngine(), configuration: c)
            let host = PluginHost(
                memory: memory, searchPath: PluginSearchPath(extra: [try TestSupport.requireBinaryDirectory()], environment: [:]),
                isolation: isolation, limits: .default, quarantine: CrashQuarantine(file: dir.appendingPathComponent("q.json").path))
            defer { try? host.close() }
            let p = try host.load(try TestSupport.fixture("recaller"))
            XCTAssertEqual(p.isolation, isolation)
            try write(into: memory, goal: "g")
            XCTAssertEqual(try memory.engine.goalsPendingClustering(), ["g"], "clustering is pending when the plugin recalls")
            func recall(_ concept: String, text: String = "", flags: UInt32) throws -> [String] {
                guard case .string(let s) = try p.call("recall", [.string(concept), .string(text), .uint(UInt64(flags))], goal: "g") else {
                    XCTFail("recall returned no string")
                    return []
                }
                return s.isEmpty ? [] : s.split(separator: "\n").map(String.init)
            }
            // The cluster of a is {a, b, c}: co(c, q) is 1, under θ.
            XCTAssertEqual(try recall("a", flags: 0), ["3", "1"], "\(isolation): flags 0 is recall by concept")
            XCTAssertEqual(try recall(" A ", flags: UInt32(PH_RECALL_RELATED)), ["7", "4", "3", "1"], "\(isolation)")
            XCTAssertEqual(
                try recall("a", flags: UInt32(PH_RECALL_RELATED)), try memory.recall(goal: "g", .related("a"), limit: 1000).map(\.memory.id)
            )
            XCTAssertEqual(try recall("y", flags: UInt32(PH_RECALL_RELATED)), ["5", "2"])
            XCTAssertEqual(try recall("nobody", flags: UInt32(PH_RECALL_RELATED)), [])
            // Later writes that tie q to a, b and c are seen by the next related recall.
            for id in ["8", "9"] {
                _ = try memory.write(MemoryWrite(goal: "g", plugin: "agent", id: id, content: "m\(id)", concepts: ["a", "b", "c", "q"]))
            }
            XCTAssertEqual(try recall("a", flags: UInt32(PH_RECALL_RELATED)), ["9", "8", "7", "4", "3", "1"], "\(isolation)")
            XCTAssertEqual(try recall("z", flags: UInt32(PH_RECALL_RELATED)), ["6"], "\(isolation)")

            let unknown = try TestSupport.expectError(CallError.self) { try recall("a", flags: 0b110) }
            XCTAssertTrue(
                unknown?.message.contains("memory_recall: unknown flag bits 0x6 in ph_recall_query.flags (known: PH_RECALL_RELATED = 0x1)")
                    ?? false, "\(String(describing: unknown))")
            let withText = try TestSupport.expectError(CallError.self) { try recall("", text: "m1", flags: UInt32(PH_RECALL_RELATED)) }
            XCTAssertTrue(
                withText?.message.contains("memory_recall: PH_RECALL_RELATED needs a concept, not text") ?? false,
                "\(String(describing: withText))")
            XCTAssertEqual(try recall("", text: "m1", flags: 0), ["1"], "\(isolation): text recall is unchanged")
        }
    }

    /// `plughost memory recall --related` on a SQLite file whose writer has not clustered yet:
    /// the read-only command computes the pending goal's clusters, so it is exact.
    func testCLIRecallRelated() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let db = dir.appendingPathComponent("memory.sqlite").path
        var c = MemoryConfiguration()
        c.backgroundClustering = false
        c.clusteringThreshold = 1_000_000
        c.clusteringTimeout = 1e9
        let writer = try MemoryService(engine: try EngineFactory.open(.sqlite, location: db), configuration: c)
        try write(into: writer, goal: "g")
        func ids(_ args: [String]) throws -> [String] {
            let r = try TestSupport.runPlughost(["memory", "recall", "--goal", "g", "--json", "--engine", "sqlite", "--db", db] + args)
            XCTAssertEqual(r.status, 0, r.description)
            let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]], r.description)
            return list.compactMap { $0["id"] as? String }
        }
        XCTAssertEqual(try writer.engine.goalsPendingClustering(), ["g"])
        XCTAssertEqual(try ids(["--concept", "a"]), ["3", "1"])
        XCTAssertEqual(try ids(["--concept", "a", "--related"]), ["7", "4", "3", "1"])
        XCTAssertEqual(try ids(["--concept", "B", "--related", "--limit", "2"]), ["7", "4"])
        XCTAssertEqual(try writer.engine.goalsPendingClustering(), ["g"], "the read-only command stored nothing")
        let text = try TestSupport.runPlughost(["memory", "recall", "--goal", "g", "--text", "m1", "--related", "--db", db])
        XCTAssertNotEqual(text.status, 0)
        XCTAssertTrue(
            text.stderr.contains("--related widens recall by concept to the concept's cluster: it needs --concept"), text.description)
        try writer.close()
    }

    /// The C embedding API: `{"concept": …, "related": true}`.
    func testCAPIRecallRelated() throws {
        let c = try EmbedCAPI.shared.get()
        let h = try c.memoryHost()
        defer { c.destroy(h) }
        for (id, concepts, deps) in Self.writes {
            let json =
                #"{"goal":"g","id":"\#(id)","content":"m\#(id)","concepts":[\#(concepts.map { "\"\($0)\"" }.joined(separator: ","))],"depends_on":[\#(deps.map { "[\"\($0.from)\",\"\($0.to)\"]" }.joined(separator: ","))]}"#
            XCTAssertEqual(c.write(h, json), id, c.lastError())
        }
        func ids(_ query: String, limit: Int32 = 0) throws -> [String] {
            let text = try XCTUnwrap(c.recall(h, goal: "g", query, limit: limit), c.lastError())
            let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
            return list.compactMap { $0["id"] as? String }
        }
        XCTAssertEqual(try ids(#"{"concept":"a"}"#), ["3", "1"])
        XCTAssertEqual(try ids(#"{"concept":"a","related":false}"#), ["3", "1"])
        XCTAssertEqual(try ids(#"{"concept":" A ","related":true}"#), ["7", "4", "3", "1"])
        XCTAssertEqual(try ids(#"{"related":true,"concept":"c"}"#, limit: 3), ["7", "4", "3"])
        func fails(_ query: String, _ fragment: String, line: UInt = #line) {
            XCTAssertNil(c.recall(h, goal: "g", query), line: line)
            XCTAssertTrue(c.lastError().contains(fragment), "\(c.lastError())", line: line)
        }
        fails(
            #"{"text":"m1","related":true}"#,
            #""related": true widens recall by concept to the concept's cluster: it needs "concept", not "text""#)
        fails(#"{"concept":"a","related":1}"#, #""related" must be true or false"#)
        fails(#"{"related":true}"#, "exactly one of the keys")
    }
}
