import Foundation
import XCTest

@testable import PlugHostPipeline

/// Every pipeline under examples/pipelines runs with the bundled plugins and exits 0.
final class ExamplePipelinesTests: PipelineTestCase {
    /// examples/pipelines/*.yaml, sorted.
    private func examples() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: Self.examplesDirectory.path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
    }

    func testEveryExamplePipelineRuns() throws {
        let names = try examples()
        for expected in ["quickstart.yaml", "journal.yaml", "parallel.yaml", "dag.yaml", "resilient.yaml", "resumable.yaml"] {
            XCTAssertTrue(names.contains(expected), "examples/pipelines has no \(expected): \(names)")
        }
        for name in names {
            let path = Self.examplesDirectory.appendingPathComponent(name).path
            let cwd = try makeTempDirectory()
            let r = try runPlughost(["run", path, "--engine", "memory"], cwd: cwd)
            XCTAssertEqual(r.status, 0, "\(name) failed:\n\(r.stderr)\n\(r.stdout)")
            let plan = try runPlughost(["run", path, "--engine", "memory", "--dry-run"], cwd: cwd)
            XCTAssertEqual(plan.status, 0, "\(name) --dry-run failed:\n\(plan.stderr)")
        }
    }

    /// What the new examples show happens: items at once, steps at once, a failure ignored, a
    /// journal that resumes.
    func testFeatureExamplesShowTheirFeature() throws {
        let cwd = try makeTempDirectory()
        func path(_ name: String) -> String { Self.examplesDirectory.appendingPathComponent(name).path }

        let parallel = try runPlughost(["run", path("parallel.yaml"), "--engine", "memory", "--dry-run", "--json"], cwd: cwd)
        XCTAssertEqual(parallel.status, 0, parallel.stderr)
        let steps = try XCTUnwrap(try jsonObject(parallel.stdout)["steps"] as? [[String: Any]])
        XCTAssertTrue(steps.contains { ($0["parallel"] as? Int ?? 1) > 1 }, "no step of parallel.yaml runs items at once: \(steps)")

        let dag = try runPlughost(["run", path("dag.yaml"), "--engine", "memory", "--dry-run", "--json"], cwd: cwd)
        XCTAssertEqual(dag.status, 0, dag.stderr)
        let stages = try XCTUnwrap(try jsonObject(dag.stdout)["stages"] as? [[String]])
        XCTAssertGreaterThan(stages.first?.count ?? 0, 1, "dag.yaml starts no two steps at once: \(stages)")

        let resilient = try runPlughost(["run", path("resilient.yaml"), "--engine", "memory", "--json"], cwd: cwd)
        XCTAssertEqual(resilient.status, 0, resilient.stderr)
        let report = try jsonObject(resilient.stdout)
        XCTAssertEqual(report["succeeded"] as? Bool, true)
        let failures = try XCTUnwrap(report["failures"] as? [[String: Any]])
        XCTAssertEqual(failures.first?["on_error"] as? String, "ignore", "\(failures)")
        XCTAssertEqual(failures.first?["attempts"] as? Int, 2, "\(failures)")

        let db = cwd.appendingPathComponent("m.sqlite").path
        let first = try runPlughost(["run", path("resumable.yaml"), "--db", db], cwd: cwd)
        XCTAssertEqual(first.status, 0, first.stderr)
        let again = try runPlughost(["run", path("resumable.yaml"), "--db", db, "--resume"], cwd: cwd)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("items restored from the journal"), again.stdout)
    }
}
