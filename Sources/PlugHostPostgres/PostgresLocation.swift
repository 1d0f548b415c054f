import Foundation
import PlugHostCore
import PlugHostMemory

/// Where a PostgreSQL memory lives, parsed from a URL:
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require&connect_timeout=SECONDS&pool=N]`.
///
/// `postgresql://` is accepted too. The password may also come from `PGPASSWORD`. Percent-escapes
/// in the user, password and database are decoded.
public struct PostgresLocation: Sendable, Hashable {
    /// TLS use, as libpq's `sslmode` names it.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it.
        case prefer
        /// TLS or fail.
        case require
    }

    /// Server host name or address.
    public var host: String
    /// Server port (5432 unless the URL says otherwise).
    public var port: Int
    /// Role to connect as.
    public var user: String
    /// Password, or nil.
    public var password: String?
    /// Database name.
    public var database: String
    /// TLS use (`disable` unless `sslmode` says otherwise: the fleet's server is usually on a
    /// private network or loopback; say `require` across untrusted networks).
    public var tls: TLSMode
    /// Bound on establishing one connection, in seconds.
    public var connectTimeout: Double
    /// Most connections this host opens.
    public var poolSize: Int

    /// The URL without its password, for messages.
    public var redacted: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// Parses `url`; throws a ``MemoryError`` naming the part that is wrong.
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func bad(_ why: String) -> MemoryError {
            MemoryError(
                .invalid,
                "PostgreSQL URL \(Self.redact(url).debugDescription): \(why); expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        guard let c = URLComponents(string: url), let scheme = c.scheme else { throw bad("not a URL") }
        guard scheme == "postgres" || scheme == "postgresql" else { throw bad("the scheme is \(scheme.debugDescription), not postgres") }
        guard let host = c.host, !host.isEmpty else { throw bad("no host") }
        guard let user = c.percentEncodedUser.flatMap({ $0.removingPercentEncoding }), !user.isEmpty else { throw bad("no user") }
        let db = String(c.percentEncodedPath.drop(while: { $0 == "/" })).removingPercentEncoding ?? ""
        guard !db.isEmpty, !db.contains("/") else { throw bad("no database name after the host") }
        self.host = host
        port = c.port ?? 5432
        guard (1...65535).contains(port) else { throw bad("port \(port) is out of range") }
        self.user = user
        password = c.percentEncodedPassword.flatMap { $0.removingPercentEncoding } ?? environment["PGPASSWORD"]
        database = db
        tls = .disable
        connectTimeout = 5
        poolSize = 8
        for item in c.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let v = item.value, let mode = TLSMode(rawValue: v) else {
                    throw bad("sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                tls = mode
            case "connect_timeout":
                guard let v = item.value.flatMap(Double.init), v > 0, v <= 600 else {
                    throw bad("connect_timeout must be seconds in (0, 600]")
                }
                connectTimeout = v
            case "pool":
                guard let v = item.value.flatMap(Int.init), (1...256).contains(v) else { throw bad("pool must be 1…256 connections") }
                poolSize = v
            default:
                throw bad("unknown parameter \(item.name.debugDescription) (known: sslmode, connect_timeout, pool)")
            }
        }
    }

    /// `url` with any password replaced by `***`.
    public static func redact(_ url: String) -> String {
        guard var c = URLComponents(string: url), c.password != nil else { return url }
        c.password = "***"
        return c.string ?? url
    }
}
