import Foundation
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPipeline

/// The run journal and `plughost run --resume`: a run killed mid-step resumes to the results of
/// an uninterrupted run, restoring what it finished; what cannot be resumed is a clear error;
/// a finished pipeline run again writes nothing new.
final class ResumeTests: PipelineTestCase {

    /// A 300-item foreach of text.keywords over generated lines.
    private func longPipeline(in dir: URL) throws -> String {
        try write(Self.generatedLines(300), to: dir, "lines.txt")
        return try write(
            """
            name: long
            goal: long
            plugins: {text: text}
            steps:
              - id: kw
                call: text.keywords
                foreach: {lines: lines.txt}
                args: {text: "${item}", k: 4}
            outputs:
              kw: ${steps.kw}
            """, to: dir, "long.yaml")
    }

    func testKilledRunResumesToTheResultsOfAnUninterruptedRun() throws {
        let dir = try makeTempDirectory()
        let path = try longPipeline(in: dir)

        // Uninterrupted, into its own folder (its own journal).
        let whole = try makeTempDirectory()
        let wholeDB = whole.appendingPathComponent("whole.sqlite").path
        let reference = try runPlughost(["run", path, "--db", wholeDB, "--json"], cwd: dir)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let referenceOutputs = try XCTUnwrap(try jsonObject(reference.stdout)["outputs"] as? [String: Any])
        XCTAssertEqual((referenceOutputs["kw"] as? [Any])?.count, 300)

        // Killed with SIGKILL once the journal holds more than 50 items (header + 50 lines).
        let db = dir.appendingPathComponent("m.sqlite").path
        let journal = RunJournal.defaultPath(
            folder: dir.appendingPathComponent("runs").path, pipeline: path, name: "long", goal: "long")
        let bg = try startPlughost(["run", path, "--db", db], cwd: dir)
        let reached = waitForLines(journal, moreThan: 51, while: { bg.process.isRunning })
        kill(bg.process.processIdentifier, SIGKILL)
        let killed = bg.finish()
        XCTAssertTrue(reached, "the journal \(journal) never held 50 items: \(killed.stderr)")
        XCTAssertEqual(bg.process.terminationReason, .uncaughtSignal)
        let journalText = try String(contentsOfFile: journal, encoding: .utf8)
        let recorded = journalText.split(separator: "\n").count - 1
        XCTAssertFalse(journalText.contains("\"done\""), "the run finished before it was killed")
        XCTAssertLessThan(recorded, 300, "the run was not killed mid-step")
        XCTAssertGreaterThan(recorded, 50)

        // Resumed: the same outputs and clusters; the recorded items were restored.
        let resumed = try runPlughost(["run", path, "--db", db, "--resume", "--json"], cwd: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let obj = try jsonObject(resumed.stdout)
        let outputs = try XCTUnwrap(obj["outputs"] as? [String: Any])
        let a = try JSONSerialization.data(withJSONObject: referenceOutputs, options: [.sortedKeys])
        let b = try JSONSerialization.data(withJSONObject: outputs, options: [.sortedKeys])
        XCTAssertEqual(String(decoding: b, as: UTF8.self), String(decoding: a, as: UTF8.self), "resumed outputs differ")
        let restored = try XCTUnwrap(obj["restored"] as? Int)
        XCTAssertGreaterThanOrEqual(restored, recorded - 1, "items restored (the last journal line may be torn)")
        XCTAssertLessThan(restored, 300)
        let step = try XCTUnwrap((obj["steps"] as? [[String: Any]])?.first)
        XCTAssertEqual((step["calls"] as? Int).map { $0 + restored }, 300, "\(step)")
        XCTAssertEqual(try clusterDigest(db), try clusterDigest(wholeDB), "cluster digests differ")
        XCTAssertTrue(try String(contentsOfFile: journal, encoding: .utf8).contains("\"done\""), "the journal says the run finished")
    }

    /// The text summary says how many items were restored.
    func testResumedSummarySaysItemsWereRestored() throws {
        let dir = try makeTempDirectory()
        let path = try longPipeline(in: dir)
        let db = dir.appendingPathComponent("m.sqlite").path
        let journal = dir.appendingPathComponent("j/long.journal").path
        // A journal of a run that finished 120 items: write it as an interrupted run would.
        let first = try runPlughost(["run", path, "--db", db, "--journal", journal], cwd: dir)
        XCTAssertEqual(first.status, 0, first.stderr)
        let lines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 302, "header, 300 items, done")
        try (lines.prefix(121).joined(separator: "\n") + "\n").write(toFile: journal, atomically: true, encoding: .utf8)
        let r = try runPlughost(["run", path, "--db", db, "--journal", journal, "--resume"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("resumed: 120 items restored from the journal"), r.stdout)
        XCTAssertTrue(r.stdout.contains("1 steps, 180 calls"), r.stdout)
    }

    func testResumeWithoutAJournalIsAClearError() throws {
        let dir = try makeTempDirectory()
        let path = try longPipeline(in: dir)
        let db = dir.appendingPathComponent("m.sqlite").path
        let r = try runPlughost(["run", path, "--db", db, "--resume"], cwd: dir)
        XCTAssertEqual(r.status, 2, "a journal problem is invalid input")
        XCTAssertTrue(r.stderr.contains("nothing to resume"), r.stderr)
        XCTAssertTrue(r.stderr.contains("run it without --resume first"), r.stderr)

        let memory = try runPlughost(["run", path, "--engine", "memory", "--resume"], cwd: dir)
        XCTAssertEqual(memory.status, 2)
        XCTAssertTrue(memory.stderr.contains("the in-memory engine keeps no run journal"), memory.stderr)

        let both = try runPlughost(["run", path, "--db", db, "--resume", "--no-journal"], cwd: dir)
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("--resume needs the journal"), both.stderr)
    }

