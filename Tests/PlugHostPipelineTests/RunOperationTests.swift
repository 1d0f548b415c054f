import Foundation
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPipeline

/// Operating `plughost run`: `--dry-run`, the `--json` failure object and exit codes, the
/// progress display on a terminal and with `TERM=dumb`, and SIGINT.
final class RunOperationTests: PipelineTestCase {

    /// Three steps: a keywords foreach over an input, a sig step beside it, and a summary of
    /// both; the tally counts runs.
    private func planPipeline(in dir: URL) throws -> String {
        try write(
            """
            name: plan
            goal: plan
            plugins: {text: text, sig: sig}
            inputs:
              notes: [basil and tomato, espresso and crema, bees and honey]
            steps:
              - id: count
                call: text.tally
                args: [runs]
              - id: kw
                call: text.keywords
                foreach: ${inputs.notes}
                parallel: 4
                retry: {attempts: 2, backoff: 0.5}
                on_error: continue
                args: {text: "${item}", k: 2}
              - id: nap
                call: sig.sleep_ms
                args: [10]
              - id: digest
                call: text.summarize
                args: {text: "${steps.kw}", sentences: 1}
                needs: [nap]
            outputs:
              digest: ${steps.digest}
            """, to: dir, "plan.yaml")
    }

    func testDryRunPrintsThePlanAndRunsNothing() throws {
        let dir = try makeTempDirectory()
        let path = try planPipeline(in: dir)
        let db = dir.appendingPathComponent("m.sqlite").path
        let r = try runPlughost(["run", path, "--db", db, "--dry-run"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = r.stdout
        XCTAssertTrue(text.hasPrefix("\(path): valid; pipeline plan, goal plan, 4 steps"), text)
        XCTAssertTrue(
            text.contains(
                "kw      text.keywords, foreach ${inputs.notes} (3 items), 4 at once, 2 attempts, on_error continue, after count"), text)
        XCTAssertTrue(text.contains("nap     sig.sleep_ms, starts at once"), text)
        XCTAssertTrue(text.contains("digest  text.summarize, after kw, nap"), text)
        XCTAssertTrue(text.contains("stages (steps in one stage may run at once):\n  1. count, nap\n  2. kw\n  3. digest"), text)
        XCTAssertTrue(text.contains("journal: \(dir.appendingPathComponent("runs").path)/plan-"), text)
        XCTAssertTrue(text.contains("nothing was run (--dry-run)"), text)
        try assertNothingRan(db)

        let j = try runPlughost(["run", path, "--db", db, "--dry-run", "--json"], cwd: dir)
        XCTAssertEqual(j.status, 0, j.stderr)
        let plan = try jsonObject(j.stdout)
        XCTAssertEqual(plan["valid"] as? Bool, true)
        XCTAssertEqual(plan["name"] as? String, "plan")
        XCTAssertEqual(plan["stages"] as? [[String]], [["count", "nap"], ["kw"], ["digest"]])
        XCTAssertEqual(plan["outputs"] as? [String], ["digest"])
        XCTAssertTrue((plan["journal"] as? String)?.hasSuffix(".journal") ?? false, "\(String(describing: plan["journal"]))")
        let steps = try XCTUnwrap(plan["steps"] as? [[String: Any]])
        XCTAssertEqual(steps.compactMap { $0["id"] as? String }, ["count", "kw", "nap", "digest"])
        let kw = steps[1]
        XCTAssertEqual(kw["call"] as? String, "text.keywords")
        XCTAssertEqual(kw["items"] as? Int, 3)
        XCTAssertEqual(kw["parallel"] as? Int, 4)
        XCTAssertEqual(kw["after"] as? [String], ["count"])
        XCTAssertEqual(kw["on_error"] as? String, "continue")
        XCTAssertEqual((kw["retry"] as? [String: Any])?["attempts"] as? Int, 2)
        XCTAssertEqual(steps[3]["after"] as? [String], ["kw", "nap"], "needs: frees it from the earlier text steps")
        try assertNothingRan(db)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: dir.appendingPathComponent("runs").path), "a dry run wrote a journal")
    }

    /// The memory at `db` has no trace of a run: no tally, no memories.
    private func assertNothingRan(_ db: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard FileManager.default.fileExists(atPath: db) else { return }
        let memory = try MemoryService(engine: EngineFactory.open(.sqlite, location: db))
        defer { try? memory.close() }
        XCTAssertNil(try memory.contextValue(goal: "plan", plugin: "text", key: "runs"), "the tally ran", file: file, line: line)
        for concept in ["basil", "espresso", "bees"] {
            XCTAssertEqual(try memory.recall(goal: "plan", .concept(concept)).count, 0, "memories of \(concept)", file: file, line: line)
        }
    }

