import Foundation
import PlugHostCore

/// One cluster: connected concepts of a goal. Its id is its smallest member (UTF-8 byte order).
public struct Cluster: Sendable, Hashable, Codable {
    /// The cluster's id: its smallest concept.
    public var id: String
    /// Its concepts, sorted in UTF-8 byte order.
    public var concepts: [String]
}

/// The clusters of one goal, sorted by id.
public struct GoalClusters: Sendable, Hashable, Codable {
    /// The goal.
    public var goal: String
    /// Its clusters, sorted by id.
    public var clusters: [Cluster]
}

/// The canonical cluster export and its digest.
///
/// The export is a JSON array sorted by goal, each `{"goal":…,"clusters":[{"id":…,"concepts":[…]}]}`
/// with clusters sorted by id; serialised with no white space, keys in that order, and only `"`,
/// `\` and control characters escaped (non-ASCII characters unescaped). The digest is the
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
        var out = "["
        for (gi, g) in goals.enumerated() {
            if gi > 0 { out += "," }
            out += "{\"goal\":"
            appendString(g.goal, to: &out)
            out += ",\"clusters\":["
            for (ci, c) in g.clusters.enumerated() {
                if ci > 0 { out += "," }
                out += "{\"id\":"
                appendString(c.id, to: &out)
                out += ",\"concepts\":["
                for (k, concept) in c.concepts.enumerated() {
                    if k > 0 { out += "," }
                    appendString(concept, to: &out)
                }
                out += "]}"
            }
            out += "]}"
        }
        out += "]"
        return out
    }

    /// Appends `s` as a JSON string literal.
    package static func appendString(_ s: String, to out: inout String) { JSONString.append(s, to: &out) }
}
