import Foundation
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostPipeline

/// Items at once (`parallel:`, `--parallel`) and steps as a graph (`needs:`): the same results
/// as a sequential run, in item order, and really at the same time.
final class ParallelRunTests: PipelineTestCase {

    /// keywords and summaries of 200 generated lines; keywords (thread-safe) takes `--parallel`.
    private func keywordsAndSummaries(in dir: URL) throws -> String {
        try write(Self.generatedLines(200), to: dir, "lines.txt")
        return try write(
            """
            name: par
            goal: par
            plugins: {text: text}
            steps:
              - id: kw
                call: text.keywords
                foreach: {lines: lines.txt}
                args: {text: "${item}", k: 4}
              - id: sum
                call: text.summarize
                foreach: {lines: lines.txt}
                args: {text: "${item}", sentences: 1}
            outputs:
              kw: ${steps.kw}
              sum: ${steps.sum}
            """, to: dir, "par.yaml")
    }

    /// `--parallel 8` gives the outputs and the clusters of `--parallel 1`, on two SQLite files;
    /// the parallel run batches edge updates (edge ops saved > 0, shown in the summary too).
    func testParallelResultsEqualSequentialResultsOnSQLite() throws {
        let dir = try makeTempDirectory()
        let path = try keywordsAndSummaries(in: dir)
        let db1 = dir.appendingPathComponent("one.sqlite").path, db8 = dir.appendingPathComponent("eight.sqlite").path
        let one = try runPlughost(["run", path, "--db", db1, "--json", "--parallel", "1"], cwd: dir)
        XCTAssertEqual(one.status, 0, one.stderr)
        let eight = try runPlughost(["run", path, "--db", db8, "--json", "--parallel", "8"], cwd: dir)
        XCTAssertEqual(eight.status, 0, eight.stderr)
        let o1 = try jsonObject(one.stdout), o8 = try jsonObject(eight.stdout)
        let out1 = try XCTUnwrap(o1["outputs"] as? [String: Any]), out8 = try XCTUnwrap(o8["outputs"] as? [String: Any])
        XCTAssertEqual((out1["kw"] as? [Any])?.count, 200)
        XCTAssertEqual((out1["sum"] as? [Any])?.count, 200)
        let j1 = try JSONSerialization.data(withJSONObject: out1, options: [.sortedKeys])
        let j8 = try JSONSerialization.data(withJSONObject: out8, options: [.sortedKeys])
        XCTAssertEqual(String(decoding: j1, as: UTF8.self), String(decoding: j8, as: UTF8.self), "outputs differ")
        // Item order: the first summary is the first line's.
        XCTAssertTrue(
            (out8["sum"] as? [String])?.first?.hasPrefix("Note 0:") ?? false, "\(String(describing: (out8["sum"] as? [Any])?.first))")

        let d1 = try clusterDigest(db1), d8 = try clusterDigest(db8)
        XCTAssertEqual(d1, d8, "cluster digests differ")
        let clusters = try XCTUnwrap(o8["clusters"] as? [Any])
        XCTAssertGreaterThan(clusters.count, 1)

        let memory8 = try XCTUnwrap(o8["memory"] as? [String: Any])
        XCTAssertEqual(memory8["writes"] as? Int, 400)
        XCTAssertGreaterThan(memory8["edge_ops_saved"] as? Int ?? 0, 0, "no edge ops saved with --parallel 8: \(memory8)")

        // The text summary says so too.
        let db3 = dir.appendingPathComponent("text.sqlite").path
        let text = try runPlughost(["run", path, "--db", db3, "--parallel", "8"], cwd: dir)
        XCTAssertEqual(text.status, 0, text.stderr)
        let saved = text.stdout.firstMatch(of: /edge ops \((\d+) saved\)/).flatMap { Int($0.1) }
        XCTAssertGreaterThan(try XCTUnwrap(saved, "no edge ops in the summary: \(text.stdout)"), 0, text.stdout)
        XCTAssertEqual(try clusterDigest(db3), d1)
    }

    /// `parallel: 8` on a step runs its items at the same time and keeps their order: sixteen
    /// sleeps whose lengths make them finish out of order.
    func testParallelItemsRunAtOnceAndKeepTheirOrder() throws {
        let dir = try makeTempDirectory()
        let ms = [300, 50, 250, 100, 200, 150, 300, 50, 250, 100, 200, 150, 300, 50, 250, 100]
        let path = try write(
            """
            goal: nap
            plugins: {sig: sig}
            inputs:
              ms: [\(ms.map(String.init).joined(separator: ", "))]
            steps:
              - id: nap
                call: sig.sleep_ms
                foreach: ${inputs.ms}
                parallel: 8
                args: ["${item}"]
            outputs:
              slept: ${steps.nap}
            """, to: dir, "nap.yaml")
        let host = try makeHost()
        defer { try? host.close() }
        let start = Date()
        let report = try runInProcess(path, host: host)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(items(try output(report, "slept")).map(\.text), ms.map(String.init), "results not in item order")
        // One after another: 3.0 s. Eight at once: about 0.6 s.
        XCTAssertLessThan(elapsed, 2.0, "items did not run at once")
        XCTAssertEqual(report.steps.first?.calls, 16)
    }

