import Foundation
import PlugHostCore

/// One cluster: connected concepts of a goal. Its id is its smallest member (UTF-8 byte order).
public struct Cluster: Sendable, Hashable, Codable {
    /// The cluster's id: its smallest concept.
    public var id: String
    /// Its concepts, sorted in UTF-8 byte order.
    public var concepts: [String]
    /// A cluster (the caller keeps the order rules).
    package init(id: String, concepts: [String]) {
        self.id = id
        self.concepts = concepts
    }
}

/// The clusters of one goal, sorted by id.
public struct GoalClusters: Sendable, Hashable, Codable {
    /// The goal.
    public var goal: String
    /// Its clusters, sorted by id.
    public var clusters: [Cluster]
    /// A goal's clusters (the caller keeps the order rules).
    package init(goal: String, clusters: [Cluster]) {
        self.goal = goal
        self.clusters = clusters
    }
}

/// The canonical cluster export and its digest.
///
/// The export is a JSON array sorted by goal, each `{"goal":…,"clusters":[{"id":…,"concepts":[…]}]}`
/// with clusters sorted by id; serialised by ``JSONWriter`` with no white space, keys in that order,
/// and only `"`, `\` and control characters escaped (not `/`, nor non-ASCII characters). The digest is the
/// SHA-256 of those bytes, in lower-case hex.
public enum CanonicalClusters {
    /// Groups concept → cluster-id assignments into sorted clusters.
    public static func group(goal: String, assignments: [String: String]) -> GoalClusters {
        var byID: [String: [String]] = [:]
        for (concept, cluster) in assignments { byID[cluster, default: []].append(concept) }
        let clusters = byID.keys.sorted(by: ConceptKey.precedes).map {
            Cluster(id: $0, concepts: byID[$0]!.sorted(by: ConceptKey.precedes))
        }
        return GoalClusters(goal: goal, clusters: clusters)
    }

    /// The canonical JSON text of `goals` (which must already be sorted by goal).
    public static func json(_ goals: [GoalClusters]) -> String {
        var out = JSONWriter()
        out.beginArray()
        for g in goals {
            out.beginObject()
            out.key("goal"); out.string(g.goal)
            out.key("clusters")
            out.beginArray()
            for c in g.clusters {
                out.beginObject()
                out.key("id"); out.string(c.id)
                out.key("concepts"); out.strings(c.concepts)
                out.endObject()
            }
            out.endArray()
            out.endObject()
        }
        out.endArray()
        return out.text
    }

}
