import Foundation
import Logging
import PlugHost
import Synchronization

/// What one run changes, shared by the threads running its steps and items.
final class RunState: Sendable {
    /// Step id → result, for the steps that finished.
    let results = Mutex<[String: PipelineValue]>([:])
    /// The first error of a step whose `on_error` is `stop` (or a step-level error).
    let firstError = Mutex<PipelineError?>(nil)
    /// Set with `firstError`: no new item starts anywhere.
    let stopping = Atomic<Bool>(false)
    let failures = Mutex<[PipelineReport.ItemFailure]>([])
    let timings = Mutex<[String: PipelineReport.StepTiming]>([:])

    func stop(with error: PipelineError) {
        firstError.withLock { if $0 == nil { $0 = error } }
        stopping.store(true, ordering: .releasing)
    }
}

/// How one item ended.
enum ItemOutcome: Sendable {
    case succeeded(PipelineValue, calls: Int)
    case failed(String, attempts: Int)
}

extension PipelineRunner {
    /// Call failures that may pass on another attempt.
    static let retryable: Set<CallError.Code> = [.pluginError, .timedOut, .crashed, .workerFailed, .badReturn]

    /// Stops the run started by ``run(progress:journal:)``: no new item starts, running ones
    /// finish, memory is flushed, and `run` throws an `interrupted` error carrying what ran.
    /// Safe from any thread (a signal handler's queue included).
    public func cancel() { cancelled.store(true, ordering: .releasing) }

    /// A fingerprint of what a run computes: the pipeline file, the goal and the inputs. A run
    /// journal resumes only a run with the same fingerprint.
    public var fingerprint: String {
        var text = "goal=\(goal)\n"
        if let data = FileManager.default.contents(atPath: definition.file) { text += "file=\(data.base64EncodedString())\n" }
        for name in inputs.keys.sorted() { text += "input \(name)=\(Self.joined(inputs[name]!))\n" }
        return RunJournal.hash(.value(.string(text)))
    }

    /// Items at once for `b`.
    func parallelism(_ b: BoundStep) -> Int {
        guard b.step.foreach != nil else { return 1 }
        if let n = b.step.parallel { return n }
        return b.function.threadSafe || b.function.isRemote ? max(1, defaultParallel) : 1
    }