    /// `--parallel` out of range is a usage error naming the range.
    func testParallelFlagOutOfRange() throws {
        let dir = try makeTempDirectory()
        let path = try planPipeline(in: dir)
        for n in ["0", "257"] {
            let r = try runPlughost(["run", path, "--engine", "memory", "--parallel", n], cwd: dir)
            XCTAssertNotEqual(r.status, 0, "--parallel \(n)")
            XCTAssertTrue(r.stderr.contains("--parallel must be from 1 to 256 (got \(n))"), r.stderr)
        }
    }

    /// A dry run of an invalid pipeline is the validation error.
    func testDryRunOfAnInvalidPipelineFails() throws {
        let dir = try makeTempDirectory()
        let path = try write(
            """
            goal: g
            plugins: {text: text}
            steps:
              - id: a
                call: text.tally
                args: [x]
                needs: [b]
            """, to: dir, "bad.yaml")
        let r = try runPlughost(["run", path, "--engine", "memory", "--dry-run"], cwd: dir)
        XCTAssertEqual(r.status, 2, "an invalid pipeline file is invalid input")
        XCTAssertTrue(r.stderr.contains("\(path):7:"), r.stderr)
        XCTAssertTrue(r.stderr.contains("unknown step b"), r.stderr)
    }

    /// `--json` on failure: `{"error": {...}, "exit_code": 1, "report": partial}` on stdout.
    func testJSONFailureObject() throws {
        let dir = try makeTempDirectory()
        let path = try write(
            """
            goal: fails
            plugins: {text: text}
            inputs:
              ks: [2, 0, 3]
            steps:
              - id: count
                call: text.tally
                args: [runs]
              - id: kw
                call: text.keywords
                foreach: ${inputs.ks}
                args: {text: "Espresso espresso coffee grinder number ${item}", k: "${item}"}
              - id: after
                call: text.tally
                args: [after]
            outputs:
              count: ${steps.count}
              kw: ${steps.kw}
            """, to: dir, "fail.yaml")
        let r = try runPlughost(["run", path, "--engine", "memory", "--json"], cwd: dir)
        XCTAssertEqual(r.status, 1, r.stderr)
        let obj = try jsonObject(r.stdout)
        XCTAssertEqual(obj["exit_code"] as? Int, 1)
        let error = try XCTUnwrap(obj["error"] as? [String: Any])
        XCTAssertEqual(error["code"] as? String, "stepFailed")
        XCTAssertEqual(error["step"] as? String, "kw")
        XCTAssertTrue((error["item"] as? String)?.hasPrefix("2 of 3") ?? false, "\(error)")
        XCTAssertEqual(error["file"] as? String, path)
        XCTAssertEqual(error["line"] as? Int, 9)
        XCTAssertTrue((error["message"] as? String)?.contains("argument k is 0, below its minimum 1") ?? false, "\(error)")
        let report = try XCTUnwrap(obj["report"] as? [String: Any])
        let outputs = try XCTUnwrap(report["outputs"] as? [String: Any])
        XCTAssertEqual(outputs.keys.sorted(), ["count"], "only the outputs of finished steps")
        XCTAssertEqual(outputs["count"] as? Int, 1)
        let steps = try XCTUnwrap(report["steps"] as? [[String: Any]])
        XCTAssertEqual(steps.compactMap { $0["id"] as? String }, ["count", "kw"])
        XCTAssertEqual(steps[1]["complete"] as? Bool, false)
        XCTAssertFalse(r.stdout.contains("\u{1B}"))

        // A validation error: exit 2 (invalid input) and the object, without a report.
        let bad = try write("goal: g\nsteps: 5\n", to: dir, "bad.yaml")
        let v = try runPlughost(["run", bad, "--engine", "memory", "--json"], cwd: dir)
        XCTAssertEqual(v.status, 2)
        let vo = try jsonObject(v.stdout)
        XCTAssertEqual(vo["exit_code"] as? Int, 2)
        XCTAssertEqual((vo["error"] as? [String: Any])?["kind"] as? String, "invalid_input")
        XCTAssertEqual((vo["error"] as? [String: Any])?["field"] as? String, "steps")
        XCTAssertEqual((vo["error"] as? [String: Any])?["line"] as? Int, 2)
        XCTAssertNil(vo["report"])
    }

    // MARK: progress

