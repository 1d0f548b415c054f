import Foundation
import Synchronization

/// Threads for work that blocks (plugin calls, memory reads): each job gets a thread of its own
/// at once, up to `limit` jobs at a time (more wait for a thread to free up). Idle threads wait
/// `keepAlive` for the next job, then end.
///
/// Dispatch's global queues are not that: they run about one blocked job per core and add
/// threads only slowly, so on 2 cores 8 calls that each sleep 300 ms took 1.2 s (4 rounds) and
/// 32 took 3.3 s. A concurrent queue of one's own has the same width limit.
final class CallPool: Sendable {
    typealias Job = @Sendable () -> Void

    private struct State {
        var jobs: [Job] = []
        var head = 0
        var threads = 0
        /// Threads waiting for a job that no `run` has claimed yet.
        var idle = 0

        mutating func take() -> Job? {
            guard head < jobs.count else { return nil }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: jobs.count <= 256)
                head = 0
            }
            return job
        }
    }

    /// The most jobs that run at once.
    let limit: Int
    private let keepAlive: Duration
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)

    init(limit: Int = 64, keepAlive: Duration = .seconds(10)) {
        precondition(limit > 0, "a pool needs at least one thread")
        self.limit = limit
        self.keepAlive = keepAlive
    }

    /// Runs `job` on a thread of the pool: an idle one, a new one, or (with `limit` busy) the
    /// first to free up.
    func run(_ job: @escaping Job) {
        let (signal, spawn) = state.withLock { s -> (Bool, Bool) in
            s.jobs.append(job)
            if s.idle > 0 {
                s.idle -= 1
                return (true, false)
            }
            if s.threads < limit {
                s.threads += 1
                return (false, true)
            }
            return (false, false)
        }
        if signal { wake.signal() }
        if spawn {
            let thread = Thread { [self] in work() }
            thread.name = "plughost-mcp-call"
            thread.start()
        }
    }

    private func work() {
        while true {
            let job = state.withLock { s -> Job? in
                if let job = s.take() { return job }
                s.idle += 1
                return nil
            }
            if let job {
                job()
                continue
            }
            // Wait for a `run` to claim this thread. The semaphore's signals are interchangeable:
            // a thread that times out may retire only while some waiting thread is unclaimed
            // (`idle` > 0), so every signal still finds a waiter.
            while wake.wait(timeout: .now() + keepAlive.dispatchInterval) == .timedOut {
                let retire = state.withLock { s -> Bool in
                    guard s.idle > 0 else { return false }
                    s.idle -= 1
                    s.threads -= 1
                    return true
                }
                if retire { return }
            }
        }
    }
}
