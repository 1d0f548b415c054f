import Foundation
import XCTest

import PlugHostIsolation
import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostMemory
@testable import PlugHostPipeline

/// `retry:`, `timeout:` and `on_error:` with the `flaky` fixture plugin, which fails, stalls or
/// crashes a given number of times (counted in its goal context, so the count survives a new
/// worker) and then works.
final class ResilienceTests: PipelineTestCase {

    /// A pipeline calling `flaky.FUNCTION(key, n, "ok")` once, with `extra` step lines.
    private func flakyPipeline(
        in dir: URL, function: String, n: Int, isolation: String = "in-process", extra: String, name: String = "flaky.yaml"
    ) throws -> String {
        try write(
            """
            goal: flaky
            plugins:
              flaky: {path: \(try flakyPlugin()), isolation: \(isolation)}
            steps:
              - id: call
                call: flaky.\(function)
                args: {key: \(function), n: \(n), value: ok}
            \(extra)
            outputs:
              result: ${steps.call}
            """, to: dir, name)
    }

    /// A host over the in-memory engine with a crash-quarantine store of its own, so that the
    /// crashes these tests cause do not quarantine the fixture for other tests and processes.
    private func makeFlakyHost() throws -> PluginHost {
        let dir = try makeTempDirectory()
        let memory = try MemoryService(engine: InMemoryEngine())
        var searchPath = PluginSearchPath()
        if let plugins = Self.pluginDirectory { searchPath = PluginSearchPath(extra: [plugins]) }
        return PluginHost(
            memory: memory, searchPath: searchPath, isolation: nil, limits: .default,
            quarantine: CrashQuarantine(file: dir.appendingPathComponent("quarantine.json").path))
    }

    private func run(_ path: String) throws -> (PipelineReport, PluginHost) {
        let host = try makeFlakyHost()
        addTeardownBlock { try? host.close() }
        return (try runInProcess(path, host: host), host)
    }

    func testFailuresWithinTheRetriesSucceed() throws {
        let dir = try makeTempDirectory()
        let path = try flakyPipeline(in: dir, function: "fail_times", n: 2, extra: "    retry: {attempts: 3, backoff: 0}")
        let (report, host) = try run(path)
        XCTAssertEqual(try output(report, "result").text, "ok")
        let step = try XCTUnwrap(report.steps.first)
        XCTAssertEqual(step.retries, 2)
        XCTAssertEqual(step.calls, 3)
        XCTAssertEqual(step.failed, 0)
        XCTAssertTrue(report.failures.isEmpty)
        XCTAssertEqual(try host.memory.contextValue(goal: "flaky", plugin: "flaky", key: "fail_times"), "3")
    }

    func testMoreFailuresThanAttemptsStopTheRun() throws {
        let dir = try makeTempDirectory()
        let path = try flakyPipeline(in: dir, function: "fail_times", n: 2, extra: "    retry: {attempts: 2, backoff: 0}")
        let host = try makeFlakyHost()
        defer { try? host.close() }
        XCTAssertThrowsError(try runInProcess(path, host: host)) { error in
            guard let e = error as? PipelineError else { return XCTFail("not a PipelineError: \(error)") }
            XCTAssertEqual(e.code, .stepFailed)
            XCTAssertEqual(e.step, "call")
            XCTAssertTrue(e.message.contains("flaky: failure 2 of 2"), e.message)
            XCTAssertTrue(e.message.contains("attempt 2 of 2"), e.message)
            XCTAssertEqual(e.report?.failures.first?.attempts, 2)
            XCTAssertEqual(e.report?.steps.first?.retries, 1)
        }
        XCTAssertEqual(try host.memory.contextValue(goal: "flaky", plugin: "flaky", key: "fail_times"), "2", "two attempts, no third")
    }

    /// Without `retry:` a failure is not retried.
    func testNoRetryByDefault() throws {
        let dir = try makeTempDirectory()
        let path = try flakyPipeline(in: dir, function: "fail_times", n: 1, extra: "")
        let host = try makeFlakyHost()
        defer { try? host.close() }
        XCTAssertThrowsError(try runInProcess(path, host: host)) { error in
            XCTAssertTrue((error as? PipelineError)?.message.contains("flaky: failure 1 of 1") ?? false, "\(error)")
        }
        XCTAssertEqual(try host.memory.contextValue(goal: "flaky", plugin: "flaky", key: "fail_times"), "1")
    }

