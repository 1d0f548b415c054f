import Foundation
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory

// Issue 16, item 4: `memory graph` filters and formats.

/// The view and its renderings are tested on a hand-made graph with hand-made clusters, so that
/// they hold whatever algorithm computes the clusters; then through a memory and the CLI.
final class MemoryGraphTests: XCTestCase {
    // θ = 2. Edges (weight = co + dep): coffee–espresso 4, coffee–grind 3+1, espresso–grind 3,
    // coffee–grinder 2, basil–tomato 2, soil–tomato 3, tomato–water 1+1, espresso–water 5 (between
    // two clusters, as a community algorithm leaves them), ant–bee 2. Below θ, so not edges:
    // soil–water 1, basil–coffee 1.
    private let snapshot = ConceptGraphSnapshot(
        concepts: [
            "coffee": 6, "espresso": 4, "grind": 4, "grinder": 2, "basil": 2, "tomato": 5, "soil": 3, "water": 1,
            "lonely": 1, "ant": 2, "bee": 2,
        ],
        edges: [
            ("espresso", "coffee", EdgeCounts(co: 4, dep: 0)),  // reversed ends: the view orders them
            ("coffee", "grind", EdgeCounts(co: 3, dep: 1)),
            ("espresso", "grind", EdgeCounts(co: 3, dep: 0)),
            ("coffee", "grinder", EdgeCounts(co: 2, dep: 0)),
            ("basil", "tomato", EdgeCounts(co: 2, dep: 0)),
            ("soil", "tomato", EdgeCounts(co: 3, dep: 0)),
            ("tomato", "water", EdgeCounts(co: 1, dep: 1)),
            ("espresso", "water", EdgeCounts(co: 5, dep: 0)),
            ("ant", "bee", EdgeCounts(co: 2, dep: 0)),
            ("soil", "water", EdgeCounts(co: 1, dep: 0)),
            ("basil", "coffee", EdgeCounts(co: 1, dep: 0)),
        ])
    private let clusters = [
        Cluster(id: "ant", concepts: ["ant", "bee"]),
        Cluster(id: "basil", concepts: ["basil", "soil", "tomato", "water"]),
        Cluster(id: "coffee", concepts: ["coffee", "espresso", "grind", "grinder"]),
        Cluster(id: "lonely", concepts: ["lonely"]),
    ]

    private func view(_ filter: ConceptGraphFilter = .init()) throws -> ConceptGraphView {
        try ConceptGraphView(goal: "g", snapshot: snapshot, clusters: clusters, theta: 2, filter: filter)
    }

    private func concepts(_ v: ConceptGraphView) -> [String] { v.nodes.map(\.concept) }
    private func edges(_ v: ConceptGraphView) -> [String] { v.edges.map { "\($0.a)-\($0.b):\($0.weight)" } }

    // MARK: - The view

