import XCTest
import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostTools

/// Issue 16's labelled-topic benchmark: notes of K topics sharing filler words; the clusters
/// must recover the topics (NMI ≥ 0.95 over the topic words) in the oracle and in the product,
/// and the product's clusters must equal the oracle's.
final class TopicClusteringTests: XCTestCase {
    static let topicCounts = [6, 10, 20]
    static let seeds: [UInt64] = [1, 2, 3]

    // MARK: - NMI itself

    func testNMIOfIdenticalAndUninformativeClusterings() {
        let truth = ["a": 0, "b": 0, "c": 1, "d": 1, "e": 2]
        XCTAssertEqual(
            NormalizedMutualInformation.score(truth: truth, cluster: ["a": "x", "b": "x", "c": "y", "d": "y", "e": "z"]), 1, accuracy: 1e-12
        )
        XCTAssertEqual(NormalizedMutualInformation.score(truth: truth, cluster: ["a": "x", "b": "x", "c": "x", "d": "x", "e": "x"]), 0)
        // Missing words count as clusters of their own; unlabelled words are left out.
        XCTAssertEqual(NormalizedMutualInformation.score(truth: ["a": 0, "b": 1], cluster: ["filler": "f"]), 1)
        XCTAssertEqual(NormalizedMutualInformation.score(truth: ["a": 0], cluster: ["a": "x"]), 1)
    }

    /// Hand-computed: truth {w1,w2}=A, {w3,w4}=B; clusters {w1,w2,w3}, {w4}. H(X) = ln 2,
    /// H(Y) = −(¾ ln ¾ + ¼ ln ¼), I = ½ ln(4/3) + ¼ ln(2/3) + ¼ ln 2; NMI = 0.343711…
    func testNMIHandComputed() {
        let nmi = NormalizedMutualInformation.score(
            truth: ["w1": "A", "w2": "A", "w3": "B", "w4": "B"], cluster: ["w1": "c", "w2": "c", "w3": "c", "w4": "d"])
        XCTAssertEqual(nmi, 0.343_711_018, accuracy: 1e-8)
    }

    // MARK: - The workload

    func testTopicWorkloadIsLabelledAndDeterministic() {
        var w = TopicWorkload(topics: 6, seed: 7)
        w.notesPerTopic = 10
        let notes = w.notes()
        XCTAssertEqual(notes, w.notes())
        XCTAssertEqual(notes.count, 60)
        XCTAssertEqual(w.truth.count, 6 * w.wordsPerTopic)
        var used = Set<String>()
        for n in notes {
            let topics = Set(n.concepts.compactMap { w.truth[$0] })
            XCTAssertEqual(topics.count, 1, "one topic per note: \(n.concepts)")
            let filler = n.concepts.filter { w.truth[$0] == nil }
            XCTAssertTrue((1...2).contains(filler.count) && filler.allSatisfy(w.fillers.contains), "\(n.concepts)")
            used.formUnion(n.concepts)
        }
        XCTAssertTrue(Set(w.truth.keys).isSubset(of: used), "every topic word occurs")
        XCTAssertNotEqual(TopicWorkload(topics: 6, seed: 8).notes(), w.notes())
    }

    // MARK: - Oracle and product

    private func oracleClusters(_ notes: [MemoryWrite]) -> [GoalClusters] {
        let o = Oracle(theta: 2)
        for n in notes { XCTAssertNil(o.write(n, id: n.id!, now: 0)) }
        return o.clusters(now: 0)
    }

    /// The connected components of the old model (co ≥ 2) chain every topic through the
    /// filler words; model 2's communities recover the topics.
    func testOracleRecoversTheTopics() {
        for k in Self.topicCounts {
            for seed in Self.seeds {
                let w = TopicWorkload(topics: k, seed: seed)
                let clusters = oracleClusters(w.notes())
                XCTAssertEqual(clusters.count, 1)
                let nmi = NormalizedMutualInformation.score(truth: w.truth, clusters: clusters[0].clusters)
                XCTAssertGreaterThanOrEqual(nmi, 0.95, "K \(k), seed \(seed): NMI \(nmi)")
                print("oracle: K \(k), seed \(seed): \(clusters[0].clusters.count) clusters, NMI \(nmi)")
                XCTAssertLessThanOrEqual(componentsNMI(w), 0.05, "K \(k), seed \(seed): the workload does chain the topics")
            }
        }
    }

    /// The NMI the old model (connected components over co ≥ 2) reaches on `w`.
    private func componentsNMI(_ w: TopicWorkload) -> Double {
        let o = Oracle(theta: 2)
        for n in w.notes() { o.write(n, id: n.id!, now: 0) }
        let (concepts, co, _) = o.counts(goal: w.goal, now: 0)
        var parent = Dictionary(uniqueKeysWithValues: concepts.keys.map { ($0, $0) })
        func root(_ x: String) -> String {
            var x = x
            while parent[x]! != x { x = parent[x]! }
            return x
        }
        for (p, n) in co where n >= 2 { parent[root(p.lo)] = root(p.hi) }
        return NormalizedMutualInformation.score(
            truth: w.truth, cluster: parent.keys.reduce(into: [String: String]()) { $0[$1] = root($1) })
    }

    /// The product (in-memory and SQLite engines, eager and optimized paths, after flush)
    /// gives exactly the oracle's clusters, hence the same NMI.
    func testProductClustersEqualTheOracleOnTopics() throws {
        for k in Self.topicCounts {
            for seed in Self.seeds {
                let w = TopicWorkload(topics: k, seed: seed)
                let notes = w.notes()
                let want = oracleClusters(notes)
                for kind in [EngineKind.memory, .sqlite] {
                    for optimized in [true, false] {
                        let store = try TestStore.fresh(kind, for: self)
                        let s = try store.service(optimized: optimized)
                        for r in s.write(notes) { _ = try r.get() }
                        try s.flush()
                        let got = try s.clusters()
                        let label = "K \(k), seed \(seed), \(kind), optimized \(optimized)"
                        let nmi = NormalizedMutualInformation.score(truth: w.truth, clusters: got.first?.clusters ?? [])
                        try store.finish(s)
                        XCTAssertGreaterThanOrEqual(nmi, 0.95, "\(label): NMI \(nmi)")
                        if CanonicalClusters.json(got) != OracleJSON.json(want) {
                            // One readable failure, not one per variant.
                            return XCTFail(
                                "\(label): the product's clusters differ from the oracle's\n got \(CanonicalClusters.json(got))\nwant \(OracleJSON.json(want))"
                            )
                        }
                    }
                }
            }
        }
    }
}
