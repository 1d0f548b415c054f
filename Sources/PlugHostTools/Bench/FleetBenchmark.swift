import Foundation
import PlugHost
import PlugHostPostgres

/// `plughost bench memory --engine postgres`: acknowledged writes per second into one shared
/// PostgreSQL memory from 1, 2 and 4 host processes, optimized against eager, in one run.
///
/// Each host is a child process (`plughost bench fleet-worker`) with its own write path and
/// `writers` threads, each write acknowledged alone (as a plugin's `memory_write`); all hosts
/// write the same goals. The parent starts them together and takes the slowest host's time:
/// rate = all acknowledged writes / that time. Every configuration runs in a fresh scratch
/// database (created next to the URL's database and dropped afterwards), so the user's data is
/// never touched.
package enum FleetBenchmark {
    /// One configuration's figures.
    package struct Point: Sendable, Codable {
        /// Host processes writing at once.
        package var hosts: Int
        /// The optimized write path (false: the eager baseline).
        package var optimized: Bool
        /// Operations each host ran.
        package var writesPerHost: Int
        /// Acknowledged writes per second, all hosts together.
        package var writesPerSecond: Summary
        /// Writes per commit (optimized: group commit across a host's writers).
        package var writesPerCommit: Double
        /// Canonical cluster digest after every host flushed; checked equal to the in-memory
        /// engine's for the same writes.
        package var digest: String
    }

    /// The figures.
    package struct Result: Sendable, Codable {
        /// Writer threads in each host.
        package var writersPerHost: Int
        /// Every configuration, hosts × path.
        package var points: [Point]
        /// Optimized / eager with one host, pairs from the same round.
        package var speedupOneHost: Summary
        /// Optimized, 2 hosts / 1 host, pairs from the same round.
        package var scaling2vs1: Summary
    }

    /// What one worker reports.
    package struct WorkerReport: Sendable, Codable {
        /// Acknowledged writes.
        package var writes: Int
        /// Acknowledged forgets.
        package var forgets: Int
        /// From the start signal until the last acknowledgement.
        package var seconds: Double
        /// Commits made.
        package var commits: Int
    }

    /// The workload of host `host`: the shared seeded workload's shape, with ids of its own.
    package static func workload(host: Int, operations: Int, seed: UInt64) -> [WorkloadOp] {
        var g = WorkloadGenerator(operations: operations, concepts: max(50, operations / 10), seed: seed &+ UInt64(host))
        g.forgetRate = 0.05
        return g.generate().map { op in
            switch op {
            case .write(var w):
                w.id = w.id.map { "h\(host)-\($0)" }
                return .write(w)
            case .forget(let id):
                return .forget("h\(host)-\(id)")
            }
        }
    }

    /// A worker: writes its workload with `writers` threads, each write acknowledged alone,
    /// then flushes. `ready` is called once the engine is open; it returns when to start.
    package static func worker(
        url: String, host: Int, operations: Int, writers: Int, optimized: Bool, seed: UInt64,
        acknowledged: (@Sendable (_ kind: String, _ id: String) -> Void)? = nil, ready: () -> Void
    ) throws -> WorkerReport {
        let ops = workload(host: host, operations: operations, seed: seed)
        var config = optimized ? MemoryConfiguration() : MemoryConfiguration.baseline
        config.backgroundClustering = true
        let service = try MemoryService(engine: try PostgresEngine(url: url), configuration: config)
        defer { try? service.close() }
        ready()
        let start = monotonicNanos()
        let cursor = LockedBox(0)
        let errors = LockedBox<[String]>([])
        let group = DispatchGroup()
        // A forget must follow its write: writers take ops in order, and a forget of an id not
        // yet acknowledged waits for it.
        let done = LockedBox<Set<String>>([])
        for _ in 0..<max(1, writers) {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                while true {
                    let i = cursor.update { v -> Int in
                        defer { v += 1 }; return v
                    }
                    guard i < ops.count else { return }
                    do {
                        switch ops[i] {
                        case .write(let w):
                            _ = try service.write(w)
                            if let id = w.id {
                                // Reported before a forget of it may start, so that a reader of
                                // the acknowledgements never sees its forget first.
                                acknowledged?("w", id)
                                done.update { _ = $0.insert(id) }
                            }
                        case .forget(let id):
                            while !done.value.contains(id) { usleep(100) }
                            _ = try service.forget(id: id)
                            acknowledged?("f", id)
                        }
                    } catch {
                        errors.update { $0.append("\(error)") }
                        return
                    }
                }
            }
        }
        group.wait()
        if let e = errors.value.first { throw MemoryError(.storage, "host \(host): \(e)") }
        let seconds = Double(monotonicNanos() - start) / 1e9
        try service.flush()
        let s = service.stats
        return WorkerReport(writes: s.writes, forgets: s.forgets, seconds: seconds, commits: s.commits)
    }

    /// Runs every configuration `runs` times, round-robin so that pairs share a round.
    package static func run(
        url: String, executable: String, hostCounts: [Int] = [1, 2, 4], writesPerHost: Int = 20_000,
        eagerWritesPerHost: Int = 500, writers: Int = 32, runs: Int = 3, seed: UInt64 = 42,
        progress: (String) -> Void = { _ in }
    ) throws -> Result {
        let base = try PostgresLocation(url: url)
        let admin = try PostgresConnectionPool(base)
        defer { admin.close() }
        let scratch = "plughost_bench_\(getpid())"
        var scratchLocation = base
        scratchLocation.database = scratch
        func freshDatabase() throws {
            try admin.query("dropping the scratch database", "DROP DATABASE IF EXISTS \(unescaped: scratch) WITH (FORCE)")
            try admin.query("creating the scratch database", "CREATE DATABASE \(unescaped: scratch)")
        }
        defer { _ = try? admin.query("dropping the scratch database", "DROP DATABASE IF EXISTS \(unescaped: scratch) WITH (FORCE)") }
        let scratchURL = scratchURLString(scratchLocation)
        var rates: [String: [Double]] = [:]
        var perCommit: [String: Double] = [:]
        var digests: [String: String] = [:]
        var speedups: [Double] = [], scaling: [Double] = []
        let configs = hostCounts.flatMap { h in [(h, true), (h, false)] }
        for r in 0..<runs {
            var roundRate: [String: Double] = [:]
            for (hosts, optimized) in configs {
                let key = "\(hosts)-\(optimized)"
                progress("postgres round \(r + 1)/\(runs): \(hosts) host\(hosts == 1 ? "" : "s"), \(optimized ? "optimized" : "eager")")
                try freshDatabase()
                let n = optimized ? writesPerHost : eagerWritesPerHost
                let reports = try runHosts(
                    executable: executable, url: scratchURL, hosts: hosts, operations: n,
                    writers: writers, optimized: optimized, seed: seed)
                let total = reports.reduce(0) { $0 + $1.writes + $1.forgets }
                let slowest = reports.map(\.seconds).max() ?? 1
                let rate = Double(total) / slowest
                rates[key, default: []].append(rate)
                roundRate[key] = rate
                perCommit[key] = Double(total) / Double(max(1, reports.reduce(0) { $0 + $1.commits }))
                if r == 0 {
                    // Every host flushed; the shared clusters must equal the in-memory engine's
                    // for the same writes.
                    let shared = try MemoryService(engine: PostgresEngine(url: scratchURL))
                    try shared.flush()
                    let got = CanonicalClusters.digest(try shared.clusters())
                    try shared.close()
                    let expected = try inMemoryDigest(hosts: hosts, operations: n, seed: seed)
                    guard got == expected else {
                        throw MemoryError(
                            .storage,
                            "\(hosts) hosts, \(optimized ? "optimized" : "eager"): shared clusters \(got.prefix(16)) differ from the in-memory engine's \(expected.prefix(16))"
                        )
                    }
                    digests[key] = got
                }
            }
            if let o = roundRate["1-true"], let e = roundRate["1-false"] { speedups.append(o / e) }
            if let two = roundRate["2-true"], let one = roundRate["1-true"] { scaling.append(two / one) }
        }
        let points = configs.map { (hosts, optimized) in
            let key = "\(hosts)-\(optimized)"
            return Point(
                hosts: hosts, optimized: optimized, writesPerHost: optimized ? writesPerHost : eagerWritesPerHost,
                writesPerSecond: Summary(rates[key] ?? []), writesPerCommit: perCommit[key] ?? 0, digest: digests[key] ?? "")
        }
        return Result(writersPerHost: writers, points: points, speedupOneHost: Summary(speedups), scaling2vs1: Summary(scaling))
    }

    /// The digest of the in-memory engine fed every host's workload.
    static func inMemoryDigest(hosts: Int, operations: Int, seed: UInt64) throws -> String {
        let service = try MemoryService(engine: InMemoryEngine())
        for h in 0..<hosts {
            for op in workload(host: h, operations: operations, seed: seed) {
                switch op {
                case .write(let w): _ = try service.write(w)
                case .forget(let id): _ = try service.forget(id: id)
                }
            }
        }
        try service.flush()
        return CanonicalClusters.digest(try service.clusters())
    }

    package static func scratchURLString(_ l: PostgresLocation) -> String {
        var c = URLComponents()
        c.scheme = "postgres"
        c.user = l.user
        c.password = l.password
        c.host = l.host
        c.port = l.port
        c.path = "/" + l.database
        c.queryItems = [URLQueryItem(name: "sslmode", value: l.tls.rawValue)]
        return c.string ?? ""
    }

    /// Reads one line (without its newline) from `pipe`, byte by byte so that nothing after it
    /// is consumed; nil at end of file.
    static func readLine(_ pipe: Pipe) -> String? {
        var bytes: [UInt8] = []
        while true {
            guard let b = pipe.fileHandleForReading.readData(ofLength: 1).first else {
                return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
            }
            if b == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(b)
        }
    }

    /// Starts `hosts` workers, waits until every one is ready, starts them together and
    /// collects their reports.
    static func runHosts(
        executable: String, url: String, hosts: Int, operations: Int, writers: Int, optimized: Bool, seed: UInt64
    ) throws -> [WorkerReport] {
        var procs: [(Process, Pipe, Pipe)] = []
        for h in 0..<hosts {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments =
                [
                    "bench", "fleet-worker", "--db", url, "--host", "\(h)", "--ops", "\(operations)",
                    "--writers", "\(writers)", "--seed", "\(seed)",
                ] + (optimized ? [] : ["--baseline"])
            let input = Pipe(), output = Pipe()
            p.standardInput = input
            p.standardOutput = output
            try p.run()
            procs.append((p, input, output))
        }
        for (i, (p, _, out)) in procs.enumerated() where readLine(out) != "ready" {
            for (q, _, _) in procs { q.terminate() }
            p.waitUntilExit()
            throw MemoryError(.storage, "fleet worker \(i) did not start (exit \(p.terminationStatus))")
        }
        for (_, input, _) in procs { input.fileHandleForWriting.write(Data("go\n".utf8)) }
        var reports: [WorkerReport] = []
        for (i, (p, _, out)) in procs.enumerated() {
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            guard p.terminationStatus == 0, let data = text.split(separator: "\n").last.map({ Data($0.utf8) }),
                let r = try? JSONDecoder().decode(WorkerReport.self, from: data)
            else {
                throw MemoryError(.storage, "fleet worker \(i) failed (exit \(p.terminationStatus)): \(text)")
            }
            reports.append(r)
        }
        return reports
    }
}
