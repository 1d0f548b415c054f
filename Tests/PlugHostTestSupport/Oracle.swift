import Foundation
import XCTest
import PlugHost
import PlugHostCore
import PlugHostMemory
import PlugHostSQLite
import PlugHostPostgres
import PlugHostPipeline
import PlugHostTools

// An independent oracle of the memory model, written from the model's description only:
// it shares nothing with the product beyond the public value types (MemoryWrite, Dependency,
// GoalClusters, Cluster). Everything is recomputed from scratch, with plain loops, from the set
// of live memories. The clusters are model 2's deterministic Louvain (LouvainOracle.swift).

// MARK: - Byte order and keys

package enum OracleOrder {
    /// True when `a` sorts before `b` comparing UTF-8 bytes.
    package static func less(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var i = 0
        while i < x.count && i < y.count {
            if x[i] != y[i] { return x[i] < y[i] }
            i += 1
        }
        return x.count < y.count
    }

    package static func sorted(_ s: some Sequence<String>) -> [String] { s.sorted(by: less) }
}

package enum OracleKey {
    /// The model's concept key: NFC, lower-cased, runs of white space folded to one space,
    /// trimmed.
    package static func key(_ raw: String) -> String {
        let lower = raw.precomposedStringWithCanonicalMapping.lowercased().precomposedStringWithCanonicalMapping
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in lower.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !current.isEmpty {
                    words.append(String(current))
                    current = String.UnicodeScalarView()
                }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        return words.joined(separator: " ").precomposedStringWithCanonicalMapping
    }
}

/// An unordered concept pair, `lo` before `hi` in byte order.
package struct OraclePair: Hashable {
    package let lo: String
    package let hi: String
    package init(_ x: String, _ y: String) {
        if OracleOrder.less(x, y) { lo = x; hi = y } else { lo = y; hi = x }
    }
}

// MARK: - The model

package struct OracleMemory {
    package var id: String
    package var goal: String
    package var plugin: String
    package var content: String
    /// The concept set: keys of the concepts and of both ends of each non-degenerate pair.
    package var concepts: Set<String>
    /// Unordered dependency pairs, once per memory.
    package var depPairs: Set<OraclePair>
    package var expiresAt: Double?
    /// Insertion sequence (for working-set checks).
    package var sequence: Int
    /// Directed dependency pairs `[from, to]` (keys), for the same-content rule.
    package var directedDeps: Set<[String]> = []
    /// Metadata as a JSON value re-serialised with sorted keys, for the same-content rule.
    package var metadataValue: String? = nil

    package func live(at now: Double) -> Bool { expiresAt.map { $0 > now } ?? true }
    package var sortedConcepts: [String] { OracleOrder.sorted(concepts) }
}

package enum OracleRejection: Equatable {
    case invalid(String)
    case limit(String)
    case duplicate
}