    /// Runs the pipeline. Each step starts as soon as the steps it waits for are done (the ones
    /// its references and `needs:` name; every earlier one when it reads context or memory), so
    /// independent steps run at once; a foreach step runs up to its `parallel` items at once.
    /// Results keep item order. Each finished item is recorded in `journal`, and items the
    /// journal already holds are not run again.
    ///
    /// A failed item of a step whose `on_error` is `stop` (the default) stops the run: no new
    /// item starts, running ones finish, memory is flushed, and the error thrown names the step
    /// and the item and carries the partial report. Under `continue` or `ignore` the item is
    /// recorded in ``PipelineReport/failures``. ``cancel()`` stops the run the same way.
    public func run(progress: (@Sendable (PipelineProgress) -> Void)? = nil, journal: RunJournal? = nil) throws -> PipelineReport {
        let start = monotonicNanos()
        let before = host.memory.stats
        let state = RunState()
        let emit: @Sendable (PipelineProgress) -> Void = { progress?($0) }

        // The scheduler: start every step whose dependencies are done; wait for one to end.
        enum Status { case waiting, running, done, stopped }
        var status = [Status](repeating: .waiting, count: bound.count)
        let ended = Mutex<[(Int, Bool)]>([])
        let signal = DispatchSemaphore(value: 0)
        var running = 0
        while true {
            if !state.stopping.load(ordering: .acquiring) && !cancelled.load(ordering: .acquiring) {
                for i in bound.indices where status[i] == .waiting && dependencies[i].allSatisfy({ status[$0] == .done }) {
                    status[i] = .running
                    running += 1
                    let thread = Thread { [self] in
                        let complete = self.runStep(i, state: state, journal: journal, emit: emit)
                        ended.withLock { $0.append((i, complete)) }
                        signal.signal()
                    }
                    thread.stackSize = 8 << 20
                    thread.name = "plughost step \(bound[i].step.id)"
                    thread.start()
                }
            }
            if running == 0 { break }
            signal.wait()
            for (i, complete) in ended.withLock({ e in
                defer { e.removeAll() }
                return e
            }) {
                status[i] = complete ? .done : .stopped
                running -= 1
            }
        }

        let flushError: Error?
        do {
            try host.memory.flush()
            flushError = nil
        } catch {
            flushError = error
        }
        let results = state.results.withLock { $0 }
        let timings = state.timings.withLock { t in bound.compactMap { t[$0.step.id] } }
        let finished = Set(bound.indices.filter { status[$0] == .done }.map { bound[$0].step.id })
        let clusters = (try? host.memory.clusters(goal: goal).first?.clusters) ?? []
        var report = PipelineReport(
            name: definition.name, goal: goal, outputs: [], steps: timings, memory: host.memory.stats.since(before),
            clusters: clusters, seconds: 0, baseline: !host.memory.configuration.optimized)
        report.failures = state.failures.withLock { $0 }
        report.journal = journal?.path
        let allDone = finished.count == bound.count

        // Outputs: all of them after a whole run; after a stop, those whose steps finished.
        var outputError: Error?
        for o in definition.outputs {
            let needs = o.template.references.compactMap { r -> String? in if case .step(let s, _) = r { s } else { nil } }
            guard allDone || needs.allSatisfy(finished.contains) else { continue }
            do {
                if let r = o.template.single {
                    if case .clusters = r {
                        report.outputs.append(
                            (o.name, .list(report.clusters.map { .value(.string($0.concepts.joined(separator: ", "))) })))
                    } else {
                        report.outputs.append((o.name, try resolveReference(r, results: results, item: nil, plugin: nil)))
                    }
                } else {
                    report.outputs.append(
                        (o.name, .value(.string(try interpolate(o.template, results: results, item: nil, plugin: nil)))))
                }
            } catch {
                if allDone { outputError = outputError ?? error }
            }
        }
        report.seconds = Double(monotonicNanos() - start) / 1e9

        if var e = state.firstError.withLock({ $0 }) {
            e.report = report
            throw e
        }
        if !allDone && cancelled.load(ordering: .acquiring) {
            let ran = timings.filter(\.complete).count
            var e = PipelineError(
                .interrupted, file: definition.file,
                "interrupted: \(ran) of \(bound.count) steps finished, \(report.calls) calls made\(journal.map { "; plughost run --resume continues from \($0.path)" } ?? "")"
            )
            e.report = report
            throw e
        }
        if let flushError { throw flushError }
        if let outputError { throw outputError }
        journal?.finish()
        return report
    }

