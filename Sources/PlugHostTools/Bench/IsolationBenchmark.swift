import CPlugHostRuntime
import Foundation
import PlugHost

/// The isolated paths of `plughost bench calls`, measured side by side in one run with their
/// floors: a raw pipe ping-pong between two processes, and the same calls in-process.
package enum IsolationBenchmark {
    /// Medians over rounds, nanoseconds per call (worker start in milliseconds).
    package struct Result: Sendable {
        package var pipePingPong: Summary
        /// The same with both sides spinning on non-blocking reads (what the channel does).
        package var pipePingPongSpinning: Summary
        package var isolatedScalar: Summary
        package var ratioIsolatedToPipe: Summary
        package var inProcessWrite: Summary
        package var isolatedWrite: Summary
        package var isolatedWriteExtra: Summary
        package var workerStartMs: Summary
        package var callsPerRound: Int
        package var rounds: Int
    }

    /// Measures `sig.add3` and `sig.remember` loaded in both isolations of two hosts over
    /// in-memory engines.
    package static func run(searchPath: PluginSearchPath, callsPerRound: Int = 20_000, rounds: Int = 9, starts: Int = 15) throws -> Result {
        let inHost = PluginHost(memory: try MemoryService(engine: InMemoryEngine()), searchPath: searchPath, isolation: .inProcess)
        let isoHost = PluginHost(memory: try MemoryService(engine: InMemoryEngine()), searchPath: searchPath, isolation: .process)
        defer {
            try? inHost.close()
            try? isoHost.close()
        }
        let sigIn = try inHost.load("sig"), sigIso = try isoHost.load("sig")
        guard let add3 = sigIso.function(named: "add3"), let rememberIn = sigIn.function(named: "remember"),
            let rememberIso = sigIso.function(named: "remember")
        else { throw CallError(.unknownFunction, function: "sig", "the sig plugin lacks add3 or remember") }
        let add3Call = try add3.prepare([.int(1), .int(2), .int(3)])
        let text: [Value] = [.string("isolation benchmark memory")]
        let n = callsPerRound
        func perCall(_ body: () throws -> Void) rethrows -> Double {
            let start = monotonicNanos()
            try body()
            return Double(monotonicNanos() - start) / Double(n)
        }
        let writes = max(n / 10, 100)
        func perWrite(_ f: PluginFunction) throws -> Double {
            let start = monotonicNanos()
            for i in 0..<writes { _ = try f.call([.string("isolation benchmark memory \(i)")], goal: "bench") }
            return Double(monotonicNanos() - start) / Double(writes)
        }
        // Warm-up.
        _ = ph_rt_pipe_pingpong_ns(Int32(n / 10), 0)
        _ = ph_rt_pipe_pingpong_ns(Int32(n / 10), 1)
        _ = try perCall { for _ in 0..<(n / 10) { _ = try add3Call.invoke() } }
        _ = try rememberIn.call(text, goal: "bench")
        _ = try rememberIso.call(text, goal: "bench")
        var spinning: [Double] = []
        var pipe: [Double] = [], scalar: [Double] = [], ratio: [Double] = [], wIn: [Double] = [], wIso: [Double] = [], extra: [Double] = []
        for _ in 0..<rounds {
            let p = ph_rt_pipe_pingpong_ns(Int32(n), 0)
            spinning.append(ph_rt_pipe_pingpong_ns(Int32(n), 1))
            let s = try perCall { for _ in 0..<n { _ = try add3Call.invoke() } }
            pipe.append(p)
            scalar.append(s)
            ratio.append(s / p)
            let a = try perWrite(rememberIn)
            let b = try perWrite(rememberIso)
            wIn.append(a)
            wIso.append(b)
            extra.append(b - a)
        }
        var startMs: [Double] = []
        for _ in 0..<starts {
            let host = PluginHost(memory: try MemoryService(engine: InMemoryEngine()), searchPath: searchPath, isolation: .process)
            let t0 = monotonicNanos()
            _ = try host.load("sig")
            startMs.append(Double(monotonicNanos() - t0) / 1e6)
            try host.close()
        }
        return Result(
            pipePingPong: Summary(pipe), pipePingPongSpinning: Summary(spinning), isolatedScalar: Summary(scalar),
            ratioIsolatedToPipe: Summary(ratio),
            inProcessWrite: Summary(wIn), isolatedWrite: Summary(wIso), isolatedWriteExtra: Summary(extra),
            workerStartMs: Summary(startMs), callsPerRound: n, rounds: rounds)
    }
}