/// The whole model: live memories and what follows from them.
package final class Oracle {
    package var theta: Int
    package var memories: [String: OracleMemory] = [:]
    private var nextSequence = 0

    package init(theta: Int = 2) { self.theta = theta }

    /// Validates a write as the model says; nil when it is acceptable.
    package static func validate(_ w: MemoryWrite) -> OracleRejection? {
        if w.goal.isEmpty { return .invalid("goal") }
        if w.plugin.isEmpty { return .invalid("plugin") }
        if let id = w.id, id.isEmpty { return .invalid("id") }
        if w.concepts.count > 64 { return .limit("concepts") }
        if w.dependsOn.count > 64 { return .limit("deps") }
        if w.content.utf8.count > 1 << 20 { return .limit("content") }
        if let m = w.metadata {
            guard let o = try? JSONSerialization.jsonObject(with: Data(m.utf8)), o is [String: Any] else {
                return .invalid("metadata")
            }
        }
        if let t = w.ttlMilliseconds, t < 0 { return .invalid("ttl") }
        var raws = w.concepts
        for d in w.dependsOn { raws.append(d.from); raws.append(d.to) }
        for r in raws {
            let k = OracleKey.key(r)
            if k.isEmpty { return .invalid("empty key") }
            if k.utf8.count > 256 { return .limit("key") }
        }
        return nil
    }

    /// The concept set and dependency pairs of a (valid) write.
    package static func conceptSet(_ w: MemoryWrite) -> (Set<String>, Set<OraclePair>) {
        var set = Set<String>()
        var deps = Set<OraclePair>()
        for c in w.concepts { set.insert(OracleKey.key(c)) }
        for d in w.dependsOn {
            let a = OracleKey.key(d.from), b = OracleKey.key(d.to)
            if Array(a.utf8) == Array(b.utf8) { continue }
            set.insert(a)
            set.insert(b)
            deps.insert(OraclePair(a, b))
        }
        return (set, deps)
    }

    /// Whether a live (or not yet removed) memory holds `id`.
    package func exists(_ id: String) -> Bool { memories[id] != nil }

    /// Directed dependency pairs of a (valid) write, degenerate ones dropped.
    static func directedDeps(_ w: MemoryWrite) -> Set<[String]> {
        Set(w.dependsOn.map { [OracleKey.key($0.from), OracleKey.key($0.to)] }.filter { Array($0[0].utf8) != Array($0[1].utf8) })
    }

    /// Metadata as a value: JSONSerialization's reading, written back with sorted keys.
    static func metadataValue(_ text: String?) -> String? {
        guard let text, let o = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
            let d = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
        else { return text }
        return String(decoding: d, as: UTF8.self)
    }

    /// The id of the oldest live memory that a write without a caller-given id would return:
    /// the same goal, plugin, content, concept set, directed dependencies and metadata value.
    package func sameContent(as w: MemoryWrite, now: Double) -> String? {
        guard Oracle.validate(w) == nil else { return nil }
        let (cs, _) = Oracle.conceptSet(w)
        let deps = Oracle.directedDeps(w)
        let meta = Oracle.metadataValue(w.metadata)
        return memories.values.filter {
            $0.live(at: now) && $0.goal == w.goal && $0.plugin == w.plugin && Array($0.content.utf8) == Array(w.content.utf8)
                && $0.concepts == cs && $0.directedDeps == deps && $0.metadataValue == meta
        }.min { $0.sequence < $1.sequence }?.id
    }

    /// Applies a write with its final id; returns why it is rejected, or nil. A write without a
    /// caller-given id (`w.id == nil`) whose content a live memory has (``sameContent(as:now:)``)
    /// changes nothing: it is that memory (its id is what the write returns; `id` is not used).
    @discardableResult
    package func write(_ w: MemoryWrite, id: String, now: Double) -> OracleRejection? {
        if let r = Oracle.validate(w) { return r }
        if w.id == nil, sameContent(as: w, now: now) != nil { return nil }
        if memories[id] != nil { return .duplicate }
        let (cs, deps) = Oracle.conceptSet(w)
        let expires: Double? = (w.ttlMilliseconds ?? 0) > 0 ? now + Double(w.ttlMilliseconds!) / 1000 : nil
        memories[id] = OracleMemory(
            id: id, goal: w.goal, plugin: w.plugin, content: w.content, concepts: cs, depPairs: deps,
            expiresAt: expires, sequence: nextSequence, directedDeps: Oracle.directedDeps(w),
            metadataValue: Oracle.metadataValue(w.metadata))
        nextSequence += 1
        return nil
    }

    /// Forgets `id` (only in `goal` when given); whether it was there.
    @discardableResult
    package func forget(_ id: String, goal: String? = nil) -> Bool {
        guard let m = memories[id] else { return false }
        if let goal, goal != m.goal { return false }
        memories.removeValue(forKey: id)
        return true
    }

    /// Drops memories expired at `now` (what a sweep does).
    package func sweep(now: Double) {
        for (id, m) in memories where !m.live(at: now) { memories.removeValue(forKey: id) }
    }

    package func liveMemories(goal: String, now: Double) -> [OracleMemory] {
        memories.values.filter { $0.goal == goal && $0.live(at: now) }
    }

    package func goals(now: Double) -> [String] {
        var gs = Set<String>()
        for m in memories.values where m.live(at: now) { gs.insert(m.goal) }
        return OracleOrder.sorted(gs)
    }

    /// Holder counts, co and dep counts of a goal, from scratch.
    package func counts(goal: String, now: Double) -> (concepts: [String: Int], co: [OraclePair: Int], dep: [OraclePair: Int]) {
        var concepts: [String: Int] = [:]
        var co: [OraclePair: Int] = [:]
        var dep: [OraclePair: Int] = [:]
        for m in liveMemories(goal: goal, now: now) {
            let cs = m.sortedConcepts
            for c in cs { concepts[c, default: 0] += 1 }
            var i = 0
            while i < cs.count {
                var j = i + 1
                while j < cs.count {
                    co[OraclePair(cs[i], cs[j]), default: 0] += 1
                    j += 1
                }
                i += 1
            }
            for p in m.depPairs { dep[p, default: 0] += 1 }
        }
        return (concepts, co, dep)
    }

    /// The canonical clusters of every goal with at least one held concept.
    package func clusters(now: Double) -> [GoalClusters] {
        var out: [GoalClusters] = []
        for goal in goals(now: now) {
            let (concepts, co, dep) = counts(goal: goal, now: now)
            if concepts.isEmpty { continue }
            // Model 2: the deterministic Louvain over the goal graph, edge weight co + dep.
            var pairs = Set(co.keys)
            pairs.formUnion(dep.keys)
            var edges: [(a: String, b: String, weight: Int64)] = []
            for p in pairs where (co[p] ?? 0) >= theta || (dep[p] ?? 0) >= 1 {
                edges.append((p.lo, p.hi, Int64((co[p] ?? 0) + (dep[p] ?? 0))))
            }
            var clusters = LouvainOracle.clusters(concepts: concepts.keys, edges: edges).map {
                Cluster(id: $0[0], concepts: $0)
            }
            clusters.sort { OracleOrder.less($0.id, $1.id) }
            out.append(GoalClusters(goal: goal, clusters: clusters))
        }
        return out
    }

    /// Counts of a goal as text lines, for comparing with an engine's snapshot.
    package func countsText(goal: String, now: Double) -> String {
        let (concepts, co, dep) = counts(goal: goal, now: now)
        var lines: [String] = []
        for (c, n) in concepts { lines.append("c \(c) \(n)") }
        var pairs = Set(co.keys)
        pairs.formUnion(dep.keys)
        for p in pairs { lines.append("e \(p.lo)|\(p.hi) \(co[p] ?? 0) \(dep[p] ?? 0)") }
        return OracleOrder.sorted(lines).joined(separator: "\n")
    }

    /// The ids of live memories of `goal` holding concept key `key`.
    package func holders(goal: String, key: String, now: Double) -> Set<String> {
        Set(liveMemories(goal: goal, now: now).filter { $0.concepts.contains(key) }.map(\.id))
    }
}