    /// Runs step `i`; returns whether all its items ran (false when the run stopped during it).
    func runStep(_ i: Int, state: RunState, journal: RunJournal?, emit: @escaping @Sendable (PipelineProgress) -> Void) -> Bool {
        let b = bound[i]
        let id = b.step.id
        let stepStart = monotonicNanos()
        let results = state.results.withLock { $0 }
        let items: [PipelineValue?]
        var skipped = 0
        do {
            // `if:` (StructuredValues.swift): once for the step, or per item when it uses ${item}.
            if let c = b.step.condition, !c.usesItem, try !conditionHolds(b, item: nil, results: results) {
                state.results.withLock { $0[id] = b.step.foreach == nil ? .value(.void) : .list([]) }
                var timing = PipelineReport.StepTiming(id: id, calls: 0, seconds: 0)
                timing.skipped = 1
                state.timings.withLock { $0[id] = timing }
                emit(.stepSkipped(id: id))
                return true
            }
            let all = try stepItems(b, results: results)
            if let c = b.step.condition, c.usesItem {
                items = try all.filter { try conditionHolds(b, item: $0, results: results) }
                skipped = all.count - items.count
            } else {
                items = all
            }
        } catch {
            state.stop(with: stepError(b, error))
            return false
        }
        let count = items.count
        // Items the journal already holds are not run again.
        var initial = [ItemOutcome?](repeating: nil, count: count)
        var restored = 0
        if let journal, journal.restorable > 0 {
            for (k, item) in items.enumerated() {
                if let v = journal.restored(step: id, index: k, item: item) {
                    initial[k] = .succeeded(v, calls: 0)
                    restored += 1
                }
            }
        }
        let outcomes = Mutex(initial)
        let workers = min(parallelism(b), max(1, count - restored))
        // A process-isolated plugin runs concurrent items in a pool of workers: enough of them.
        if workers > 1 && b.function.isRemote && b.plugin.maxWorkers < workers { b.plugin.setMaxWorkers(workers) }
        emit(.stepStarted(index: i, count: bound.count, id: id, items: count, restored: restored, parallel: workers))
        HostLog.pipeline.debug(
            "step started: \(count) item\(count == 1 ? "" : "s"), \(restored) from the journal, \(workers) at once",
            metadata: ["step": .string(id)])
        let next = Atomic<Int>(0)
        let finishedCount = Atomic<Int>(restored)
        let work: @Sendable () -> Void = { [self] in
            while !state.stopping.load(ordering: .acquiring) && !self.cancelled.load(ordering: .acquiring) {
                let k = next.add(1, ordering: .relaxed).oldValue
                guard k < count else { return }
                if outcomes.withLock({ $0[k] }) != nil { continue }
                let outcome = self.runItem(b, item: items[k], index: k, count: count, results: results, emit: emit)
                outcomes.withLock { $0[k] = outcome }
                let done = finishedCount.add(1, ordering: .relaxed).newValue
                switch outcome {
                case .succeeded(let v, _):
                    journal?.record(step: id, index: k, item: items[k], value: v)
                case .failed(let message, let attempts):
                    let text = items[k].map { Self.abbreviate($0.text) }
                    state.failures.withLock {
                        $0.append(
                            .init(
                                step: id, item: b.step.foreach == nil ? nil : k + 1, itemText: text, message: message, attempts: attempts,
                                policy: b.step.onError))
                    }
                    if b.step.onError == .stop {
                        var e = self.fail(.stepFailed, b.step.location, step: id, message)
                        if let text { e.item = "\(k + 1) of \(count) (\(text))" }
                        state.stop(with: e)
                    }
                }
                emit(.itemFinished(id: id, done: done, items: count, failed: { if case .failed = outcome { true } else { false } }()))
            }
        }
        if workers <= 1 {
            work()
        } else {
            let group = DispatchGroup()
            for w in 0..<workers {
                group.enter()
                let thread = Thread {
                    work()
                    group.leave()
                }
                thread.stackSize = 8 << 20
                thread.name = "plughost \(id) #\(w + 1)"
                thread.start()
            }
            group.wait()
        }

        let final = outcomes.withLock { $0 }
        var values: [PipelineValue] = []
        var timing = PipelineReport.StepTiming(id: id, calls: 0, seconds: 0)
        timing.restored = restored
        timing.skipped = skipped
        for o in final {
            switch o {
            case .succeeded(let v, let calls)?:
                values.append(v)
                timing.calls += calls
                timing.retries += max(0, calls - 1)
            case .failed(_, let attempts)?:
                timing.failed += 1
                timing.calls += attempts
                timing.retries += attempts - 1
            case nil:
                timing.complete = false
            }
        }
        // A stopped step's partial results are kept for the report's outputs; dependants do not start.
        state.results.withLock { $0[id] = b.step.foreach == nil ? values.first ?? .value(.void) : .list(values) }
        timing.seconds = Double(monotonicNanos() - stepStart) / 1e9
        state.timings.withLock { $0[id] = timing }
        emit(.stepFinished(id: id, timing: timing))
        HostLog.pipeline.debug(
            "step finished: \(timing.calls) calls, \(timing.failed) failed, \(timing.retries) retries in \(timing.seconds)s",
            metadata: ["step": .string(id)])
        return timing.complete && !(timing.failed > 0 && b.step.onError == .stop)
    }

