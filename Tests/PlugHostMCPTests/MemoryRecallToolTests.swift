import Foundation
import PlugHost
import PlugHostTestSupport
import Synchronization
import XCTest

@testable import PlugHostMCP

/// `memory_recall`'s `related` argument: recall by concept widened to the concept's cluster,
/// through `tools/call` as a client sends it; its schema in `tools/list`.
final class MemoryRecallToolTests: XCTestCase {
    func testRelatedWidensRecallToTheConceptsCluster() throws {
        let host = try TestSupport.makeHost()
        defer { try? host.close() }
        let catalog = ToolCatalog(plugins: [], memoryTools: true)
        let tool = try XCTUnwrap(catalog.tool(named: "memory_recall"))
        let schema = catalog.definition(tool, .mcp).members["inputSchema"]?.members["properties"]?.members["related"]
        guard case .string("boolean")? = schema?.members["type"], case .bool(false)? = schema?.members["default"] else {
            return XCTFail("memory_recall's related: \(String(describing: schema))")
        }

        // a–b: co 2; b–c: a dependency; x alone. Clustering stays pending (no flush).
        let memory = host.memory
        for (id, concepts, deps) in [
            ("1", ["a", "b"], [Dependency]()), ("2", ["x"], []), ("3", ["A", "B"], []), ("4", ["c"], [Dependency("b", "c")]),
        ] {
            _ = try memory.write(
                MemoryWrite(goal: "session-goal", plugin: "agent", id: id, content: "m\(id)", concepts: concepts, dependsOn: deps))
        }

        let server = MCPServer(host: host, catalog: catalog, version: "test")
        let session = MCPSession(goal: "session-goal")
        func call(_ arguments: String) throws -> [String: JSONValue] {
            let reply = Reply()
            let message = try JSONValue.parse(
                #"{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "memory_recall", "arguments": \#(arguments)}}"#)
            server.handle(message: message, session: session, emit: reply.set)
            XCTAssertTrue(server.waitForRunning(timeout: .seconds(10)))
            return try JSONValue.parse(try XCTUnwrap(reply.text)).members
        }
        func ids(_ arguments: String) throws -> [String] {
            let r = try call(arguments)
            guard case .array(let list)? = r["result"]?.members["structuredContent"]?.members["memories"] else {
                XCTFail("memory_recall(\(arguments)): \(r)")
                return []
            }
            return list.compactMap { if case .string(let s)? = $0.members["id"] { s } else { nil } }
        }
        func toolError(_ arguments: String) throws -> String {
            let r = try call(arguments)
            if case .string(let m)? = r["error"]?.members["message"] { return m }
            guard case .bool(true)? = r["result"]?.members["isError"], case .array(let content)? = r["result"]?.members["content"],
                case .string(let text)? = content.first?.members["text"]
            else {
                XCTFail("memory_recall(\(arguments)) did not fail: \(r)")
                return ""
            }
            return text
        }
        XCTAssertEqual(try ids(#"{"concept": "a"}"#), ["3", "1"])
        XCTAssertEqual(try ids(#"{"concept": "a", "related": false}"#), ["3", "1"])
        XCTAssertEqual(try ids(#"{"concept": " A ", "related": true}"#), ["4", "3", "1"])
        XCTAssertEqual(try ids(#"{"concept": "a", "related": true, "limit": 2}"#), ["4", "3"])
        XCTAssertEqual(try ids(#"{"concept": "x", "related": true}"#), ["2"])
        XCTAssertEqual(try ids(#"{"concept": "a", "related": true, "goal": "elsewhere"}"#), [])
        XCTAssertTrue(try toolError(#"{"text": "m1", "related": true}"#).contains("give concept, not text"))
        XCTAssertTrue(try toolError(#"{"concept": "a", "related": "yes"}"#).contains("argument related must be true or false"))
    }
}
