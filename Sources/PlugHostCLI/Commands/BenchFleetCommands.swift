import ArgumentParser
import Foundation
import PlugHost
import PlugHostPipeline
import PlugHostTools

/// `plughost bench fleet-worker`: one host of `bench memory --engine postgres` (internal).
struct BenchFleetWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet-worker", abstract: "One host of the PostgreSQL fleet benchmark (started by bench memory).",
        shouldDisplay: false)

    @Option(help: "PostgreSQL URL.") var db: String
    @Option(help: "This host's number (its ids are h<N>-…).") var host: Int
    @Option(help: "Operations to run.") var ops: Int
    @Option(help: "Writer threads.") var writers: Int = 32
    @Option(help: "Workload seed.") var seed: UInt64 = 42
    @Flag(help: "Eager baseline.") var baseline = false
    @Flag(name: .customLong("print-acks"), help: "Print `w ID` / `f ID` for each acknowledged operation (for kill tests).") var printAcks =
        false

    @OptionGroup var log: LogOptions

    func run() throws {
        var acknowledged: (@Sendable (String, String) -> Void)?
        if printAcks {
            acknowledged = { (kind: String, id: String) in
                FileHandle.standardOutput.write(Data("\(kind) \(id)\n".utf8))
            }
        }
        let report = try FleetBenchmark.worker(
            url: db, host: host, operations: ops, writers: writers, optimized: !baseline, seed: seed,
            acknowledged: acknowledged
        ) {
            FileHandle.standardOutput.write(Data("ready\n".utf8))
            _ = readLine()
        }
        print(String(decoding: try JSONEncoder().encode(report), as: UTF8.self))
    }
}

extension BenchMemoryCommand {
    /// `bench memory --engine postgres`.
    func runFleet() throws {
        guard let url = db ?? ProcessInfo.processInfo.environment["PLUGHOST_DB"] else {
            throw ValidationError(
                "--engine postgres needs --db postgres://USER@HOST:PORT/DB (or PLUGHOST_DB); the benchmark works in a scratch database it creates and drops there"
            )
        }
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        let r = try FleetBenchmark.run(
            url: url, executable: Bundle.main.executablePath ?? exe, writesPerHost: fleetWrites,
            writers: writers, runs: runs, seed: seed
        ) { msg in
            if !json { FileHandle.standardError.write(Data("… \(msg)\n".utf8)) }
        }
        if json {
            print(String(decoding: try JSONEncoder().encode(r), as: UTF8.self))
            return
        }
        print(
            "engine: postgres, \(r.writersPerHost) writer threads per host, each write acknowledged after its commit; medians of \(runs) runs"
        )
        print("hosts | path      |  writes/host | writes/s (all hosts)           | writes/commit | digest")
        for p in r.points {
            print(
                String(
                    format: "%5d | %@ | %12d | %9.0f (min %7.0f, max %7.0f) | %13.1f | %@",
                    p.hosts, (p.optimized ? "optimized" : "eager    ") as NSString, p.writesPerHost,
                    p.writesPerSecond.median, p.writesPerSecond.min, p.writesPerSecond.max, p.writesPerCommit,
                    String(p.digest.prefix(16)) as NSString))
        }
        print(
            String(
                format: "optimized / eager, 1 host: %.1f× (min %.1f, max %.1f)", r.speedupOneHost.median, r.speedupOneHost.min,
                r.speedupOneHost.max))
        print(
            String(
                format: "optimized, 2 hosts / 1 host: %.2f× (min %.2f, max %.2f); targets: ≥ 50k writes/s from one host, 2 hosts > 1",
                r.scaling2vs1.median, r.scaling2vs1.min, r.scaling2vs1.max))
    }
}