    /// Items of sig.sleep_ms, one after another: `count` × `ms` milliseconds.
    private func slowPipeline(in dir: URL, count: Int, ms: Int, parallel: Int = 1) throws -> String {
        try write(
            """
            name: slow
            goal: slow
            plugins: {sig: sig}
            inputs:
              ms: [\(Array(repeating: String(ms), count: count).joined(separator: ", "))]
            steps:
              - id: nap
                call: sig.sleep_ms
                foreach: ${inputs.ms}
                parallel: \(parallel)
                args: ["${item}"]
            outputs:
              total: ${steps.nap}
            """, to: dir, "slow.yaml")
    }

    private func requireScript() throws {
        if Self.scriptPath == nil {
            throw XCTSkip("util-linux `script` is not installed (apt-get install bsdutils); the terminal tests need it")
        }
    }

    /// On a terminal the live block is redrawn at most about 10 times a second: 400 progress
    /// events over about 2 s give at most 25 redraws (each starts with ESC [ J).
    func testLiveProgressIsThrottledOnATerminal() throws {
        try requireScript()
        let dir = try makeTempDirectory()
        let path = try slowPipeline(in: dir, count: 200, ms: 10)
        let start = Date()
        let r = try runOnTerminal(["run", path, "--engine", "memory"], cwd: dir, environment: ["TERM": "xterm"])
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(r.status, 0, r.stdout)
        let redraws = occurrences(of: "\u{1B}[J", in: r.stdout)
        XCTAssertGreaterThanOrEqual(redraws, 5, "no live progress on a terminal: \(r.stdout.prefix(500).debugDescription)")
        // Unthrottled, every item would redraw (about 200 times); a slow machine stretches the run.
        XCTAssertLessThanOrEqual(redraws, max(25, Int(12 * elapsed)), "\(redraws) redraws in \(elapsed) s")
        XCTAssertTrue(r.stdout.contains("nap: "), r.stdout.prefix(500).debugDescription)
        XCTAssertTrue(r.stdout.contains("done nap: 200 calls"), r.stdout.suffix(800).debugDescription)
    }

    /// `TERM=dumb`: plain lines, no escape codes.
    func testDumbTerminalGetsPlainLines() throws {
        try requireScript()
        let dir = try makeTempDirectory()
        let path = try slowPipeline(in: dir, count: 20, ms: 10)
        let r = try runOnTerminal(["run", path, "--engine", "memory"], cwd: dir, environment: ["TERM": "dumb"])
        XCTAssertEqual(r.status, 0, r.stdout)
        XCTAssertFalse(r.stdout.contains("\u{1B}"), "escape codes with TERM=dumb: \(r.stdout.debugDescription)")
        XCTAssertTrue(r.stdout.contains("step nap started: 20 items"), r.stdout)
        XCTAssertTrue(r.stdout.contains("done nap: 20 calls in "), r.stdout)
        XCTAssertLessThan(occurrences(of: "\n", in: r.stdout), 20 + 12, "more than a line per item and the summary: \(r.stdout)")
    }

    // MARK: SIGINT

    /// One SIGINT: running items finish, nothing new starts, exit 130 with a hint to resume; the
    /// journal is there and `--resume` finishes the run.
    func testSIGINTStopsCleanlyAndTheRunResumes() throws {
        let dir = try makeTempDirectory()
        let path = try slowPipeline(in: dir, count: 40, ms: 100, parallel: 4)
        let db = dir.appendingPathComponent("m.sqlite").path
        let journal = RunJournal.defaultPath(folder: dir.appendingPathComponent("runs").path, pipeline: path, name: "slow", goal: "slow")
        let bg = try startPlughost(["run", path, "--db", db], cwd: dir)
        XCTAssertTrue(waitForLines(journal, moreThan: 4, while: { bg.process.isRunning }), "no items recorded")
        kill(bg.process.processIdentifier, SIGINT)
        let r = bg.finish(timeout: 30)
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertEqual(bg.process.terminationReason, .exit, "killed by the signal instead of a clean stop")
        XCTAssertTrue(r.stderr.contains("interrupted"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--resume"), r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: journal))
        let recorded = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n").count - 1
        XCTAssertLessThan(recorded, 40, "the run was not stopped early")
        XCTAssertGreaterThanOrEqual(recorded, 4)

        let resumed = try runPlughost(["run", path, "--db", db, "--resume"], cwd: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resumed: \(recorded) items restored from the journal"), resumed.stdout)
        XCTAssertTrue(resumed.stdout.contains("1 steps, \(40 - recorded) calls"), resumed.stdout)
        XCTAssertEqual(occurrences(of: "  - 100\n", in: resumed.stdout), 40, resumed.stdout)
    }
}
