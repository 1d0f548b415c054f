import Foundation
import PlugHost
import PlugHostTestSupport
import Synchronization
import XCTest

@testable import PlugHostMCP

/// The dispatcher in process, over the bundled `sig` plugin: what each request emits, in order.
final class MCPServerTests: XCTestCase {
    /// What the requests of a test emitted, by request id.
    final class Outputs: Sendable {
        enum Kind: Equatable { case notification, response, cancelled }
        private let byID = Mutex<[String: [Kind]]>([:])

        func emit(_ id: String) -> @Sendable (MCPServer.Output) -> Void {
            { [self] output in
                let kind: Kind =
                    switch output {
                    case .notification: .notification
                    case .response: .response
                    case .cancelled: .cancelled
                    }
                byID.withLock { $0[id, default: []].append(kind) }
            }
        }

        var all: [String: [Kind]] { byID.withLock { $0 } }
    }

    private func server(progressInterval: Duration = .milliseconds(250)) throws -> (MCPServer, PluginHost) {
        let host = try TestSupport.makeHost(loading: ["sig"])
        let catalog = ToolCatalog(plugins: host.loadedPlugins, memoryTools: false)
        return (MCPServer(host: host, catalog: catalog, version: "test", progressInterval: progressInterval), host)
    }

    private static func sleepCall(id: Int, ms: Int, progress: Bool) throws -> JSONValue {
        let meta = progress ? #", "_meta": {"progressToken": "p\#(id)"}"# : ""
        return try JSONValue.parse(
            #"{"jsonrpc": "2.0", "id": \#(id), "method": "tools/call", "params": {"name": "sig_sleep_ms", "arguments": {"ms": \#(ms)}\#(meta)}}"#
        )
    }

    /// A progress tick that races the response goes out before it or not at all. With a 1 ms
    /// interval the timer fires while each call returns, many times over.
    func testNoProgressAfterTheResponse() throws {
        let (server, host) = try server(progressInterval: .milliseconds(1))
        defer { try? host.close() }
        let session = MCPSession(goal: "g")
        let outputs = Outputs()
        for round in 0..<50 {
            for i in 0..<8 {
                let id = round * 8 + i
                server.handle(
                    message: try Self.sleepCall(id: id, ms: 1 + i % 3, progress: true), session: session, emit: outputs.emit("\(id)"))
            }
            XCTAssertTrue(server.drainForTests())
        }
        Thread.sleep(forTimeInterval: 0.05)  // a stray tick would land by now
        let all = outputs.all
        XCTAssertEqual(all.count, 400)
        var ticks = 0
        for (id, kinds) in all {
            XCTAssertEqual(kinds.last, .response, "request \(id): \(kinds)")
            XCTAssertEqual(kinds.filter { $0 == .response }.count, 1, "request \(id): \(kinds)")
            ticks += kinds.count - 1
        }
        XCTAssertGreaterThan(ticks, 0, "no progress at all: the test did not race anything")
        XCTAssertEqual(session.runningCount, 0)
    }

    /// Cancelled and finished requests leave nothing in the session; a cancellation of an
    /// unknown or finished id is ignored; a cancelled request ends with `.cancelled` only.
    func testCancellationEndsTheRequestOnceAndLeavesNothingBehind() throws {
        let (server, host) = try server()
        defer { try? host.close() }
        let session = MCPSession(goal: "g")
        let outputs = Outputs()
        func cancel(_ id: Int) throws {
            server.handle(
                message: try JSONValue.parse(#"{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": \#(id)}}"#),
                session: session, emit: outputs.emit("cancel"))
        }
        try cancel(1)  // unknown: ignored
        server.handle(message: try Self.sleepCall(id: 1, ms: 300, progress: true), session: session, emit: outputs.emit("1"))
        server.handle(message: try Self.sleepCall(id: 2, ms: 1, progress: false), session: session, emit: outputs.emit("2"))
        XCTAssertEqual(session.runningCount, 2)
        try cancel(1)
        try cancel(1)  // twice: ignored
        XCTAssertEqual(outputs.all["1"], [.cancelled])
        XCTAssertTrue(server.drainForTests())
        try cancel(2)  // finished: ignored
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(outputs.all["1"], [.cancelled], "the cancelled call answered when it ended")
        XCTAssertEqual(outputs.all["2"], [.response])
        XCTAssertNil(outputs.all["cancel"], "a notification was answered")
        XCTAssertEqual(session.runningCount, 0)
    }

    /// A request id that is running cannot be used again until it ends.
    func testARunningRequestIDIsNotReused() throws {
        let (server, host) = try server()
        defer { try? host.close() }
        let session = MCPSession(goal: "g")
        let outputs = Outputs()
        server.handle(message: try Self.sleepCall(id: 5, ms: 200, progress: false), session: session, emit: outputs.emit("first"))
        server.handle(message: try Self.sleepCall(id: 5, ms: 1, progress: false), session: session, emit: outputs.emit("second"))
        XCTAssertEqual(outputs.all["second"], [.response])
        XCTAssertTrue(server.drainForTests())
        XCTAssertEqual(outputs.all["first"], [.response])
        server.handle(message: try Self.sleepCall(id: 5, ms: 1, progress: false), session: session, emit: outputs.emit("third"))
        XCTAssertTrue(server.drainForTests())
        XCTAssertEqual(outputs.all["third"], [.response])
    }
}

extension MCPServer {
    /// Waits for the running requests without closing the server (tests only).
    fileprivate func drainForTests() -> Bool { waitForRunning(timeout: .seconds(10)) }
}