    /// A function that is not thread-safe still runs one item at a time under `--parallel`.
    func testDefaultParallelLeavesNonThreadSafeFunctionsSequential() throws {
        let dir = try makeTempDirectory()
        let path = try write(
            """
            goal: tally
            plugins: {text: text}
            inputs:
              keys: [a, b, a, c, a, b]
            steps:
              - id: count
                call: text.tally
                foreach: ${inputs.keys}
                args: ["${item}"]
            outputs:
              counts: ${steps.count}
            """, to: dir, "tally.yaml")
        let r = try runPlughost(["run", path, "--engine", "memory", "--parallel", "8", "--dry-run", "--json"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let plan = try jsonObject(r.stdout)
        let step = try XCTUnwrap((plan["steps"] as? [[String: Any]])?.first)
        XCTAssertEqual(step["parallel"] as? Int, 1, "\(step)")
        XCTAssertEqual(step["thread_safe"] as? Bool, false)
        let run = try runPlughost(["run", path, "--engine", "memory", "--parallel", "8", "--json"], cwd: dir)
        XCTAssertEqual(run.status, 0, run.stderr)
        let outputs = try XCTUnwrap(try jsonObject(run.stdout)["outputs"] as? [String: Any])
        XCTAssertEqual((outputs["counts"] as? [Any])?.map { "\($0)" }, ["1", "1", "2", "1", "3", "2"])
    }

    // MARK: steps as a graph

    private func twoSleeps(in dir: URL, needs: String) throws -> String {
        try write(
            """
            goal: dag
            plugins: {text: text, sig: sig}
            steps:
              - id: first
                call: sig.sleep_ms
                args: [400]
              - id: second
                call: sig.sleep_ms
                args: [400]
            \(needs)
              - id: words
                call: text.word_count
                args: ["one two three"]
            outputs:
              b: ${steps.second}
              w: ${steps.words}
              a: ${steps.first}
            """, to: dir, "dag.yaml")
    }

    /// Two steps that do not wait for each other run at once (`needs: []` frees a step from the
    /// earlier steps of its plugin; a text step has nothing to wait for); `needs: [first]`
    /// orders them. The outputs keep the order written either way.
    func testIndependentStepsRunAtOnceAndNeedsOrdersThem() throws {
        let dir = try makeTempDirectory()
        let host = try makeHost()
        defer { try? host.close() }

        let free = try twoSleeps(in: dir, needs: "    needs: []")
        var start = Date()
        let a = try runInProcess(free, host: host)
        let together = Date().timeIntervalSince(start)
        XCTAssertLessThan(together, 0.75, "two independent 400 ms steps took \(together) s")
        XCTAssertEqual(a.outputs.map(\.name), ["b", "w", "a"])
        XCTAssertEqual(a.outputs.map(\.value.text), ["400", "3", "400"])

        let ordered = try twoSleeps(in: dir, needs: "    needs: [first]")
        start = Date()
        let b = try runInProcess(ordered, host: host)
        let apart = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(apart, 0.79, "second did not wait for first")
        XCTAssertEqual(b.outputs.map(\.name), ["b", "w", "a"])
        XCTAssertEqual(b.outputs.map(\.value.text), ["400", "3", "400"])

        // Without needs:, the second sig step waits for the first (same plugin).
        let implicit = try twoSleeps(in: dir, needs: "")
        start = Date()
        _ = try runInProcess(implicit, host: host)
        XCTAssertGreaterThanOrEqual(
            Date().timeIntervalSince(start), 0.79, "a step without needs: did not wait for its plugin's earlier step")
    }

    /// Steps of different plugins with nothing in common start together: a text step beside a
    /// sig sleep finishes long before the sleep, and the plan puts them in one stage.
    func testStepsOfDifferentPluginsStartTogether() throws {
        let dir = try makeTempDirectory()
        let path = try write(
            """
            goal: dag
            plugins: {text: text, sig: sig}
            steps:
              - id: nap
                call: sig.sleep_ms
                args: [400]
              - id: nap2
                call: sig.sleep_ms
                args: [400]
              - id: count
                call: text.tally
                args: [ran]
            outputs:
              n: ${steps.count}
            """, to: dir, "p.yaml")
        let host = try makeHost()
        defer { try? host.close() }
        let runner = try PipelineRunner(definition: try PipelineParser.parse(path: path), host: host)
        let plan = runner.plan(journal: nil)
        XCTAssertEqual(plan["stages"] as? [[String]], [["nap", "count"], ["nap2"]])
        let events = ThreadBox<[String]>([])
        let report = try runner.run(progress: { e in
            switch e {
            case .stepStarted(_, _, let id, _, _, _): events.with { $0.append("start \(id)") }
            case .stepFinished(let id, _): events.with { $0.append("end \(id)") }
            default: break
            }
        })
        let order = events.with { $0 }
        // Sequential (file order): count would start after nap2 ended. At once: count starts
        // with nap and ends while nap sleeps.
        let countEnd = try XCTUnwrap(order.firstIndex(of: "end count"), "\(order)")
        let napEnd = try XCTUnwrap(order.firstIndex(of: "end nap"), "\(order)")
        let nap2Start = try XCTUnwrap(order.firstIndex(of: "start nap2"), "\(order)")
        XCTAssertLessThan(countEnd, napEnd, "count did not run beside nap: \(order)")
        XCTAssertGreaterThan(nap2Start, napEnd, "nap2 did not wait for nap: \(order)")
        XCTAssertEqual(report.steps.map(\.id), ["nap", "nap2", "count"], "report steps keep file order")
        XCTAssertEqual(try output(report, "n").text, "1")
    }
}
