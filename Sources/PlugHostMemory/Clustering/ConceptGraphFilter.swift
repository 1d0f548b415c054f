import PlugHostCore

/// What part of a goal's concept graph `memory graph` shows. The filters compose in this order:
///
/// 1. ``minWeight``: only edges of weight `co + dep ≥ W` (of the edges that exist under θ).
/// 2. ``cluster``: only that stored cluster's concepts (the id is its smallest member).
/// 3. ``concept`` with ``depth``: only concepts at most `depth` hops from it over the edges of
///    step 1, within step 2's concepts.
/// 4. ``top``: only the `N` heaviest edges among the concepts left (weight descending, ties by
///    `a`, then `b`, in UTF-8 byte order).
///
/// When ``minWeight`` or ``top`` is given, concepts left without a shown edge are left out
/// (except ``concept``), so that what remains is the strong part of the graph.
public struct ConceptGraphFilter: Sendable, Hashable {
    /// Only this cluster's concepts (a cluster id, normalised as a concept key).
    public var cluster: String?
    /// Only the neighbourhood of this concept (normalised as a concept key).
    public var concept: String?
    /// Hops from ``concept`` (0: the concept alone).
    public var depth: Int
    /// Only edges whose weight `co + dep` is at least this.
    public var minWeight: Int64?
    /// Only this many of the heaviest edges.
    public var top: Int?

    /// A filter; no arguments: the whole graph.
    public init(cluster: String? = nil, concept: String? = nil, depth: Int = 1, minWeight: Int64? = nil, top: Int? = nil) {
        self.cluster = cluster
        self.concept = concept
        self.depth = depth
        self.minWeight = minWeight
        self.top = top
    }

    /// Whether any filter is set.
    public var isEmpty: Bool { cluster == nil && concept == nil && minWeight == nil && top == nil }

    /// The filters as command-line options, in the order they apply ("" when none).
    public var summary: String {
        var parts: [String] = []
        if let minWeight { parts.append("--min-weight \(minWeight)") }
        if let cluster { parts.append("--cluster \(cluster)") }
        if let concept { parts.append("--concept \(concept) --depth \(depth)") }
        if let top { parts.append("--top \(top)") }
        return parts.joined(separator: " ")
    }
}

/// A filter naming something the goal does not have. A runtime condition of the data, not a
/// usage error.
public enum ConceptGraphError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No cluster with this id; `memberOf` is the cluster holding the concept of that name, if any.
    case unknownCluster(goal: String, cluster: String, memberOf: String?)
    /// No held concept of this name.
    case unknownConcept(goal: String, concept: String)
    /// The concept is held but not in the cluster the filter names.
    case conceptNotInCluster(goal: String, concept: String, cluster: String)

    public var description: String {
        switch self {
        case .unknownCluster(let goal, let cluster, let memberOf?):
            "goal \(goal) has no cluster \"\(cluster)\" (a cluster's id is its smallest concept); \"\(cluster)\" is in cluster \"\(memberOf)\""
        case .unknownCluster(let goal, let cluster, nil):
            "goal \(goal) has no cluster \"\(cluster)\" (a cluster's id is its smallest concept; see plughost memory clusters --goal \(goal))"
        case .unknownConcept(let goal, let concept):
            "goal \(goal) has no concept \"\(concept)\""
        case .conceptNotInCluster(let goal, let concept, let cluster):
            "concept \"\(concept)\" of goal \(goal) is not in cluster \"\(cluster)\""
        }
    }
}