    /// Waits between attempts: `backoff`, doubled each time, at most `max_backoff`.
    func testBackoffIsHonoured() throws {
        let dir = try makeTempDirectory()
        // 0.3 s then 0.6 s.
        let doubling = try flakyPipeline(
            in: dir, function: "fail_times", n: 2, extra: "    retry: {attempts: 3, backoff: 0.3}", name: "doubling.yaml")
        var start = Date()
        let (report, _) = try run(doubling)
        var elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(report.steps.first?.retries, 2)
        XCTAssertGreaterThanOrEqual(elapsed, 0.88, "waited less than 0.3 + 0.6 s")
        XCTAssertLessThan(elapsed, 5)

        // 0.2, then 0.4 capped to 0.25, then 0.25 (uncapped: 0.2 + 0.4 + 0.8 = 1.4 s).
        let capped = try flakyPipeline(
            in: dir, function: "fail_times", n: 3, extra: "    retry: {attempts: 4, backoff: 0.2, max_backoff: 0.25}", name: "capped.yaml")
        start = Date()
        let (r2, _) = try run(capped)
        elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(r2.steps.first?.retries, 3)
        XCTAssertGreaterThanOrEqual(elapsed, 0.69, "waited less than 0.2 + 0.25 + 0.25 s")
        XCTAssertLessThan(elapsed, 1.3, "max_backoff was not honoured")
    }

    /// A call that stalls past `timeout:` (process isolation) is killed and tried again; the
    /// third attempt returns.
    func testTimeoutsAreRetriedInProcessIsolation() throws {
        let dir = try makeTempDirectory()
        let path = try flakyPipeline(
            in: dir, function: "stall_times", n: 2, isolation: "process",
            extra: "    timeout: 1\n    retry: {attempts: 3, backoff: 0}")
        let start = Date()
        let (report, host) = try run(path)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(try output(report, "result").text, "ok")
        XCTAssertEqual(report.steps.first?.retries, 2)
        XCTAssertGreaterThanOrEqual(elapsed, 1.9, "two 1 s timeouts")
        XCTAssertLessThan(elapsed, 30, "a stalled call was not stopped at its timeout")
        XCTAssertEqual(try host.memory.contextValue(goal: "flaky", plugin: "flaky", key: "stall_times"), "3")
    }

    /// Without enough attempts, the timeout is the error.
    func testTimeoutWithoutRetryFails() throws {
        let dir = try makeTempDirectory()
        let path = try flakyPipeline(in: dir, function: "stall_times", n: 1, isolation: "process", extra: "    timeout: 0.5")
        let host = try makeFlakyHost()
        defer { try? host.close() }
        XCTAssertThrowsError(try runInProcess(path, host: host)) { error in
            guard let e = error as? PipelineError else { return XCTFail("not a PipelineError: \(error)") }
            XCTAssertEqual(e.step, "call")
            XCTAssertTrue(e.message.contains("timed out"), e.message)
        }
    }

    /// A worker that crashes is replaced and the call tried again.
    func testCrashesAreRetriedInProcessIsolation() throws {
        let dir = try makeTempDirectory()
        let path = try flakyPipeline(
            in: dir, function: "crash_times", n: 2, isolation: "process", extra: "    retry: {attempts: 3, backoff: 0}")
        let (report, _) = try run(path)
        XCTAssertEqual(try output(report, "result").text, "ok")
        XCTAssertEqual(report.steps.first?.retries, 2)

        let once = try flakyPipeline(
            in: dir, function: "crash_times", n: 1, isolation: "process", extra: "", name: "once.yaml")
        let host = try makeFlakyHost()
        defer { try? host.close() }
        XCTAssertThrowsError(try runInProcess(once, host: host)) { error in
            XCTAssertTrue((error as? PipelineError)?.message.contains("crashed") ?? false, "\(error)")
        }
    }

