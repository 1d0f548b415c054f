import Foundation
import PostgresNIO
import XCTest

import PlugHost
import PlugHostCore
import PlugHostMemory
import PlugHostSQLite
import PlugHostPostgres
import PlugHostPipeline
import PlugHostTools

/// One place where a test keeps memories, of each engine kind, that can be opened again by a
/// fresh engine object (a new "process" view): a SQLite file, a fresh PostgreSQL database (the
/// test is skipped without a server, as `PostgresEngineTests` are), or one in-memory engine
/// (which lives only in its object, so "opening again" returns that object).
package final class TestStore {
    package let kind: EngineKind
    /// The SQLite path or PostgreSQL URL; nil for the in-memory engine.
    package let location: String?
    private let inMemory: InMemoryEngine?

    private init(kind: EngineKind, location: String?, inMemory: InMemoryEngine?) {
        self.kind = kind
        self.location = location
        self.inMemory = inMemory
    }

    /// A fresh, empty store of `kind` for `test` (removed or dropped when it ends).
    package static func fresh(_ kind: EngineKind, for test: XCTestCase) throws -> TestStore {
        PostgresEngine.register()
        switch kind {
        case .memory:
            return TestStore(kind: kind, location: nil, inMemory: InMemoryEngine())
        case .sqlite:
            let dir = try TestSupport.makeTempDirectory(for: test, "plughost-store")
            return TestStore(kind: kind, location: dir.appendingPathComponent("memory.sqlite").path, inMemory: nil)
        case .postgres:
            return TestStore(kind: kind, location: try PostgresTestServer.freshDatabase(for: test), inMemory: nil)
        default:
            throw MemoryError(.invalid, "no test store for the \(kind) engine")
        }
    }

    /// A new engine object over the store (the same object for the in-memory engine).
    package func open() throws -> any MemoryEngine {
        if let inMemory { return inMemory }
        return try EngineFactory.open(kind, location: location)
    }

    /// A write path over a new engine object.
    package func service(
        optimized: Bool, clock: (any WallClock)? = nil, configure: (inout MemoryConfiguration) -> Void = { _ in }
    ) throws -> MemoryService {
        var c = optimized ? MemoryConfiguration() : MemoryConfiguration.baseline
        c.backgroundClustering = false
        if let clock { c.clock = clock }
        configure(&c)
        return try MemoryService(engine: open(), configuration: c)
    }

    /// Ends a service: flushed, and closed unless the store is the in-memory engine (closing
    /// would close the one engine object the store is).
    package func finish(_ s: MemoryService) throws {
        if kind == .memory { try s.flush() } else { try s.close() }
    }

    /// The engine arguments of the `plughost` command line.
    package var cliArguments: [String] {
        ["--engine", kind.rawValue] + (location.map { ["--db", $0] } ?? [])
    }
}

/// The test PostgreSQL server of `PLUGHOST_TEST_POSTGRES_URL`, as `PostgresEngineTests` use it.
package enum PostgresTestServer {
    package static var url: String {
        get throws {
            if let url = ProcessInfo.processInfo.environment["PLUGHOST_TEST_POSTGRES_URL"], !url.isEmpty { return url }
            if ProcessInfo.processInfo.environment["PLUGHOST_REQUIRE_POSTGRES"] == "1" {
                XCTFail("PLUGHOST_REQUIRE_POSTGRES=1 but PLUGHOST_TEST_POSTGRES_URL is not set")
            }
            throw XCTSkip("no PostgreSQL: set PLUGHOST_TEST_POSTGRES_URL (eval \"$(.ci/postgres.sh start /tmp/phpg)\")")
        }
    }

    /// A fresh, empty database on the test server, dropped when `test` ends; its URL.
    package static func freshDatabase(for test: XCTestCase) throws -> String {
        var location = try PostgresLocation(url: try url)
        let admin = try PostgresConnectionPool(location)
        defer { admin.close() }
        let name = "plughost_t_\(UInt32.random(in: 0..<UInt32.max))"
        try admin.query("creating a test database", "CREATE DATABASE \(unescaped: name)")
        test.addTeardownBlock {
            if let admin = try? PostgresConnectionPool(try PostgresLocation(url: try PostgresTestServer.url)) {
                _ = try? admin.query("dropping a test database", "DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)")
                admin.close()
            }
        }
        location.database = name
        return FleetBenchmark.scratchURLString(location)
    }
}

/// Every memory an engine holds (expired ones not swept yet included), by goal then creation
/// order, through `allMemories` pages of `pageSize`.
package func allStoredMemories(_ engine: any MemoryEngine, pageSize: Int = 7) throws -> [Memory] {
    var out: [Memory] = []
    for goal in try engine.goals() {
        var cursor: MemoryCursor?
        repeat {
            let page = try engine.allMemories(goal: goal, after: cursor, limit: pageSize)
            XCTAssertLessThanOrEqual(page.memories.count, pageSize)
            out += page.memories
            cursor = page.next
        } while cursor != nil
    }
    return out
}

/// The canonical-clusters digest of replaying `ops` into a fresh in-memory engine.
package func inMemoryDigest(_ ops: [WorkloadOp]) throws -> String {
    let s = try MemoryService(engine: InMemoryEngine())
    for op in ops {
        switch op {
        case .write(let w): _ = try s.write(w)
        case .forget(let id): _ = try s.forget(id: id)
        }
    }
    try s.flush()
    return CanonicalClusters.digest(try s.clusters())
}

/// The engine kinds, for tests that run in each.
package let allEngineKinds: [EngineKind] = [.memory, .sqlite, .postgres]

/// Runs `body` for each engine kind, skipping PostgreSQL (only) when there is no server.
package func forEachKind(_ test: XCTestCase, _ body: (EngineKind) throws -> Void) throws {
    var skipped: XCTSkip?
    for kind in allEngineKinds {
        do {
            try body(kind)
        } catch let s as XCTSkip where kind == .postgres {
            skipped = s
        }
    }
    if let skipped { throw skipped }
}
