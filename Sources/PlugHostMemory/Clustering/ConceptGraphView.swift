import PlugHostCore

/// The part of a goal's concept graph that a ``ConceptGraphFilter`` selects, ready to render:
/// concepts with their `held` count and cluster, the edges that exist under θ with their counts
/// and weight `co + dep`, and the clusters with a label. Everything is sorted in UTF-8 byte
/// order, so the same memory and filter always give the same view. It does not depend on how
/// the clusters were computed: it takes them as stored.
public struct ConceptGraphView: Sendable, Hashable {
    /// A concept shown.
    public struct Node: Sendable, Hashable {
        /// The concept key.
        public var concept: String
        /// Live memories holding it.
        public var held: Int32
        /// The id of its cluster.
        public var cluster: String
    }

    /// An edge shown; `a` precedes `b` in UTF-8 byte order.
    public struct Edge: Sendable, Hashable {
        public var a: String
        public var b: String
        public var co: Int32
        public var dep: Int32
        /// `co + dep`.
        public var weight: Int64
    }

    /// A cluster with at least one concept shown.
    public struct ClusterLabel: Sendable, Hashable {
        /// The cluster's id (its smallest concept).
        public var id: String
        /// Its most connected concept: the highest weighted degree over the edges between its
        /// members (whatever the filter), ties to the smallest key.
        public var label: String
        /// Its concepts shown, sorted.
        public var shown: [String]
        /// How many concepts it has in all.
        public var size: Int
    }

    /// The goal.
    public var goal: String
    /// The edge threshold θ the edges exist under.
    public var theta: Int32
    /// The filter that selected this view.
    public var filter: ConceptGraphFilter
    /// Concepts shown, sorted.
    public var nodes: [Node]
    /// Edges shown, sorted by `a`, then `b`.
    public var edges: [Edge]
    /// Clusters with concepts shown, sorted by id.
    public var clusters: [ClusterLabel]
    /// How many concepts and edges the goal has in all.
    public var totalConcepts: Int
    public var totalEdges: Int

    /// The view of `goal` in `memory` (its clusters as the other memory commands read them:
    /// stored, or computed when another process has not clustered the goal yet).
    public static func load(memory: MemoryService, goal: String, filter: ConceptGraphFilter = .init()) throws -> ConceptGraphView {
        let snapshot = try memory.engine.conceptGraph(goal: goal)
        let clusters = try memory.clusters(goal: goal).first?.clusters ?? []
        return try ConceptGraphView(
            goal: goal, snapshot: snapshot, clusters: clusters, theta: memory.configuration.theta, filter: filter)
    }

    /// The view of a graph snapshot with its clusters. Throws ``ConceptGraphError`` when the
    /// filter names a cluster or concept the goal does not have.
    public init(goal: String, snapshot: ConceptGraphSnapshot, clusters: [Cluster], theta: Int32, filter: ConceptGraphFilter) throws {
        self.goal = goal
        self.theta = theta
        var filter = filter
        filter.cluster = filter.cluster.map(ConceptKey.normalize)
        filter.concept = filter.concept.map(ConceptKey.normalize)
        self.filter = filter
        let less = ConceptKey.precedes

        var clusterOf: [String: String] = [:]
        for c in clusters { for m in c.concepts { clusterOf[m] = c.id } }
        // Every held concept belongs to a cluster; one missing from the stored clusters (it
        // cannot happen after a flush) is shown as a cluster of its own rather than dropped.
        for c in snapshot.concepts.keys where clusterOf[c] == nil { clusterOf[c] = c }

        var all: [Edge] = []
        for e in snapshot.edges where EdgeRule.isEdge(co: e.counts.co, dep: e.counts.dep, threshold: theta) {
            guard snapshot.concepts[e.a] != nil, snapshot.concepts[e.b] != nil, e.a != e.b else { continue }
            let (a, b) = less(e.a, e.b) ? (e.a, e.b) : (e.b, e.a)
            all.append(
                Edge(
                    a: a, b: b, co: e.counts.co, dep: e.counts.dep,
                    weight: EdgeRule.weight(co: e.counts.co, dep: e.counts.dep, threshold: theta)))
        }
        all.sort { $0.a != $1.a ? less($0.a, $1.a) : less($0.b, $1.b) }
        totalConcepts = snapshot.concepts.count
        totalEdges = all.count

        // Cluster labels, over all of each cluster's inner edges.
        var degree: [String: Int64] = [:]
        for e in all where clusterOf[e.a] == clusterOf[e.b] {
            degree[e.a, default: 0] += e.weight
            degree[e.b, default: 0] += e.weight
        }
        var members: [String: [String]] = [:]
        for (concept, cluster) in clusterOf { members[cluster, default: []].append(concept) }

        // 1. Edge weight.
        var edges = filter.minWeight.map { w in all.filter { $0.weight >= w } } ?? all
        // 2. Cluster.
        var shown = Set(snapshot.concepts.keys)
        if let id = filter.cluster {
            guard let m = members[id], clusterOf[id] == id else {
                throw ConceptGraphError.unknownCluster(goal: goal, cluster: id, memberOf: clusterOf[id])
            }
            shown = Set(m)
        }
        // 3. Neighbourhood.
        if let start = filter.concept {
            guard snapshot.concepts[start] != nil else { throw ConceptGraphError.unknownConcept(goal: goal, concept: start) }
            guard shown.contains(start) else {
                throw ConceptGraphError.conceptNotInCluster(goal: goal, concept: start, cluster: filter.cluster ?? "")
            }
            var neighbours: [String: [String]] = [:]
            for e in edges where shown.contains(e.a) && shown.contains(e.b) {
                neighbours[e.a, default: []].append(e.b)
                neighbours[e.b, default: []].append(e.a)
            }
            var reached: Set<String> = [start]
            var frontier = [start]
            var hops = 0
            while hops < filter.depth, !frontier.isEmpty {
                var next: [String] = []
                for c in frontier { for n in neighbours[c] ?? [] where reached.insert(n).inserted { next.append(n) } }
                frontier = next
                hops += 1
            }
            shown = reached
        }
        edges = edges.filter { shown.contains($0.a) && shown.contains($0.b) }
        // 4. The heaviest edges.
        if let top = filter.top, edges.count > top {
            let heaviest = edges.sorted {
                $0.weight != $1.weight ? $0.weight > $1.weight : $0.a != $1.a ? less($0.a, $1.a) : less($0.b, $1.b)
            }
            let kept = Set(heaviest.prefix(top).map { [$0.a, $0.b] })
            edges = edges.filter { kept.contains([$0.a, $0.b]) }
        }
        if filter.minWeight != nil || filter.top != nil {
            var touched = Set(filter.concept.map { [$0] } ?? [])
            for e in edges {
                touched.insert(e.a)
                touched.insert(e.b)
            }
            shown.formIntersection(touched)
        }

        self.edges = edges
        nodes = shown.sorted(by: less).map { Node(concept: $0, held: snapshot.concepts[$0]!, cluster: clusterOf[$0]!) }
        var shownBy: [String: [String]] = [:]
        for n in nodes { shownBy[n.cluster, default: []].append(n.concept) }
        self.clusters = shownBy.keys.sorted(by: less).map { id in
            let m = members[id]!
            var best = m[0]
            for c in m.dropFirst() {
                let d = degree[c] ?? 0, bd = degree[best] ?? 0
                if d > bd || (d == bd && less(c, best)) { best = c }
            }
            return ClusterLabel(id: id, label: best, shown: shownBy[id]!, size: m.count)
        }
    }
}