    func testWholeGraphAsJSON() throws {
        XCTAssertEqual(
            ConceptGraphExport.json(try view()),
            #"{"goal":"g","theta":2,"clusters":["#
                + #"{"id":"ant","label":"ant","size":2,"concepts":["ant","bee"]},"#
                + #"{"id":"basil","label":"tomato","size":4,"concepts":["basil","soil","tomato","water"]},"#
                + #"{"id":"coffee","label":"coffee","size":4,"concepts":["coffee","espresso","grind","grinder"]},"#
                + #"{"id":"lonely","label":"lonely","size":1,"concepts":["lonely"]}],"nodes":["#
                + #"{"concept":"ant","held":2,"cluster":"ant"},{"concept":"basil","held":2,"cluster":"basil"},"#
                + #"{"concept":"bee","held":2,"cluster":"ant"},{"concept":"coffee","held":6,"cluster":"coffee"},"#
                + #"{"concept":"espresso","held":4,"cluster":"coffee"},{"concept":"grind","held":4,"cluster":"coffee"},"#
                + #"{"concept":"grinder","held":2,"cluster":"coffee"},{"concept":"lonely","held":1,"cluster":"lonely"},"#
                + #"{"concept":"soil","held":3,"cluster":"basil"},{"concept":"tomato","held":5,"cluster":"basil"},"#
                + #"{"concept":"water","held":1,"cluster":"basil"}],"edges":["#
                + #"{"a":"ant","b":"bee","co":2,"dep":0,"weight":2},{"a":"basil","b":"tomato","co":2,"dep":0,"weight":2},"#
                + #"{"a":"coffee","b":"espresso","co":4,"dep":0,"weight":4},{"a":"coffee","b":"grind","co":3,"dep":1,"weight":4},"#
                + #"{"a":"coffee","b":"grinder","co":2,"dep":0,"weight":2},{"a":"espresso","b":"grind","co":3,"dep":0,"weight":3},"#
                + #"{"a":"espresso","b":"water","co":5,"dep":0,"weight":5},{"a":"soil","b":"tomato","co":3,"dep":0,"weight":3},"#
                + #"{"a":"tomato","b":"water","co":1,"dep":1,"weight":2}]}"#)
    }

    /// A cluster's label is its concept of highest weighted degree over the edges inside it:
    /// espresso's heavier edge to water (another cluster) does not count; ties go to the
    /// smallest key (ant, bee: 2 each).
    func testClusterLabelsCountInnerEdgesAndBreakTiesByKey() throws {
        let labels = Dictionary(uniqueKeysWithValues: try view().clusters.map { ($0.id, $0.label) })
        XCTAssertEqual(labels, ["ant": "ant", "basil": "tomato", "coffee": "coffee", "lonely": "lonely"])
        // Labels do not change with the filter.
        XCTAssertEqual(try view(.init(minWeight: 5)).clusters.map(\.label), ["tomato", "coffee"])
    }

    func testSameBytesWhateverTheSnapshotOrder() throws {
        var shuffled = snapshot
        shuffled.edges = snapshot.edges.reversed().map { (a: $0.b, b: $0.a, counts: $0.counts) }
        let other = try ConceptGraphView(
            goal: "g", snapshot: shuffled, clusters: Array(clusters.reversed()), theta: 2, filter: .init(top: 4))
        XCTAssertEqual(ConceptGraphExport.json(other), ConceptGraphExport.json(try view(.init(top: 4))))
        XCTAssertEqual(ConceptGraphExport.dot(other), ConceptGraphExport.dot(try view(.init(top: 4))))
    }

    func testThetaDecidesWhichCountsAreEdges() throws {
        let v = try ConceptGraphView(goal: "g", snapshot: snapshot, clusters: clusters, theta: 1, filter: .init(concept: "soil"))
        XCTAssertEqual(edges(v), ["soil-tomato:3", "soil-water:1", "tomato-water:2"])
        XCTAssertEqual(try view(.init(concept: "soil")).edges.count, 1)
    }

    func testClusterFilter() throws {
        let v = try view(.init(cluster: "basil"))
        XCTAssertEqual(concepts(v), ["basil", "soil", "tomato", "water"])
        // espresso–water leaves the cluster: not shown.
        XCTAssertEqual(edges(v), ["basil-tomato:2", "soil-tomato:3", "tomato-water:2"])
        XCTAssertEqual(v.clusters.map(\.id), ["basil"])
        // The id is normalised as a concept key.
        XCTAssertEqual(try view(.init(cluster: "  BASIL ")), v)
    }

    func testUnknownClusterNamesIt() throws {
        let none = TestSupport.expectError(ConceptGraphError.self) { try view(.init(cluster: "nope")) }
        XCTAssertEqual(none, .unknownCluster(goal: "g", cluster: "nope", memberOf: nil))
        XCTAssertEqual(
            none?.description,
            #"goal g has no cluster "nope" (a cluster's id is its smallest concept; see plughost memory clusters --goal g)"#)
        // A member that is not the id: the error says which cluster holds it.
        let member = TestSupport.expectError(ConceptGraphError.self) { try view(.init(cluster: "tomato")) }
        XCTAssertEqual(
            member?.description, #"goal g has no cluster "tomato" (a cluster's id is its smallest concept); "tomato" is in cluster "basil""#
        )
    }

    func testConceptNeighbourhoodByDepth() throws {
        XCTAssertEqual(concepts(try view(.init(concept: "basil", depth: 0))), ["basil"])
        XCTAssertEqual(try view(.init(concept: "basil", depth: 0)).edges, [])
        XCTAssertEqual(concepts(try view(.init(concept: "basil"))), ["basil", "tomato"])
        XCTAssertEqual(concepts(try view(.init(concept: "basil", depth: 2))), ["basil", "soil", "tomato", "water"])
        // Hops cross clusters.
        let three = try view(.init(concept: "Basil", depth: 3))
        XCTAssertEqual(concepts(three), ["basil", "espresso", "soil", "tomato", "water"])
        XCTAssertEqual(edges(three), ["basil-tomato:2", "espresso-water:5", "soil-tomato:3", "tomato-water:2"])
        XCTAssertEqual(three.clusters.map(\.id), ["basil", "coffee"])
        XCTAssertEqual(three.clusters.last?.shown, ["espresso"])
        // Within a cluster only.
        XCTAssertEqual(concepts(try view(.init(cluster: "basil", concept: "basil", depth: 5))), ["basil", "soil", "tomato", "water"])
        // An isolated concept is its own neighbourhood.
        XCTAssertEqual(concepts(try view(.init(concept: "lonely", depth: 3))), ["lonely"])
    }

    func testUnknownConceptNamesIt() throws {
        let e = TestSupport.expectError(ConceptGraphError.self) { try view(.init(concept: "Nope")) }
        XCTAssertEqual(e?.description, #"goal g has no concept "nope""#)
        let outside = TestSupport.expectError(ConceptGraphError.self) { try view(.init(cluster: "ant", concept: "basil")) }
        XCTAssertEqual(outside?.description, #"concept "basil" of goal g is not in cluster "ant""#)
    }

    func testMinWeight() throws {
        let v = try view(.init(minWeight: 3))
        XCTAssertEqual(
            edges(v), ["coffee-espresso:4", "coffee-grind:4", "espresso-grind:3", "espresso-water:5", "soil-tomato:3"])
        // Concepts left without an edge are left out.
        XCTAssertEqual(concepts(v), ["coffee", "espresso", "grind", "soil", "tomato", "water"])
        XCTAssertEqual(edges(try view(.init(minWeight: 6))), [])
        XCTAssertEqual(concepts(try view(.init(minWeight: 6))), [])
        // The neighbourhood follows the heavy edges only; the concept itself stays.
        XCTAssertEqual(concepts(try view(.init(concept: "basil", depth: 9, minWeight: 3))), ["basil"])
        XCTAssertEqual(
            concepts(try view(.init(concept: "tomato", depth: 2, minWeight: 3))), ["soil", "tomato"])
        XCTAssertEqual(
            concepts(try view(.init(concept: "water", depth: 1, minWeight: 3))), ["espresso", "water"])
    }

    func testTopEdgesBreakTiesByKeyOrder() throws {
        XCTAssertEqual(edges(try view(.init(top: 1))), ["espresso-water:5"])
        // coffee–espresso and coffee–grind both weigh 4: espresso < grind.
        XCTAssertEqual(edges(try view(.init(top: 2))), ["coffee-espresso:4", "espresso-water:5"])
        XCTAssertEqual(concepts(try view(.init(top: 2))), ["coffee", "espresso", "water"])
        XCTAssertEqual(edges(try view(.init(top: 3))), ["coffee-espresso:4", "coffee-grind:4", "espresso-water:5"])
        // Four edges weigh 2, taken in key order: ant–bee, basil–tomato, coffee–grinder, tomato–water.
        let six = try view(.init(top: 6))
        XCTAssertEqual(
            edges(six), ["ant-bee:2", "coffee-espresso:4", "coffee-grind:4", "espresso-grind:3", "espresso-water:5", "soil-tomato:3"])
        XCTAssertEqual(concepts(six), ["ant", "bee", "coffee", "espresso", "grind", "soil", "tomato", "water"])
        XCTAssertEqual(
            edges(try view(.init(top: 7))),
            ["ant-bee:2", "basil-tomato:2", "coffee-espresso:4", "coffee-grind:4", "espresso-grind:3", "espresso-water:5", "soil-tomato:3"])
        // More than there are: all of them.
        XCTAssertEqual(edges(try view(.init(top: 100))), edges(try view()))
        // Within a cluster.
        XCTAssertEqual(edges(try view(.init(cluster: "basil", top: 1))), ["soil-tomato:3"])
    }

    // MARK: - DOT

    func testDOTShowsClustersSizesWidthsAndLegend() throws {
        let dot = ConceptGraphExport.dot(try view())
        let lines = dot.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(lines.first, #"graph "g" {"#)
        XCTAssertEqual(lines.last, "}")
        XCTAssertTrue(
            lines.contains(#"graph [label="goal g: 11 of 11 concepts, 9 of 9 edges", labelloc=t, fontname="Helvetica", fontsize=16];"#), dot
        )
        // One subgraph per cluster, labelled with its most connected concept.
        let labels = lines.filter { $0.hasPrefix("label=") }
        XCTAssertEqual(
            labels,
            [
                ##"label="ant (2 concepts)"; tooltip="cluster ant"; style=rounded; color="#888888";"##,
                ##"label="tomato (4 concepts)"; tooltip="cluster basil"; style=rounded; color="#888888";"##,
                ##"label="coffee (4 concepts)"; tooltip="cluster coffee"; style=rounded; color="#888888";"##,
                ##"label="lonely (1 concept)"; tooltip="cluster lonely"; style=rounded; color="#888888";"##,
                ##"label="legend"; style=dashed; color="#888888";"##,
            ])
        XCTAssertEqual(lines.filter { $0.hasPrefix("subgraph cluster_") }.count, 5)
        // Node size by held: 1 → 10 pt, 6 → 24 pt, 2 → 10 + 14·√(1/5).
        XCTAssertTrue(lines.contains(#""coffee" [fontsize=24.0, tooltip="coffee: held 6"];"#), dot)
        XCTAssertTrue(lines.contains(#""lonely" [fontsize=10.0, tooltip="lonely: held 1"];"#), dot)
        XCTAssertTrue(lines.contains(#""ant" [fontsize=16.3, tooltip="ant: held 2"];"#), dot)
        // Pen width by weight: 2 → 1, 5 → 6; dependencies in blue.
        XCTAssertTrue(lines.contains(#""espresso" -- "water" [penwidth=6.0, tooltip="espresso – water: co 5, dep 0, weight 5"];"#), dot)
        XCTAssertTrue(lines.contains(#""ant" -- "bee" [penwidth=1.0, tooltip="ant – bee: co 2, dep 0, weight 2"];"#), dot)
        XCTAssertTrue(
            lines.contains(
                ##""tomato" -- "water" [penwidth=1.0, tooltip="tomato – water: co 1, dep 1, weight 2", color="#1f5fbf"];"##), dot)
        XCTAssertEqual(lines.filter { $0.contains(" -- ") }.count, 9)
        // Every concept once, in its cluster.
        for n in try view().nodes {
            XCTAssertEqual(lines.filter { $0.hasPrefix("\"\(n.concept)\" [") }.count, 1, n.concept)
        }
        XCTAssertTrue(
            dot.contains(
                #"Legend [shape=plaintext, style="", fontsize=10, label="box: a cluster, named after its most connected concept\lnode size: held, 1 … 6\lpen width: weight = co + dep, 2 … 5\lblue edge: with a dependency (dep ≥ 1)\ledges: co ≥ 2 or dep ≥ 1\l"];"#
            ),
            dot)
    }

    func testDOTOfAFilteredView() throws {
        let dot = ConceptGraphExport.dot(try view(.init(concept: "basil", depth: 3)))
        XCTAssertTrue(dot.contains(#"label="goal g: 5 of 11 concepts, 4 of 9 edges (--concept basil --depth 3)""#), dot)
        XCTAssertTrue(dot.contains(#"label="coffee (1 of 4 concepts)""#), dot)
        XCTAssertTrue(dot.contains(#"\lfilters: --concept basil --depth 3\l"#), dot)
        let all = ConceptGraphExport.dot(try view(.init(cluster: "coffee", concept: "grinder", depth: 1, minWeight: 2, top: 1)))
        XCTAssertTrue(all.contains("(--min-weight 2 --cluster coffee --concept grinder --depth 1 --top 1)"), all)
        // Nothing left: still valid, with the scales saying so.
        let empty = ConceptGraphExport.dot(try view(.init(minWeight: 99)))
        XCTAssertTrue(empty.contains(#"node size: held, none shown\lpen width: weight = co + dep, none shown"#), empty)
    }

    /// Above 200 edges the DOT asks dot for fewer layout iterations; at 200 or fewer it does not.
    func testDOTAsksForARougherLayoutOfManyEdges() throws {
        func dot(concepts n: Int) throws -> String {
            let keys = (0..<n).map { "c\($0)" }
            var edges: [(a: String, b: String, counts: EdgeCounts)] = []
            for i in 0..<n { for j in (i + 1)..<n { edges.append((keys[i], keys[j], EdgeCounts(co: 2, dep: 0))) } }
            let snapshot = ConceptGraphSnapshot(concepts: Dictionary(uniqueKeysWithValues: keys.map { ($0, 2) }), edges: edges)
            let sorted = keys.sorted(by: ConceptKey.precedes)
            let v = try ConceptGraphView(
                goal: "g", snapshot: snapshot, clusters: [Cluster(id: sorted[0], concepts: sorted)], theta: 2, filter: .init())
            return ConceptGraphExport.dot(v)
        }
        XCTAssertTrue(try dot(concepts: 21).contains("fontsize=16, mclimit=0.2, nslimit=1];"), "210 edges")
        XCTAssertFalse(try dot(concepts: 20).contains("mclimit"), "190 edges")
    }

    func testDOTQuotesKeysAndGoal() throws {
        let odd = ConceptGraphSnapshot(
            concepts: [#"say "hi""#: 2, #"back\slash"#: 2], edges: [(#"say "hi""#, #"back\slash"#, EdgeCounts(co: 2, dep: 0))])
        let v = try ConceptGraphView(
            goal: "a \"goal\"", snapshot: odd, clusters: [Cluster(id: #"back\slash"#, concepts: [#"back\slash"#, #"say "hi""#])],
            theta: 2, filter: .init())
        let dot = ConceptGraphExport.dot(v)
        XCTAssertTrue(dot.hasPrefix(#"graph "a \"goal\"" {"#), dot)
        XCTAssertTrue(dot.contains(#""back\\slash" -- "say \"hi\"" [penwidth=3.5"#), dot)
        XCTAssertEqual(
            ConceptGraphExport.json(v).components(separatedBy: #""edges":"#).last,
            #"[{"a":"back\\slash","b":"say \"hi\"","co":2,"dep":0,"weight":2}]}"#)
    }

    func testDOTRendersWithGraphvizWhenInstalled() throws {
        guard let dot = TestSupport.resolveExecutable("dot") else { throw XCTSkip("graphviz (dot) is not installed") }
        for filter in [ConceptGraphFilter(), .init(cluster: "basil"), .init(concept: "basil", depth: 3, top: 2)] {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("graph-\(UUID().uuidString).dot")
            defer { try? FileManager.default.removeItem(at: file) }
            try Data(ConceptGraphExport.dot(try view(filter)).utf8).write(to: file)
            let r = try TestSupport.run(dot, ["-Tsvg", file.path], timeout: 60)
            XCTAssertEqual(r.status, 0, "\(filter): \(r)")
            XCTAssertTrue(r.stdout.contains("<svg"), r.description)
            XCTAssertTrue(r.stderr.isEmpty, "\(filter): \(r.stderr)")
        }
    }

    // MARK: - Through a memory, and the CLI

    private func notes() -> [MemoryWrite] {
        [
            ["coffee", "espresso", "grind"], ["coffee", "espresso", "grind"], ["coffee", "espresso"], ["basil", "tomato"],
            ["basil", "tomato", "soil"], ["coffee", "basil"],
        ].enumerated().map { i, c in MemoryWrite(goal: "g", plugin: "p", id: "m\(i)", content: "note \(i)", concepts: c) }
            + [
                MemoryWrite(
                    goal: "g", plugin: "p", id: "d", content: "dep", concepts: ["soil"], dependsOn: [Dependency("soil", "water")])
            ]
    }

    /// The nodes' clusters are the memory's clusters, whichever algorithm made them; counts are
    /// the engine's.
    func testViewOfAMemoryUsesItsClusters() throws {
        let memory = try MemoryService(engine: InMemoryEngine())
        for r in memory.write(notes()) { _ = try r.get() }
        try memory.flush()
        let v = try ConceptGraphView.load(memory: memory, goal: "g")
        var clusterOf: [String: String] = [:]
        for c in try memory.clusters(goal: "g").first!.clusters { for m in c.concepts { clusterOf[m] = c.id } }
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: v.nodes.map { ($0.concept, $0.cluster) }), clusterOf)
        XCTAssertEqual(
            Dictionary(uniqueKeysWithValues: v.nodes.map { ($0.concept, $0.held) }),
            ["coffee": 4, "espresso": 3, "grind": 2, "basil": 3, "tomato": 2, "soil": 2, "water": 1])
        XCTAssertEqual(
            edges(v), ["basil-tomato:2", "coffee-espresso:3", "coffee-grind:2", "espresso-grind:2", "soil-water:2"])
        XCTAssertEqual(v.totalConcepts, 7)
        XCTAssertEqual(
            try ConceptGraphExport.render(memory: memory, goal: "g", filter: .init(top: 1), format: .json),
            ConceptGraphExport.json(try ConceptGraphView.load(memory: memory, goal: "g", filter: .init(top: 1))))
        try memory.close()
    }

    func testCommandLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plughost-graph-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("m.sqlite").path
        let workload = dir.appendingPathComponent("w.jsonl")
        let lines = notes().map { w in
            let concepts = w.concepts.map { "\"\($0)\"" }.joined(separator: ",")
            let deps = w.dependsOn.map { "[\"\($0.from)\",\"\($0.to)\"]" }.joined(separator: ",")
            return
                #"{"op":"write","id":"\#(w.id!)","goal":"g","content":"\#(w.content)","concepts":[\#(concepts)],"depends_on":[\#(deps)]}"#
        }
        try Data(lines.joined(separator: "\n").utf8).write(to: workload)
        let replay = try TestSupport.runPlughost(["memory", "replay", workload.path, "--db", db])
        XCTAssertEqual(replay.status, 0, replay.description)

        func graph(_ args: [String]) throws -> TestSupport.ProcessResult {
            try TestSupport.runPlughost(["memory", "graph", "--goal", "g", "--db", db] + args)
        }
        let json = try graph(["--format", "json", "--min-weight", "3"])
        XCTAssertEqual(json.status, 0, json.description)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let edges = try XCTUnwrap(object["edges"] as? [[String: Any]])
        XCTAssertEqual(edges.map { "\($0["a"]!)-\($0["b"]!)" }, ["coffee-espresso"])
        XCTAssertEqual((object["nodes"] as? [[String: Any]])?.compactMap { $0["concept"] as? String }, ["coffee", "espresso"])

        let dot = try graph(["--concept", "soil", "--depth", "1"])
        XCTAssertEqual(dot.status, 0, dot.description)
        XCTAssertTrue(dot.stdout.hasPrefix(#"graph "g" {"#), dot.stdout)
        XCTAssertTrue(dot.stdout.contains(#""soil" -- "water""#), dot.stdout)
        XCTAssertFalse(dot.stdout.contains(#""coffee""#), dot.stdout)

        // Unknown names: a runtime error naming them (exit 5: not found; not usage 2).
        let cluster = try graph(["--cluster", "nope"])
        XCTAssertEqual(cluster.status, 5, cluster.description)
        XCTAssertTrue(cluster.stderr.contains(#"Error: goal g has no cluster "nope""#), cluster.stderr)
        let concept = try graph(["--concept", "nope", "--format", "json"])
        XCTAssertEqual(concept.status, 5, concept.description)
        XCTAssertTrue(concept.stderr.contains(#"Error: goal g has no concept "nope""#), concept.stderr)
        XCTAssertEqual(concept.stdout, "")

        // Usage errors: exit 64.
        for (args, message) in [
            (["--format", "svg"], "svg"), (["--depth", "2"], "--depth needs --concept"),
            (["--top", "0"], "--top 0: must be 1 or more"), (["--min-weight", "0"], "--min-weight 0: must be 1 or more"),
            (["--concept", "soil", "--depth=-1"], "--depth -1: must be 0 or more"),
        ] {
            let r = try graph(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r)")
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        let help = try TestSupport.runPlughost(["memory", "graph", "--help"])
        XCTAssertTrue(help.stdout.contains("(values: dot, json; default: dot)"), help.stdout)
    }
}