    /// The items of step `b`: `[nil]` without foreach.
    func stepItems(_ b: BoundStep, results: [String: PipelineValue]) throws -> [PipelineValue?] {
        switch b.step.foreach {
        case nil: return [nil]
        case .reference(let r)?:
            // A list's items, or the elements of text holding a JSON array.
            return foreachItems(try resolveReference(r, results: results, item: nil, plugin: b.plugin))
        case .lines(let path)?:
            let text = (try? String(contentsOfFile: resolve(path), encoding: .utf8)) ?? ""
            return text.split(whereSeparator: \.isNewline).map { .value(.string(String($0))) }.filter {
                !$0.text.trimmingCharacters(in: .whitespaces).isEmpty
            }
        }
    }

    /// One item, with its retries.
    func runItem(
        _ b: BoundStep, item: PipelineValue?, index: Int, count: Int, results: [String: PipelineValue],
        emit: @Sendable (PipelineProgress) -> Void
    ) -> ItemOutcome {
        let attempts = b.step.retry?.attempts ?? 1
        var attempt = 0
        // The plugin's log lines (and the runner's) name the step, and in a foreach the item (from 1).
        var tags: Logger.Metadata = ["step": .string(b.step.id)]
        if b.step.foreach != nil { tags["item"] = .stringConvertible(index + 1) }
        while true {
            attempt += 1
            do {
                var values: [Value] = []
                for (p, a) in zip(b.function.parameters, b.arguments) {
                    values.append(try argumentValue(a, param: p, results: results, item: item, plugin: b.plugin))
                }
                let v = try LogContext.with(tags) { try b.function.call(values, goal: goal, timeout: b.step.timeout) }
                return .succeeded(.value(v), calls: attempt)
            } catch {
                let message = "\(b.step.plugin).\(b.step.function) failed: \(Self.message(error))"
                let mayPass = (error as? CallError).map { Self.retryable.contains($0.code) } ?? false
                guard mayPass, attempt < attempts, let policy = b.step.retry, !cancelled.load(ordering: .acquiring) else {
                    HostLog.pipeline.notice("item failed: \(message)", metadata: tags.merging(["attempts": "\(attempt)"]) { a, _ in a })
                    return .failed(
                        attempt > 1 ? "\(message) (attempt \(attempt) of \(attempts))" : message, attempts: attempt)
                }
                let delay = policy.delay(after: attempt)
                HostLog.pipeline.info(
                    "retrying in \(delay)s after attempt \(attempt) of \(attempts): \(message)", metadata: tags)
                emit(.itemRetrying(id: b.step.id, item: index + 1, attempt: attempt, delay: delay, message: message))
                // Wait, but not past a cancel or a stop.
                let until = monotonicNanos() + UInt64(delay * 1e9)
                while monotonicNanos() < until && !cancelled.load(ordering: .acquiring) {
                    usleep(UInt32(min(50_000, max(1, (until - monotonicNanos()) / 1000))))
                }
            }
        }
    }

    static func message(_ error: Error) -> String {
        (error as? CallError)?.message ?? (error as? PipelineError)?.message ?? "\(error)"
    }

    /// A failure of step `b` itself (its items or its `if:` could not be worked out).
    func stepError(_ b: BoundStep, _ error: Error) -> PipelineError {
        if let e = error as? PipelineError, e.step != nil { return e }
        return fail(.stepFailed, b.step.location, step: b.step.id, Self.message(error))
    }
}
