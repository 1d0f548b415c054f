import Foundation
import PlugHost

/// The normalised mutual information of a clustering with a labelled truth:
///
///     NMI = 2·I(X;Y) / (H(X) + H(Y))
///
/// where, over the labelled words only (the keys of `truth`; words without a label, such as
/// filler words, are left out), X is a word's true label and Y its cluster, with
/// p(x) = n_x/N, p(y) = n_y/N, p(x,y) = n_xy/N over the N labelled words,
/// H(X) = −Σ p(x) ln p(x), H(Y) = −Σ p(y) ln p(y) and
/// I(X;Y) = Σ p(x,y) ln(p(x,y) / (p(x) p(y))). A labelled word missing from the clustering
/// counts as a cluster of its own. NMI is 1 when the clusters equal the labels (up to names),
/// 0 when they say nothing about them (e.g. one cluster holding everything), and 1 when both
/// have a single class (H(X) + H(Y) = 0).
package enum NormalizedMutualInformation {
    /// NMI of `cluster` (word → cluster id) against `truth` (word → label).
    package static func score<Label: Hashable>(truth: [String: Label], cluster: [String: String]) -> Double {
        let n = Double(truth.count)
        if truth.isEmpty { return 1 }
        var nx: [Label: Int] = [:]
        var ny: [String: Int] = [:]
        var nxy: [Pair<Label>: Int] = [:]
        for (word, label) in truth {
            // A missing word is alone: "\u{0}" cannot start a concept key or a cluster id.
            let c = cluster[word] ?? "\u{0}" + word
            nx[label, default: 0] += 1
            ny[c, default: 0] += 1
            nxy[Pair(label: label, cluster: c), default: 0] += 1
        }
        func entropy(_ counts: [Int]) -> Double {
            counts.reduce(0) { h, k in
                let p = Double(k) / n
                return h - p * log(p)
            }
        }
        let hx = entropy(Array(nx.values)), hy = entropy(Array(ny.values))
        if hx + hy == 0 { return 1 }
        var mi = 0.0
        for (pair, k) in nxy {
            let pxy = Double(k) / n
            let px = Double(nx[pair.label]!) / n, py = Double(ny[pair.cluster]!) / n
            mi += pxy * log(pxy / (px * py))
        }
        return max(0, min(1, 2 * mi / (hx + hy)))
    }

    /// NMI of one goal's clusters against `truth`.
    package static func score<Label: Hashable>(truth: [String: Label], clusters: [Cluster]) -> Double {
        var cluster: [String: String] = [:]
        for c in clusters {
            for concept in c.concepts { cluster[concept] = c.id }
        }
        return score(truth: truth, cluster: cluster)
    }

    private struct Pair<Label: Hashable>: Hashable {
        let label: Label
        let cluster: String
    }
}
