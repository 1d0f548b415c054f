import PlugHost
import PlugHostPostgres
/// A seeded generator of memory workloads: Zipf-like concept popularity, a few dependencies,
/// some forgets. The same seed and size give the same workload.
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

    /// Creates a generator.
    package init(operations: Int, concepts: Int, seed: UInt64 = 42) {
        self.operations = operations
        self.concepts = max(4, concepts)
        self.seed = seed
    }

    /// The workload.
    package func generate() -> [WorkloadOp] {
        var rng = SplitMix64(seed: seed)
        var ops: [WorkloadOp] = []
        ops.reserveCapacity(operations)
        var live: [String] = []
        let plugins = ["text", "planner", "notes"]
        // Log-uniform ranks: P(rank) ∝ 1/rank, a Zipf law with exponent 1.
        func concept(_ goal: Int) -> String {
            let u = rng.nextDouble()
            let rank = Int(Double(concepts).squareRoot() > 0 ? pow(Double(concepts), u) : 1) - 1
            return "g\(goal)-c\(min(concepts - 1, max(0, rank)))"
        }
        var written = 0
        for _ in 0..<operations {
            if !live.isEmpty && rng.nextDouble() < forgetRate {
                let i = Int(rng.next() % UInt64(live.count))
                ops.append(.forget(live[i]))
                live.swapAt(i, live.count - 1)
                live.removeLast()
                continue
            }
            let goal = Int(rng.next() % UInt64(goals))
            let k = 2 + Int(rng.next() % 4)
            var cs: [String] = []
            for _ in 0..<k { cs.append(concept(goal)) }
            var deps: [Dependency] = []
            if rng.nextDouble() < dependencyRate {
                deps.append(Dependency(concept(goal), cs[0]))
            }
            let id = "w\(written)"
            written += 1
            live.append(id)
            ops.append(
                .write(
                    MemoryWrite(
                        goal: "goal-\(goal)", plugin: plugins[Int(rng.next() % 3)], id: id,
                        content: "memory \(id) about \(cs.joined(separator: " and "))", concepts: cs, dependsOn: deps)))
        }
        return ops
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
