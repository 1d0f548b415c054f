import PlugHost
import PlugHostPostgres
/// A seeded generator of memory workloads: Zipf-like concept popularity, a few dependencies,
/// some forgets (``WorkloadShape/standard``), or one of the other ``WorkloadShape``s. The same
/// shape, seed and size give the same workload.
package struct WorkloadGenerator: Sendable {
    /// Total operations to generate.
    package var operations: Int
    /// Distinct concepts per goal.
    package var concepts: Int
    /// Number of goals.
    package var goals: Int = 4
    /// Fraction of operations that forget an earlier write.
    package var forgetRate: Double = 0.05
    /// Fraction of writes that declare one dependency.
    package var dependencyRate: Double = 0.2
    /// Seed.
    package var seed: UInt64 = 42
    /// The shape; other than ``WorkloadShape/standard`` it sets goals, concepts and rates itself.
    package var shape: WorkloadShape = .standard

    /// Creates a generator.
    package init(operations: Int, concepts: Int, seed: UInt64 = 42) {
        self.operations = operations
        self.concepts = max(4, concepts)
        self.seed = seed
    }

    /// A generator of `shape` (whose own goals, concepts and rates replace the defaults).
    package init(shape: WorkloadShape, operations: Int, seed: UInt64 = 42) {
        self.init(operations: shape.fixedOperations ?? operations, concepts: max(50, operations / 10), seed: seed)
        self.shape = shape
        switch shape {
        case .standard, .unicode, .chains: break
        case .zipf: break
        case .hot:
            goals = 1
            forgetRate = 0.3
        case .smallGoals:
            goals = max(1, operations / 20)
            concepts = 10
        case .million:
            goals = 1
            concepts = 100_000
        }
    }

    /// The workload.
    package func generate() -> [WorkloadOp] {
        switch shape {
        case .standard, .million: return standard(key: { "g\($0)-c\($1)" })
        case .unicode: return standard(key: Self.unicodeKey)
        case .zipf: return zipf()
        case .hot: return hot()
        case .smallGoals: return standard(key: { "g\($0)-c\($1)" })
        case .chains: return chains()
        }
    }

    /// A Unicode key for concept `rank` of goal `goal`: words of several scripts, some in upper
    /// case or decomposed (normalised by the host to one key per rank).
    static func unicodeKey(_ goal: Int, _ rank: Int) -> String {
        let words = ["Café", "cafe\u{301}", "東京", "Ωμέγα", "straße", "ÅNGSTRÖM", "naïve", "日本語", "ŒUVRE", "emoji🙂", "İstanbul", "ǅemal"]
        return "\(words[rank % words.count]) \(goal)·\(rank / words.count)"
    }

    private func write(_ id: String, goal: Int, plugin: String, _ cs: [String], _ deps: [Dependency]) -> WorkloadOp {
        .write(
            MemoryWrite(
                goal: "goal-\(goal)", plugin: plugin, id: id, content: "memory \(id) about \(cs.joined(separator: " and "))", concepts: cs,
                dependsOn: deps))
    }

    /// Shared driver: forgets at `forgetRate` of a uniformly chosen live write, otherwise a
    /// write from `make` (goal, concepts, dependencies).
    private func driven(_ rng: inout SplitMix64, _ make: (inout SplitMix64) -> (Int, [String], [Dependency])) -> [WorkloadOp] {
        var ops: [WorkloadOp] = []
        ops.reserveCapacity(operations)
        var live: [String] = []
        let plugins = ["text", "planner", "notes"]
        var written = 0
        for _ in 0..<operations {
            if !live.isEmpty && rng.nextDouble() < forgetRate {
                let i = Int(rng.next() % UInt64(live.count))
                ops.append(.forget(live[i]))
                live.swapAt(i, live.count - 1)
                live.removeLast()
                continue
            }
            let (goal, cs, deps) = make(&rng)
            let id = "w\(written)"
            written += 1
            live.append(id)
            ops.append(write(id, goal: goal, plugin: plugins[Int(rng.next() % 3)], cs, deps))
        }
        return ops
    }

    private func zipf() -> [WorkloadOp] {
        var rng = SplitMix64(seed: seed)
        // Cumulative Zipf(1.2) weights over the ranks; a draw is a binary search.
        var cdf: [Double] = []
        cdf.reserveCapacity(concepts)
        var sum = 0.0
        for r in 1...concepts {
            sum += 1 / pow(Double(r), 1.2)
            cdf.append(sum)
        }
        func concept(_ goal: Int, _ rng: inout SplitMix64) -> String {
            let u = rng.nextDouble() * sum
            var lo = 0, hi = cdf.count - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if cdf[mid] < u { lo = mid + 1 } else { hi = mid }
            }
            return "g\(goal)-z\(lo)"
        }
        return driven(&rng) { rng in
            let goal = Int(rng.next() % UInt64(goals))
            let k = 2 + Int(rng.next() % 4)
            var cs: [String] = []
            for _ in 0..<k { cs.append(concept(goal, &rng)) }
            var deps: [Dependency] = []
            if rng.nextDouble() < dependencyRate { deps.append(Dependency(concept(goal, &rng), cs[0])) }
            return (goal, cs, deps)
        }
    }

    private func hot() -> [WorkloadOp] {
        var rng = SplitMix64(seed: seed)
        return driven(&rng) { rng in
            var cs = ["hot"]
            for _ in 0..<(1 + Int(rng.next() % 3)) { cs.append("h-c\(rng.next() % UInt64(concepts))") }
            var deps: [Dependency] = []
            if rng.nextDouble() < dependencyRate { deps.append(Dependency(cs[1], "hot")) }
            return (0, cs, deps)
        }
    }

    private func chains() -> [WorkloadOp] {
        var rng = SplitMix64(seed: seed)
        return driven(&rng) { rng in
            let goal = Int(rng.next() % UInt64(goals))
            let k = 3 + Int(rng.next() % 4)
            let start = Int(rng.next() % UInt64(max(1, concepts - k)))
            let cs = (start..<(start + k)).map { "g\(goal)-l\($0)" }
            let deps = (0..<(k - 1)).map { Dependency(cs[$0], cs[$0 + 1]) }
            return (goal, cs, deps)
        }
    }

    /// Today's workload, with `key(goal, rank)` naming the concepts.
    private func standard(key: (Int, Int) -> String) -> [WorkloadOp] {
        var rng = SplitMix64(seed: seed)
        // Log-uniform ranks: P(rank) ∝ 1/rank, a Zipf law with exponent 1.
        func concept(_ goal: Int, _ rng: inout SplitMix64) -> String {
            let u = rng.nextDouble()
            let rank = Int(Double(concepts).squareRoot() > 0 ? pow(Double(concepts), u) : 1) - 1
            return key(goal, min(concepts - 1, max(0, rank)))
        }
        return driven(&rng) { rng in
            let goal = Int(rng.next() % UInt64(goals))
            let k = 2 + Int(rng.next() % 4)
            var cs: [String] = []
            for _ in 0..<k { cs.append(concept(goal, &rng)) }
            var deps: [Dependency] = []
            if rng.nextDouble() < dependencyRate { deps.append(Dependency(concept(goal, &rng), cs[0])) }
            return (goal, cs, deps)
        }
    }
}

/// A small, fast, seedable PRNG (SplitMix64).
package struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    /// Creates a generator from a seed.
    package init(seed: UInt64) { state = seed }
    /// The next 64 random bits.
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A double in [0, 1).
    package mutating func nextDouble() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

import Foundation