/// The same counts text for an engine snapshot.
package func engineCountsText(_ s: ConceptGraphSnapshot) -> String {
    var lines: [String] = []
    for (c, n) in s.concepts { lines.append("c \(c) \(n)") }
    for e in s.edges { lines.append("e \(e.a)|\(e.b) \(e.counts.co) \(e.counts.dep)") }
    return OracleOrder.sorted(lines).joined(separator: "\n")
}

// MARK: - Canonical JSON, written independently

package enum OracleJSON {
    package static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0..<0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    package static func json(_ goals: [GoalClusters]) -> String {
        let gs = goals.map { g in
            let cs = g.clusters.map { c in
                "{\"id\":\(string(c.id)),\"concepts\":[\(c.concepts.map(string).joined(separator: ","))]}"
            }
            return "{\"goal\":\(string(g.goal)),\"clusters\":[\(cs.joined(separator: ","))]}"
        }
        return "[" + gs.joined(separator: ",") + "]"
    }
}

// MARK: - A seeded PRNG for the tests (xorshift64*), independent of the product's.

package struct OracleRNG {
    private var state: UInt64
    package init(seed: UInt64) { state = seed &* 0x2545_F491_4F6C_DD1D | 1 }
    package mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    package mutating func int(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    package mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + int(r.count) }
    package mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
    package mutating func pick<T>(_ a: [T]) -> T { a[int(a.count)] }
    package mutating func shuffle<T>(_ a: inout [T]) {
        if a.count < 2 { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, int(i + 1)) }
    }
}

// MARK: - Helpers shared by the tests

/// Canonical JSON bytes of a service's clusters.
package func clusterBytes(_ s: MemoryService) throws -> [UInt8] { Array(CanonicalClusters.json(try s.clusters()).utf8) }

/// Readable form of a bytes array for failure messages.
package func oracleText(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

package func makeMemoryService(
    optimized: Bool, clock: ManualClock, engine: any MemoryEngine = InMemoryEngine(), theta: Int32 = 2,
    background: Bool = false, threshold: Int = 10, timeout: Double = 5,
    configure: (inout MemoryConfiguration) -> Void = { _ in }
) throws -> MemoryService {
    var c = MemoryConfiguration()
    c.optimized = optimized
    c.clock = clock
    c.theta = theta
    c.backgroundClustering = background
    c.clusteringThreshold = threshold
    c.clusteringTimeout = timeout
    configure(&c)
    return try MemoryService(engine: engine, configuration: c)
}
