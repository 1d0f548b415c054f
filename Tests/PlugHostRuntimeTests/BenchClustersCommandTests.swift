import Foundation
import XCTest

import PlugHostTestSupport
@testable import PlugHostTools

/// `plughost bench clusters`, run as a child process.
final class BenchClustersCommandTests: XCTestCase {
    private func plughost(_ args: [String]) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.runPlughost(args)
        XCTAssertFalse(r.timedOut, "plughost \(args) timed out")
        return r
    }

    /// The JSON names every K with its notes, concepts, clusters, NMI and time; the figures are
    /// those of the same workload recomputed here (the clusters scored ≥ 0.95).
    func testJSONReportsEveryTopicCount() throws {
        let r = try plughost(["bench", "clusters", "--topics", "6,10", "--notes-per-topic", "20", "--seed", "5", "--json"])
        XCTAssertEqual(r.status, 0, "\(r)")
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(obj["engine"] as? String, "sqlite")
        let rows = try XCTUnwrap(obj["results"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["topics"] as? Int }, [6, 10])
        for row in rows {
            let k = try XCTUnwrap(row["topics"] as? Int)
            var w = TopicWorkload(topics: k, seed: 5)
            w.notesPerTopic = 20
            let used = Set(w.notes().flatMap(\.concepts))
            XCTAssertEqual(row["notes"] as? Int, 20 * k)
            XCTAssertEqual(row["concepts"] as? Int, used.count)
            let clusters = try XCTUnwrap(row["clusters"] as? Int)
            XCTAssertTrue((1...used.count).contains(clusters), "\(row)")
            let nmi = try XCTUnwrap(row["nmi"] as? Double)
            XCTAssertGreaterThanOrEqual(nmi, 0.95, "K \(k): \(row)")
            XCTAssertGreaterThan(try XCTUnwrap(row["ms"] as? Double), 0)
        }
    }

    func testTextTableAndBadOptions() throws {
        let r = try plughost(["bench", "clusters", "--topics", "6", "--notes-per-topic", "10"])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stdout.contains("   K | notes | concepts | clusters |    NMI |  time ms"), r.stdout)
        XCTAssertTrue(r.stdout.contains("   6 |    60 |"), r.stdout)
        let bad = try plughost(["bench", "clusters", "--topics", "6,x"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--topics: \"x\" is not a positive number"), bad.stderr)
    }
}
