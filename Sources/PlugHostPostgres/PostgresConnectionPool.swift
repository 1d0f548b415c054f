import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization
import PlugHostCore
import PlugHostMemory

/// A small blocking pool of PostgreSQL connections for the synchronous ``MemoryEngine``
/// protocol: callers are the write path's committing threads and readers, never an event loop
/// or Swift's cooperative pool, so waiting on a future is fine there.
///
/// postgres-nio's own `PostgresClient` pool is async-only and, when the server cannot be
/// reached or refuses the login, keeps retrying while the query waits (postgres-nio issues
/// #489, #565): a host must instead fail with a clear error within a bound. This pool connects
/// with a timeout, reports the server's reason, drops connections the server closed (a restart)
/// and opens fresh ones on the next lease, so the host reconnects by itself.
package final class PostgresConnectionPool: Sendable {
    let location: PostgresLocation
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    private let idle = Mutex<[PostgresConnection]>([])
    private let slots: DispatchSemaphore
    private let nextID = Atomic<Int>(1)
    private let closed = Atomic<Bool>(false)

    package init(_ location: PostgresLocation) throws {
        self.location = location
        var config: PostgresConnection.Configuration
        switch location.tls {
        case .disable:
            config = .init(
                host: location.host, port: location.port, username: location.user,
                password: location.password, database: location.database, tls: .disable)
        case .prefer, .require:
            let context: NIOSSLContext
            do {
                context = try NIOSSLContext(configuration: .makeClientConfiguration())
            } catch {
                throw MemoryError(.storage, "PostgreSQL \(location.redacted): cannot set up TLS: \(error)")
            }
            config = .init(
                host: location.host, port: location.port, username: location.user,
                password: location.password, database: location.database,
                tls: location.tls == .require ? .require(context) : .prefer(context))
        }
        config.options.connectTimeout = .milliseconds(Int64(location.connectTimeout * 1000))
        configuration = config
        logger = Logger(label: "plughost.postgres") { _ in SwiftLogNoOpLogHandler() }
        slots = DispatchSemaphore(value: location.poolSize)
    }

    /// Runs `body` with a connection of the pool. A connection that failed is closed rather
    /// than returned to the pool. With `retries`, a deadlock or serialization failure between
    /// hosts (the server rolled the transaction back, so nothing of it happened) runs `body`
    /// again, up to that many times.
    func withConnection<T>(_ what: @autoclosure () -> String, retries: Int = 0, _ body: (PostgresConnection) throws -> T) throws -> T {
        guard !closed.load(ordering: .relaxed) else { throw MemoryError(.closed, "the memory engine is closed") }
        slots.wait()
        defer { slots.signal() }
        var attempt = 0
        while true {
            let connection = try lease(what())
            do {
                let result = try body(connection)
                giveBack(connection)
                return result
            } catch {
                if connection.isClosed || Self.isConnectionFailure(error) {
                    _ = try? connection.close().wait()
                } else {
                    giveBack(connection)
                }
                let state = Self.sqlState(error)
                guard attempt < retries, state == "40P01" || state == "40001" else { throw describe(error, what()) }
                attempt += 1
                usleep(UInt32.random(in: 100...2000) * UInt32(attempt))
            }
        }
    }

    /// Runs one statement on a pooled connection and returns all of its rows.
    @discardableResult
    package func query(_ what: @autoclosure () -> String, retries: Int = 0, _ q: PostgresQuery) throws -> PostgresQueryResult {
        try withConnection(what(), retries: retries) { try run($0, q) }
    }

    /// Runs `body` between BEGIN (with `mode`, e.g. "ISOLATION LEVEL REPEATABLE READ") and
    /// COMMIT on `connection`; rolls back when it throws.
    func transaction<T>(_ connection: PostgresConnection, _ mode: String = "", _ body: () throws -> T) throws -> T {
        try run(connection, PostgresQuery(unsafeSQL: "BEGIN \(mode)"))
        do {
            let result = try body()
            try run(connection, "COMMIT")
            return result
        } catch {
            _ = try? run(connection, "ROLLBACK")
            throw error
        }
    }

    /// Runs one statement on `connection` and returns all of its rows.
    @discardableResult
    func run(_ connection: PostgresConnection, _ q: PostgresQuery) throws -> PostgresQueryResult {
        try connection.query(q, logger: logger).wait()
    }

    private func lease(_ what: String) throws -> PostgresConnection {
        while let c = idle.withLock({ $0.popLast() }) {
            if !c.isClosed { return c }
            _ = try? c.close().wait()
        }
        do {
            let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
            return try PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger).wait()
        } catch {
            throw MemoryError(.storage, "\(what): cannot connect to PostgreSQL at \(location.redacted): \(Self.reason(error))")
        }
    }

    private func giveBack(_ c: PostgresConnection) {
        guard !closed.load(ordering: .relaxed), !c.isClosed else {
            _ = try? c.close().wait()
            return
        }
        idle.withLock { $0.append(c) }
    }

    /// Closes every idle connection; later leases fail.
    package func close() {
        closed.store(true, ordering: .relaxed)
        let all = idle.withLock { pool -> [PostgresConnection] in
            defer { pool.removeAll() }; return pool
        }
        for c in all { _ = try? c.close().wait() }
    }

    private func describe(_ error: any Error, _ what: String) -> any Error {
        if error is MemoryError || error is DuplicateContentError { return error }
        return MemoryError(.storage, "\(what) failed on PostgreSQL at \(location.redacted): \(Self.reason(error))")
    }

    /// The SQLSTATE of a server error, or nil.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// Whether `error` means the connection is unusable (closed, reset, timed out).
    static func isConnectionFailure(_ error: any Error) -> Bool {
        guard let e = error as? PSQLError else { return !(error is MemoryError || error is DuplicateContentError) }
        switch e.code {
        case .server:
            // Class 08 (connection exception) and 57P01–57P03 (admin shutdown, crash, cannot connect now).
            let state = e.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P")
        default:
            return true
        }
    }

    /// A readable reason: the server's message with its SQLSTATE, or the network error.
    static func reason(_ error: any Error) -> String {
        guard let e = error as? PSQLError else { return "\(error)" }
        if let info = e.serverInfo, let message = info[.message] {
            let state = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            let detail = info[.detail].map { ": \($0)" } ?? ""
            return message + detail + state
        }
        if let underlying = e.underlying { return "\(e.code): \(underlying)" }
        return "\(e.code)"
    }
}