    func testResumeOfAChangedPipelineIsAClearError() throws {
        let dir = try makeTempDirectory()
        let path = try longPipeline(in: dir)
        let db = dir.appendingPathComponent("m.sqlite").path
        let first = try runPlughost(["run", path, "--db", db], cwd: dir)
        XCTAssertEqual(first.status, 0, first.stderr)
        try (try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "k: 4", with: "k: 3"))
            .write(toFile: path, atomically: true, encoding: .utf8)
        let r = try runPlughost(["run", path, "--db", db, "--resume"], cwd: dir)
        XCTAssertEqual(r.status, 2, "a journal problem is invalid input")
        XCTAssertTrue(r.stderr.contains("cannot resume: the pipeline file, its goal or its inputs changed"), r.stderr)
        // Another goal is another journal: nothing to resume.
        let other = try runPlughost(["run", path, "--db", db, "--resume", "--goal", "other"], cwd: dir)
        XCTAssertEqual(other.status, 2)
        XCTAssertTrue(other.stderr.contains("nothing to resume"), other.stderr)
    }

    /// Running a finished pipeline again (no `--resume`) runs every item but changes no memory:
    /// each write is deduplicated.
    func testRerunningAFinishedPipelineWritesNothing() throws {
        let dir = try makeTempDirectory()
        try write(Self.generatedLines(40), to: dir, "lines.txt")
        let path = try write(
            """
            name: twice
            goal: twice
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
              sum: ${steps.sum}
            """, to: dir, "twice.yaml")
        let db = dir.appendingPathComponent("m.sqlite").path
        let first = try runPlughost(["run", path, "--db", db, "--json"], cwd: dir)
        XCTAssertEqual(first.status, 0, first.stderr)
        let m1 = try XCTUnwrap(try jsonObject(first.stdout)["memory"] as? [String: Any])
        XCTAssertEqual(m1["writes"] as? Int, 80)
        let digest = try clusterDigest(db)

        let again = try runPlughost(["run", path, "--db", db, "--json"], cwd: dir)
        XCTAssertEqual(again.status, 0, again.stderr)
        let o2 = try jsonObject(again.stdout)
        let m2 = try XCTUnwrap(o2["memory"] as? [String: Any])
        XCTAssertEqual(m2["writes"] as? Int, 0, "\(m2)")
        XCTAssertEqual(m2["deduplicated"] as? Int, 80, "\(m2)")
        XCTAssertEqual(o2["restored"] as? Int, 0, "a run without --resume restores nothing")
        XCTAssertEqual((o2["steps"] as? [[String: Any]])?.compactMap { $0["calls"] as? Int }, [40, 40])
        XCTAssertEqual(try clusterDigest(db), digest)
    }
}
