import Dispatch
import Foundation
import PlugHostPipeline
import Synchronization

/// The progress of `plughost run` on standard error.
///
/// - `live` (a terminal): a block of lines redrawn at most 10 times a second, one per running
///   step (items done of total, rate, ETA, items at once) and one for the run (steps done,
///   elapsed, overall ETA); each finished step leaves a line with its time above the block.
/// - `plain` (`TERM=dumb`): a line when a step starts, finishes or retries an item; no escape
///   codes, nothing redrawn.
/// - `off`: nothing (not a terminal, `--quiet`, `--json`).
final class ProgressDisplay: Sendable {
    enum Mode: Sendable { case off, plain, live }

    struct Running: Sendable {
        var index: Int
        var items: Int
        var done: Int
        var failed: Int
        var parallel: Int
        var restored: Int
        var started: UInt64
    }

    struct State: Sendable {
        var running: [String: Running] = [:]
        var stepsDone = 0
        var stepCount = 0
        var pending: [String] = []
        var dirty = false
        var drawnLines = 0
        var closed = false
    }

    let mode: Mode
    private let state = Mutex(State())
    private let started = DispatchTime.now().uptimeNanoseconds
    // Dispatch sources are thread-safe; Dispatch does not mark them Sendable.
    nonisolated(unsafe) private let timer: DispatchSourceTimer?
    private let out = FileHandle.standardError

    /// The mode for this process: `live` on a terminal, `plain` when `TERM` is `dumb`.
    static func mode(enabled: Bool) -> Mode {
        guard enabled, isatty(STDERR_FILENO) == 1 else { return .off }
        return ProcessInfo.processInfo.environment["TERM"] == "dumb" ? .plain : .live
    }

    init(mode: Mode) {
        self.mode = mode
        if mode == .live {
            let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "plughost.progress"))
            t.schedule(deadline: .now() + .milliseconds(100), repeating: .milliseconds(100))
            timer = t
        } else {
            timer = nil
        }
        timer?.setEventHandler { [weak self] in self?.tick() }
        timer?.resume()
    }

    /// Takes one event (from any thread).
    func handle(_ event: PipelineProgress) {
        guard mode != .off else { return }
        var line: String?
        state.withLock { s in
            s.dirty = true
            switch event {
            case .stepStarted(let index, let count, let id, let items, let restored, let parallel):
                s.stepCount = count
                s.running[id] = Running(
                    index: index, items: items, done: restored, failed: 0, parallel: parallel, restored: restored,
                    started: DispatchTime.now().uptimeNanoseconds)
                if mode == .plain {
                    line =
                        "step \(id) started: \(items) item\(items == 1 ? "" : "s")\(restored > 0 ? ", \(restored) restored from the journal" : "")\(parallel > 1 ? ", \(parallel) at once" : "")"
                }
            case .itemFinished(let id, let done, _, let failed):
                if var r = s.running[id] {
                    r.done = max(r.done, done)
                    if failed { r.failed += 1 }
                    s.running[id] = r
                }
            case .itemRetrying(let id, let item, let attempt, let delay, let message):
                line = "step \(id), item \(item): attempt \(attempt) failed, retrying in \(Self.seconds(delay)): \(message)"
            case .stepFinished(let id, let timing):
                s.running[id] = nil
                s.stepsDone += 1
                line = Self.finishedLine(timing)
            case .stepSkipped(let id):
                s.stepsDone += 1
                line = "step \(id) skipped (its if: is false)"
            }
            if let l = line, mode == .live {
                s.pending.append(l)
                line = nil
            }
        }
        if let line { out.write(Data((line + "\n").utf8)) }
    }

    /// A line for the display (e.g. "interrupting…"), printed above the live block.
    func note(_ text: String) {
        switch mode {
        case .off: return
        case .plain: out.write(Data((text + "\n").utf8))
        case .live:
            state.withLock {
                $0.pending.append(text)
                $0.dirty = true
            }
            tick()
        }
    }

    /// Prints what is pending and removes the live block; nothing is drawn afterwards.
    func finish() {
        guard mode == .live else { return }
        timer?.cancel()
        var text = ""
        state.withLock { s in
            guard !s.closed else { return }
            s.closed = true
            text = Self.eraseBlock(s.drawnLines) + s.pending.map { $0 + "\n" }.joined()
            s.pending = []
            s.drawnLines = 0
        }
        if !text.isEmpty { out.write(Data(text.utf8)) }
    }

    private func tick() {
        let now = DispatchTime.now().uptimeNanoseconds
        var text = ""
        state.withLock { s in
            guard !s.closed else { return }
            // Redraw when something changed, and once a second for the clocks.
            guard s.dirty || (now - started) / 1_000_000 % 1000 < 100 else { return }
            s.dirty = false
            var block: [String] = []
            var eta: Double = 0
            for (id, r) in s.running.sorted(by: { $0.value.index < $1.value.index }) {
                let elapsed = Double(now - r.started) / 1e9
                let ran = r.done - r.restored
                let rate = elapsed > 0 ? Double(ran) / elapsed : 0
                let left = rate > 0 ? Double(r.items - r.done) / rate : 0
                eta = max(eta, left)
                var l = "  \(id): \(r.done)/\(r.items)"
                if r.items > 0 { l += String(format: " %3.0f%%", Double(r.done) * 100 / Double(r.items)) }
                if ran > 0 { l += String(format: "  %.0f/s  ETA %@", rate, Self.seconds(left)) }
                if r.parallel > 1 { l += "  (\(r.parallel) at once)" }
                if r.failed > 0 { l += "  \(r.failed) failed" }
                block.append(l)
            }
            block.append(
                "[\(s.stepsDone)/\(s.stepCount) steps] \(Self.seconds(Double(now - started) / 1e9)) elapsed"
                    + (eta > 0 ? ", ETA \(Self.seconds(eta))" : ""))
            text = Self.eraseBlock(s.drawnLines) + s.pending.map { $0 + "\n" }.joined() + block.joined(separator: "\n")
            s.pending = []
            s.drawnLines = block.count
        }
        if !text.isEmpty { out.write(Data(text.utf8)) }
    }

    /// Moves to the first line of a block of `lines` lines drawn last, and clears to the end.
    private static func eraseBlock(_ lines: Int) -> String {
        guard lines > 0 else { return "" }
        return "\r" + (lines > 1 ? "\u{1B}[\(lines - 1)A" : "") + "\u{1B}[J"
    }

    static func finishedLine(_ t: PipelineReport.StepTiming) -> String {
        var l = "\(t.complete && t.failed == 0 ? "done" : t.complete ? "done with failures" : "stopped") \(t.id): "
        let ran = t.calls - t.retries
        l += "\(ran) call\(ran == 1 ? "" : "s") in \(seconds(t.seconds))"
        if t.seconds > 0 && ran > 1 { l += String(format: " (%.0f/s)", Double(ran) / t.seconds) }
        if t.restored > 0 { l += ", \(t.restored) restored from the journal" }
        if t.retries > 0 { l += ", \(t.retries) retries" }
        if t.failed > 0 { l += ", \(t.failed) failed" }
        return l
    }

    static func seconds(_ s: Double) -> String {
        s < 1 ? String(format: "%.0f ms", s * 1000) : s < 100 ? String(format: "%.1f s", s) : String(format: "%.0f s", s)
    }
}