    /// A function that is not thread-safe may run items at once in process isolation (a pool
    /// of workers); results keep item order.
    func testParallelOfANonThreadSafeFunctionInProcessIsolation() throws {
        let dir = try makeTempDirectory()
        let path = try write(
            """
            goal: pool
            plugins:
              flaky: {path: \(try flakyPlugin()), isolation: process}
            inputs:
              keys: [a, b, c, d, e, f]
            steps:
              - id: call
                call: flaky.fail_times
                foreach: ${inputs.keys}
                parallel: 3
                args: {key: "${item}", n: 0, value: "value ${item}"}
            outputs:
              results: ${steps.call}
            """, to: dir, "pool.yaml")
        let host = try makeFlakyHost()
        defer { try? host.close() }
        let runner = try PipelineRunner(definition: try PipelineParser.parse(path: path), host: host)
        XCTAssertEqual((runner.plan(journal: nil)["steps"] as? [[String: Any]])?.first?["parallel"] as? Int, 3)
        let report = try runner.run()
        XCTAssertEqual(items(try output(report, "results")).map(\.text), ["a", "b", "c", "d", "e", "f"].map { "value \($0)" })

        // In-process, the same step is refused.
        let inProcess = try write(
            try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "isolation: process", with: "isolation: in-process"),
            to: dir, "in-process.yaml")
        XCTAssertThrowsError(try PipelineRunner(definition: try PipelineParser.parse(path: inProcess), host: try makeFlakyHost())) {
            XCTAssertEqual(($0 as? PipelineError)?.field, "parallel", "\($0)")
        }
    }

    // MARK: on_error

    /// Three items: the first fails once, the second five times, the third twice; three
    /// attempts each. A later step uses the results.
    private func onErrorPipeline(in dir: URL, policy: String) throws -> String {
        try write(
            """
            goal: flaky-\(policy)
            plugins:
              flaky: \(try flakyPlugin())
              text: text
            inputs:
              ns: [1, 5, 2]
            steps:
              - id: call
                call: flaky.fail_times
                foreach: ${inputs.ns}
                args: {key: "k${item}", n: "${item}", value: "v${item}"}
                retry: {attempts: 3, backoff: 0}
                on_error: \(policy)
              - id: after
                call: text.word_count
                args: ["${steps.call}"]
            outputs:
              results: ${steps.call}
              words: ${steps.after}
            """, to: dir, "\(policy).yaml")
    }

    func testOnErrorContinueRecordsTheFailureAndFailsTheRunAtTheEnd() throws {
        let dir = try makeTempDirectory()
        let path = try onErrorPipeline(in: dir, policy: "continue")
        let (report, _) = try run(path)
        XCTAssertEqual(items(try output(report, "results")).map(\.text), ["v1", "v2"], "the failed item is left out")
        XCTAssertEqual(try output(report, "words").text, "2", "the next step ran on the other items")
        XCTAssertFalse(report.succeeded)
        XCTAssertEqual(report.failures.count, 1)
        let f = try XCTUnwrap(report.failures.first)
        XCTAssertEqual(f.step, "call")
        XCTAssertEqual(f.item, 2)
        XCTAssertEqual(f.itemText, "5")
        XCTAssertEqual(f.attempts, 3)
        XCTAssertEqual(f.policy, .continue)
        XCTAssertTrue(f.message.contains("flaky: failure 3 of 5"), f.message)
        let step = try XCTUnwrap(report.steps.first)
        XCTAssertEqual(step.failed, 1)
        XCTAssertEqual(step.calls, 2 + 3 + 3)
        XCTAssertEqual(step.retries, 1 + 2 + 2)

        // The CLI: outputs and the failure, exit code 1.
        let r = try runPlughost(["run", path, "--engine", "memory"], cwd: dir)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("results:\n  - v1\n  - v2\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("1 item failed:"), r.stdout)
        XCTAssertTrue(r.stdout.contains("step call, item 2 (5): flaky.fail_times failed: flaky: failure 3 of 5"), r.stdout)

        let j = try runPlughost(["run", path, "--engine", "memory", "--json"], cwd: dir)
        XCTAssertEqual(j.status, 1, j.stderr)
        let obj = try jsonObject(j.stdout)
        XCTAssertEqual(obj["succeeded"] as? Bool, false)
        let failures = try XCTUnwrap(obj["failures"] as? [[String: Any]])
        XCTAssertEqual(failures.count, 1)
        XCTAssertEqual(failures.first?["step"] as? String, "call")
        XCTAssertEqual(failures.first?["item"] as? Int, 2)
        XCTAssertEqual(failures.first?["attempts"] as? Int, 3)
        XCTAssertEqual(failures.first?["on_error"] as? String, "continue")
        XCTAssertTrue((failures.first?["message"] as? String)?.contains("flaky: failure 3 of 5") ?? false, "\(failures)")
    }

    func testOnErrorIgnoreRecordsTheFailureAndSucceeds() throws {
        let dir = try makeTempDirectory()
        let path = try onErrorPipeline(in: dir, policy: "ignore")
        let (report, _) = try run(path)
        XCTAssertEqual(items(try output(report, "results")).map(\.text), ["v1", "v2"])
        XCTAssertTrue(report.succeeded)
        XCTAssertEqual(report.failures.map(\.policy), [.ignore])

        let r = try runPlughost(["run", path, "--engine", "memory"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("1 item failed (on_error: ignore):"), r.stdout)
    }

    /// `on_error: stop` (the default) with a foreach: the error names the item.
    func testOnErrorStopNamesTheItem() throws {
        let dir = try makeTempDirectory()
        let path = try onErrorPipeline(in: dir, policy: "stop")
        let host = try makeFlakyHost()
        defer { try? host.close() }
        XCTAssertThrowsError(try runInProcess(path, host: host)) { error in
            guard let e = error as? PipelineError else { return XCTFail("not a PipelineError: \(error)") }
            XCTAssertEqual(e.step, "call")
            XCTAssertTrue(e.item?.hasPrefix("2 of 3") ?? false, "\(String(describing: e.item))")
            XCTAssertNil(e.report?.outputs.first { $0.name == "words" }, "the next step did not run")
        }
        XCTAssertNil(try host.memory.contextValue(goal: "flaky-stop", plugin: "flaky", key: "k2"), "item 3 did not start")
    }
}
