import Dispatch
import Foundation
import Synchronization
import XCTest
import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPostgres
@testable import PlugHostPipeline
@testable import PlugHostTools

/// Spellings of concepts, grouped by the key they normalise to (some groups hold non-ASCII and
/// white-space variants of the same key).
let oracleSpellingGroups: [[String]] = [
    ["a", "A", " a"],
    ["b c", "  B   c ", "b\tc", "B\u{00A0}C", "b\u{3000}c"],
    ["café", "Café", "cafe\u{0301}", "CAFE\u{0301}", " Cafe\u{0301}\n"],
    ["ß", "ß\t"],
    ["ss", "SS", "Ss"],
    ["d", "D"],
    ["ärger", "A\u{0308}rger", "ÄRGER"],
    ["z", "Z "],
    ["İ", "i\u{0307}"],
    ["東京"],
    ["x\"y", "X\"Y"],
    ["back\\slash", "BACK\\SLASH"],
    ["e"], ["f"], ["g"], ["h"],
]

/// The shapes of generated workloads (issue 16's exactness tests). `mixed` is the original
/// generator: a few spelling groups, some dependencies, one to three goals.
enum PropertyShape: CaseIterable {
    case mixed
    /// Zipf-popular concepts: rank r is picked with probability ∝ 1/r among 40 concepts.
    case zipf
    /// One giant component: a hub concept in most writes (run with many forgets).
    case giant
    /// Many small goals (12), one to three concepts a write.
    case manyGoals
    /// Long dependency chains: writes declare links `chain i → chain i+1` over 30 concepts.
    case chains
    /// Unicode keys only: non-ASCII letters, CJK, emoji, combining marks and their spellings.
    case unicode
}

/// Unicode spelling groups for the `unicode` shape (keys in orders where UTF-8 and UTF-16 differ).
let unicodeSpellingGroups: [[String]] = [
    ["ｙ", "Ｙ"], ["😀"], ["😀 ｙ", " 😀\tＹ "], ["東京"], ["東京 タワー", "東京\u{3000}タワー"], ["é", "e\u{0301}", "É"],
    ["ärger", "A\u{0308}rger"], ["ß"], ["İ", "i\u{0307}"], ["ω", "Ω"], ["ﬁ"], ["\u{1F1EB}\u{1F1F7}"], ["한국어"], ["z"],
]

/// What a generated write is expected to do.
struct GeneratedWrite {
    var write: MemoryWrite
    var logical: String
}

/// Drives several services (eager and optimized variants) and the oracle with the same random
/// workload, comparing them at every flush point.
final class PropertyHarness {
    struct Options {
        var checkRecall = false
        var checkWorkingSet = false
        var reuseForgottenIDs = true
        var steps = 150
        var flushChance = 0.12
        var useTTL = true
        var forgetPercent = 15
        var vocabularyGroups: ClosedRange<Int> = 4...9
        var shape: PropertyShape = .mixed
        /// The engine every service writes to (each its own fresh store).
        var engine: EngineKind = .memory
    }

    let seed: UInt64
    let clock = ManualClock()
    var rng: OracleRNG
    let oracle: Oracle
    let names: [String]
    let services: [MemoryService]
    var idMaps: [[String: String]]
    var reverseMaps: [[String: String]]
    var options: Options
    var vocabulary: [[String]]
    let goals: [String]
    var callerCounter = 0
    var hostCounter = 0
    var unknownCounter = 0
    var forgottenLogical: [String] = []
    var reusableCallerIDs: Set<String> = []
    var lastChunk: [String] = []
    var failed = false
    var step = 0
    var flushes = 0

    /// The stores of the services (empty for the in-memory engine).
    var stores: [TestStore] = []

    /// `test` is needed for an engine other than the in-memory one (its stores are removed when
    /// the test ends).
    init(seed: UInt64, options: Options = Options(), test: XCTestCase? = nil) throws {
        self.seed = seed
        self.options = options
        rng = OracleRNG(seed: seed)
        let theta = Int32(rng.pick([1, 2, 2, 2, 3]))
        oracle = Oracle(theta: Int(theta))
        var groups = oracleSpellingGroups
        rng.shuffle(&groups)
        vocabulary = Array(groups.prefix(rng.int(options.vocabularyGroups)))
        if options.vocabularyGroups.upperBound > oracleSpellingGroups.count {
            vocabulary += (0..<(options.vocabularyGroups.upperBound - oracleSpellingGroups.count)).map { ["v\($0)", "V\($0) "] }
        }
        switch options.shape {
        case .mixed, .giant: break
        case .zipf: vocabulary = (0..<40).map { ["z\($0)", "Z\($0)"] }
        case .manyGoals: vocabulary = (0..<8).map { ["m\($0)", " M\($0)"] }
        case .chains: vocabulary = (0..<30).map { ["chain \($0)", "Chain  \($0)"] }
        case .unicode: vocabulary = unicodeSpellingGroups
        }
        if options.shape == .giant { vocabulary.insert(["hub", "HUB"], at: 0) }
        goals =
            options.shape == .manyGoals
            ? (0..<12).map { "goal-\($0)" } : Array(["g1", "g2", "Ziel-ü", "g\"q"].prefix(rng.int(1...3)))
        let threshold = rng.int(1...12)
        names = ["eager", "optimized(threshold \(threshold))", "optimized(background, maxBatch 3)"]
        var engines: [any MemoryEngine] = []
        var stores: [TestStore] = []
        for _ in 0..<3 {
            if options.engine == .memory {
                engines.append(InMemoryEngine())
            } else {
                guard let test else { throw MemoryError(.invalid, "a \(options.engine) harness needs its test") }
                let store = try TestStore.fresh(options.engine, for: test)
                stores.append(store)
                engines.append(try store.open())
            }
        }
        self.stores = stores
        services = [
            try makeMemoryService(optimized: false, clock: clock, engine: engines[0], theta: theta),
            try makeMemoryService(optimized: true, clock: clock, engine: engines[1], theta: theta, threshold: threshold),
            try makeMemoryService(
                optimized: true, clock: clock, engine: engines[2], theta: theta, background: true, threshold: 3, timeout: 0.5
            ) {
                $0.maxBatchOperations = 3
                $0.cacheCapacity = 2
            },
        ]
        idMaps = Array(repeating: [:], count: services.count)
        reverseMaps = Array(repeating: [:], count: services.count)
    }

    func fail(_ message: String, file: StaticString = #filePath, line: UInt = #line) {
        if !failed {
            XCTFail("seed \(seed), step \(step), flush \(flushes): \(message)", file: file, line: line)
        }
        failed = true
    }

    // MARK: generation

    func spelling() -> String {
        switch options.shape {
        case .zipf:
            // Log-uniform rank: P(rank r) ∝ 1/r.
            let rank = Int(pow(Double(vocabulary.count + 1), Double(rng.next() >> 11) / Double(1 << 53))) - 1
            return rng.pick(vocabulary[min(vocabulary.count - 1, max(0, rank))])
        case .giant where rng.chance(0.25):
            return rng.pick(vocabulary[0])
        default:
            return rng.pick(rng.pick(vocabulary))
        }
    }

    /// The concepts and dependencies of a generated write, by shape.
    func conceptsAndDependencies() -> ([String], [Dependency]) {
        var concepts: [String] = []
        var deps: [Dependency] = []
        switch options.shape {
        case .manyGoals:
            for _ in 0..<rng.int(1...3) { concepts.append(spelling()) }
        case .chains:
            // One to three links of the chain, sometimes with a concept of its own.
            let start = rng.int(vocabulary.count - 1)
            for i in start..<min(vocabulary.count - 1, start + rng.int(1...3)) {
                deps.append(Dependency(rng.pick(vocabulary[i]), rng.pick(vocabulary[i + 1])))
            }
            if rng.chance(0.3) { concepts.append(spelling()) }
            if deps.isEmpty { concepts.append(spelling()) }
        case .giant:
            if rng.chance(0.8) { concepts.append(rng.pick(vocabulary[0])) }
            for _ in 0..<rng.int(1...4) { concepts.append(spelling()) }
        default:
            for _ in 0..<rng.int(1...6) { concepts.append(spelling()) }
        }
        if options.shape != .chains && rng.chance(0.35) {
            for _ in 0..<rng.int(1...2) { deps.append(Dependency(spelling(), spelling())) }
        }
        return (concepts, deps)
    }

    /// Closes the services of a harness over stores (a flushed in-memory engine needs nothing).
    func close() throws {
        if options.engine != .memory { for s in services { try s.close() } }
    }

    func liveCallerIDsWithoutTTL() -> [String] {
        oracle.memories.values.filter { $0.expiresAt == nil && !$0.id.hasPrefix("h#") }.map(\.id).sorted()
    }

    func generateWrite(earlierInChunk: [GeneratedWrite]) -> GeneratedWrite {
        let goal = rng.pick(goals)
        let plugin = rng.pick(["p1", "p2", "plügin"])
        var (concepts, deps) = conceptsAndDependencies()
        var ttl: Int64?
        if options.useTTL && rng.chance(0.12) { ttl = Int64(rng.int(200...4000)) }
        if rng.chance(0.03) { ttl = 0 }
        var metadata: String?
        if rng.chance(0.1) { metadata = "{\"n\":\(rng.int(100)),\"s\":\"ü\"}" }
        // Occasionally an invalid write, rejected whole.
        if rng.chance(0.03) {
            switch rng.int(5) {
            case 0: concepts.append(" \t\u{3000} ")
            case 1: deps.append(Dependency("", "a"))
            case 2: metadata = "[1,2]"
            case 3: ttl = -1
            default: concepts = (0..<65).map { "k\($0)" }
            }
        }
        var id: String?
        var logical: String
        let r = rng.int(100)
        let earlierCaller = earlierInChunk.compactMap(\.write.id)
        if r < 4, !liveCallerIDsWithoutTTL().isEmpty {
            id = rng.pick(liveCallerIDsWithoutTTL())  // duplicate of a live memory: rejected
        } else if r < 6, !earlierCaller.isEmpty {
            id = rng.pick(earlierCaller)  // duplicate inside the chunk
        } else if r < 12, options.reuseForgottenIDs, !reusableCallerIDs.isEmpty {
            let reused = rng.pick(reusableCallerIDs.sorted())
            if !earlierCaller.contains(reused) { id = reused }
        } else if r < 55 {
            callerCounter += 1
            id = rng.chance(0.2) ? "ü-\(callerCounter)" : "c\(callerCounter)"
        }
        if let id {
            logical = id
        } else {
            hostCounter += 1
            logical = "h#\(hostCounter)"
        }
        let w = MemoryWrite(
            goal: goal, plugin: plugin, id: id, content: "memory \(logical) \(concepts.joined(separator: " "))",
            concepts: concepts, dependsOn: deps, metadata: metadata, ttlMilliseconds: ttl)
        return GeneratedWrite(write: w, logical: logical)
    }

    // MARK: applying

    func actual(_ logical: String, _ s: Int) -> String { idMaps[s][logical] ?? logical }

    func submitWrites(_ chunk: [GeneratedWrite]) {
        let now = clock.now()
        // The oracle applies the chunk in order.
        var expected: [OracleRejection?] = []
        for g in chunk { expected.append(oracle.write(g.write, id: g.logical, now: now)) }
        for g in chunk where g.write.id != nil { reusableCallerIDs.remove(g.logical) }
        let oneByOne = rng.chance(0.4)
        for (s, service) in services.enumerated() {
            var results: [Result<String, MemoryError>]
            if oneByOne {
                results = chunk.map { g in
                    do { return .success(try service.write(g.write)) } catch let e as MemoryError {
                        return .failure(e)
                    } catch { return .failure(MemoryError(.storage, "\(error)")) }
                }
            } else {
                results = service.write(chunk.map(\.write))
            }
            for (i, r) in results.enumerated() {
                let g = chunk[i]
                switch (r, expected[i]) {
                case (.success(let id), nil):
                    if let given = g.write.id, given != id { fail("\(names[s]): caller id \(given) came back as \(id)") }
                    idMaps[s][g.logical] = id
                    reverseMaps[s][id] = g.logical
                case (.failure(let e), let rej?):
                    switch rej {
                    case .limit: if e.code != .limit { fail("\(names[s]): \(g.logical) rejected with \(e.code), expected limit: \(e)") }
                    case .invalid, .duplicate:
                        if e.code != .invalid { fail("\(names[s]): \(g.logical) rejected with \(e.code), expected invalid: \(e)") }
                    }
                case (.success(let id), let rej?):
                    fail("\(names[s]): write \(g.logical) accepted as \(id), the model rejects it (\(rej)): \(g.write)")
                case (.failure(let e), nil):
                    fail("\(names[s]): write \(g.logical) rejected (\(e)), the model accepts it: \(g.write)")
                }
            }
        }
        lastChunk = zip(chunk, expected).filter { $0.1 == nil }.map(\.0.logical)
        // Read your writes: every acknowledged write is readable and recallable at once.
        for (g, rej) in zip(chunk, expected) where rej == nil {
            guard let om = oracle.memories[g.logical], om.live(at: clock.now()) else { continue }
            let concept = om.sortedConcepts[rng.int(om.concepts.count)]
            for (s, service) in services.enumerated() {
                let id = actual(g.logical, s)
                guard let m = try? service.memory(id: id) else {
                    fail("\(names[s]): acknowledged \(g.logical) (\(id)) not readable")
                    continue
                }
                if m.concepts.map({ Array($0.utf8) }) != om.sortedConcepts.map({ Array($0.utf8) }) {
                    fail("\(names[s]): \(g.logical) concepts \(m.concepts), model \(om.sortedConcepts)")
                }
                let recalled = (try? service.recall(goal: om.goal, .concept(concept), limit: 100_000)) ?? []
                if !recalled.contains(where: { $0.memory.id == id }) {
                    fail("\(names[s]): acknowledged \(g.logical) not recalled by concept \(concept.debugDescription)")
                }
            }
        }
    }

    func submitForgets(_ targets: [(logical: String, goal: String?)]) {
        let now = clock.now()
        var expected: [Bool?] = []
        for t in targets {
            let m = oracle.memories[t.logical]
            let expired = m.map { !$0.live(at: now) } ?? false
            let found = oracle.forget(t.logical, goal: t.goal)
            expected.append(expired ? nil : found)
            if found {
                forgottenLogical.append(t.logical)
                if !t.logical.hasPrefix("h#") { reusableCallerIDs.insert(t.logical) }
            }
        }
        let batch = targets.allSatisfy { $0.goal == nil } && rng.chance(0.6)
        for (s, service) in services.enumerated() {
            var results: [Bool?] = []
            if batch {
                results = service.forget(ids: targets.map { actual($0.logical, s) }).map { r in
                    switch r {
                    case .success(let b): return b
                    case .failure(let e):
                        fail("\(names[s]): forget failed: \(e)")
                        return nil
                    }
                }
            } else {
                for t in targets {
                    do {
                        if let goal = t.goal {
                            results.append(try service.forget(id: actual(t.logical, s), goal: goal))
                        } else {
                            results.append(try service.forget(id: actual(t.logical, s)))
                        }
                    } catch {
                        fail("\(names[s]): forget failed: \(error)")
                        results.append(nil)
                    }
                }
            }
            for (i, r) in results.enumerated() {
                guard let want = expected[i], let r else { continue }
                if r != want { fail("\(names[s]): forget \(targets[i]) returned \(r), the model says \(want)") }
            }
        }
    }

    func forgetTargets() -> [(logical: String, goal: String?)] {
        var out: [(String, String?)] = []
        for _ in 0..<rng.int(1...4) {
            let r = rng.int(100)
            var logical: String
            if r < 40, !lastChunk.isEmpty {
                logical = rng.pick(lastChunk)
            } else if r < 75, !oracle.memories.isEmpty {
                logical = rng.pick(oracle.memories.keys.sorted())
            } else if r < 85 || forgottenLogical.isEmpty {
                unknownCounter += 1
                logical = "unknown-\(unknownCounter)"
            } else {
                logical = rng.pick(forgottenLogical)
            }
            var goal: String?
            if rng.chance(0.3) {
                // The right goal, or (sometimes) a wrong one: then nothing is forgotten.
                goal = oracle.memories[logical]?.goal ?? rng.pick(goals)
                if rng.chance(0.3) { goal = rng.pick(goals + ["elsewhere"]) }
            }
            out.append((logical, goal))
        }
        return out
    }

    // MARK: checking

    func flushAndCompare() throws {
        flushes += 1
        for s in services { try s.flush() }
        oracle.sweep(now: clock.now())
        // Ids of memories that expired and were swept are free again.
        for id in Array(reusableCallerIDs) where oracle.memories[id] != nil { reusableCallerIDs.remove(id) }
        let now = clock.now()
        let want = Array(OracleJSON.json(oracle.clusters(now: now)).utf8)
        var digests: [String] = []
        var arrays: [[GoalClusters]] = []
        for (s, service) in services.enumerated() {
            let got = try service.clusters()
            arrays.append(got)
            digests.append(CanonicalClusters.digest(got))
            let bytes = Array(CanonicalClusters.json(got).utf8)
            if bytes != want {
                fail("\(names[s]): clusters differ from the model\n got \(oracleText(bytes))\nwant \(oracleText(want))")
                return
            }
            let differing = try service.verifyClusters()
            if !differing.isEmpty { fail("\(names[s]): verifyClusters reports \(differing)") }
            // Counts as stored by the engine.
            var goalsToCheck = Set(goals)
            goalsToCheck.formUnion(try service.engine.goals())
            for goal in goalsToCheck.sorted() {
                let e = engineCountsText(try service.engine.conceptGraph(goal: goal))
                let o = oracle.countsText(goal: goal, now: now)
                if Array(e.utf8) != Array(o.utf8) { fail("\(names[s]): goal \(goal) counts differ\n got \(e)\nwant \(o)") }
            }
            // Every live memory readable, every forgotten one gone.
            for (logical, om) in oracle.memories {
                let id = actual(logical, s)
                guard let m = try service.memory(id: id) else {
                    fail("\(names[s]): live memory \(logical) (\(id)) not readable")
                    continue
                }
                if m.goal != om.goal || m.plugin != om.plugin || m.content != om.content
                    || m.concepts.map({ Array($0.utf8) }) != om.sortedConcepts.map({ Array($0.utf8) })
                {
                    fail("\(names[s]): memory \(logical) is \(m), model \(om)")
                }
            }
            for logical in forgottenLogical where oracle.memories[logical] == nil {
                if try service.memory(id: actual(logical, s)) != nil {
                    fail("\(names[s]): forgotten memory \(logical) still readable")
                }
            }
            if options.checkRecall { try checkRecall(s, service, now: now) }
            if options.checkWorkingSet { try checkWorkingSet(s, service) }
        }
        for i in 1..<arrays.count where arrays[i] != arrays[0] || digests[i] != digests[0] {
            fail("\(names[i]) and \(names[0]) disagree: \(digests[i]) vs \(digests[0])")
        }
    }

    func checkRecall(_ s: Int, _ service: MemoryService, now: Double) throws {
        for goal in goals {
            for group in vocabulary {
                let key = OracleKey.key(group[0])
                let want = oracle.holders(goal: goal, key: key, now: now)
                let got = try service.recall(goal: goal, .concept(rng.pick(group)), limit: 100_000)
                let gotLogical = Set(got.map { reverseMaps[s][$0.memory.id] ?? $0.memory.id })
                if gotLogical != want {
                    fail(
                        "\(names[s]): recall(\(goal), \(key)) gave \(gotLogical.sorted()), model \(want.sorted()) "
                            + "(extra: \(got.filter { !want.contains(reverseMaps[s][$0.memory.id] ?? $0.memory.id) }.map(\.memory)))")
                }
            }
        }
    }

    func checkWorkingSet(_ s: Int, _ service: MemoryService) throws {
        guard service.configuration.optimized else { return }
        var c = service.configuration
        c.backgroundClustering = false
        let fresh = try MemoryService(engine: service.engine, configuration: c)
        for goal in goals {
            for plugin in ["p1", "p2", "plügin"] {
                let cached = try service.context(goal: goal, plugin: plugin)
                let loaded = try fresh.context(goal: goal, plugin: plugin)
                if Set(cached.recent) != Set(loaded.recent) {
                    fail(
                        "\(names[s]): cached working set of (\(goal), \(plugin)) is \(cached.recent.sorted()), "
                            + "the engine's is \(loaded.recent.sorted())")
                }
            }
        }
    }

    // MARK: the run

    func run() throws {
        while step < options.steps && !failed {
            step += 1
            let r = rng.int(100)
            if r < options.forgetPercent {
                submitForgets(forgetTargets())
            } else if r < options.forgetPercent + 7 {
                clock.advance(Double(rng.int(1...2500)) / 1000)
            } else {
                var chunk: [GeneratedWrite] = []
                for _ in 0..<rng.int(1...8) { chunk.append(generateWrite(earlierInChunk: chunk)) }
                submitWrites(chunk)
            }
            if rng.chance(options.flushChance) { try flushAndCompare() }
        }
        if !failed { try flushAndCompare() }
    }
}

final class WritePathPropertyTests: XCTestCase {
    /// At every flush point the eager service, two optimized services and the oracle give the
    /// same canonical clusters, counts and memories.
    func testServicesAndOracleAgreeAtEveryFlushPoint() throws {
        var flushes = 0
        for seed in UInt64(1)...UInt64(seedCount(40)) {
            let h = try PropertyHarness(seed: seed)
            try h.run()
            flushes += h.flushes
            if h.failed { break }
        }
        XCTAssertGreaterThan(flushes, 200)
    }

    /// Seeds to run: `default`, or PLUGHOST_PROPERTY_SEEDS for a longer hunt.
    private func seedCount(_ defaultCount: Int) -> Int {
        ProcessInfo.processInfo.environment["PLUGHOST_PROPERTY_SEEDS"].flatMap(Int.init) ?? defaultCount
    }

    /// A larger vocabulary and many forgets: more, smaller clusters that split often.
    func testForgetHeavyWorkloadsWithLargerVocabularies() throws {
        for seed in UInt64(500)...UInt64(500 + seedCount(12)) {
            let h = try PropertyHarness(seed: seed, options: .init(steps: 150, forgetPercent: 35, vocabularyGroups: 10...24))
            try h.run()
            if h.failed { break }
        }
    }

    /// Every workload shape (Zipf-popular concepts, a giant component with forget churn, many
    /// small goals, long dependency chains, Unicode keys): eager, optimized and the oracle agree
    /// at every flush.
    func testWorkloadShapesAgreeAtEveryFlushPoint() throws {
        var flushes = 0
        for shape in PropertyShape.allCases where shape != .mixed {
            for seed in UInt64(700)...UInt64(700 + seedCount(5)) {
                let forgets = shape == .giant ? 35 : 15
                let h = try PropertyHarness(seed: seed, options: .init(steps: 150, forgetPercent: forgets, shape: shape))
                try h.run()
                flushes += h.flushes
                if h.failed { return XCTFail("shape \(shape)") }
            }
        }
        XCTAssertGreaterThan(flushes, 200)
    }

    /// The same in the stored engines: SQLite files and PostgreSQL databases (skipped without a
    /// server), every shape, fewer seeds (each write of the eager path re-clusters in the engine).
    func testStoredEnginesAgreeAtEveryFlushPoint() throws {
        try forEachKind(self) { kind in
            guard kind != .memory else { return }
            for shape in PropertyShape.allCases {
                // PostgreSQL is ~10× slower a write here: one seed of fewer steps a shape.
                let seeds = kind == .postgres ? 0 : seedCount(2)
                for seed in UInt64(800)...UInt64(800 + seeds) {
                    let forgets = shape == .giant ? 35 : 15
                    let steps = kind == .postgres ? 40 : 60
                    let h = try PropertyHarness(
                        seed: seed, options: .init(checkRecall: true, steps: steps, forgetPercent: forgets, shape: shape, engine: kind),
                        test: self)
                    try h.run()
                    try h.close()
                    if h.failed { return XCTFail("\(kind), shape \(shape)") }
                }
            }
        }
    }

    /// Large chunks (group commits with many batches per goal) and no TTL.
    func testLargeChunksAgree() throws {
        for seed in UInt64(100)...105 {
            let h = try PropertyHarness(seed: seed, options: .init(steps: 40, flushChance: 0.2, useTTL: false))
            // Bigger chunks: submit 20–60 writes at a time.
            while h.step < 40 && !h.failed {
                h.step += 1
                var chunk: [GeneratedWrite] = []
                for _ in 0..<h.rng.int(20...60) { chunk.append(h.generateWrite(earlierInChunk: chunk)) }
                h.submitWrites(chunk)
                if h.rng.chance(0.5) { h.submitForgets(h.forgetTargets() + h.forgetTargets()) }
                if h.rng.chance(0.2) { try h.flushAndCompare() }
            }
            if !h.failed { try h.flushAndCompare() }
            if h.failed { break }
        }
    }

    /// stats.writes counts exactly the acknowledged writes, in every variant.
    func testStatsCountAcknowledgedWrites() throws {
        let h = try PropertyHarness(seed: 77, options: .init(steps: 80, useTTL: false))
        var acknowledged = 0
        while h.step < 80 && !h.failed {
            h.step += 1
            var chunk: [GeneratedWrite] = []
            for _ in 0..<h.rng.int(1...6) { chunk.append(h.generateWrite(earlierInChunk: chunk)) }
            h.submitWrites(chunk)
            acknowledged += h.lastChunk.count
        }
        try h.flushAndCompare()
        for (s, service) in h.services.enumerated() {
            XCTAssertEqual(service.stats.writes, acknowledged, h.names[s])
        }
    }

    /// Recall by concept returns exactly the live memories holding the concept (forgotten ids
    /// are reused for other memories).
    func testRecallMatchesOracleAtFlushPoints() throws {
        for seed in UInt64(200)...215 {
            let h = try PropertyHarness(seed: seed, options: .init(checkRecall: true, steps: 120))
            try h.run()
            if h.failed { break }
        }
    }

    /// Recall by concept, without reusing ids after a forget.
    func testRecallMatchesOracleWithoutIDReuse() throws {
        for seed in UInt64(300)...315 {
            let h = try PropertyHarness(seed: seed, options: .init(checkRecall: true, reuseForgottenIDs: false, steps: 120))
            try h.run()
            if h.failed { break }
        }
    }

    /// Permuting the writes inside a submitted chunk changes nothing.
    func testPermutingAChunkChangesNothing() throws {
        for seed in UInt64(1)...25 {
            var rng = OracleRNG(seed: seed &* 7919)
            let clock = ManualClock()
            let theta = Int32(rng.pick([1, 2, 3]))
            // A common prefix, then one chunk, submitted in order and permuted.
            let gen = try PropertyHarness(seed: seed &+ 5000, options: .init(reuseForgottenIDs: false, useTTL: false))
            var prefix: [GeneratedWrite] = []
            for _ in 0..<rng.int(5...30) { prefix.append(gen.generateWrite(earlierInChunk: [])) }
            var chunk: [GeneratedWrite] = []
            for _ in 0..<rng.int(2...25) { chunk.append(gen.generateWrite(earlierInChunk: [])) }
            // No duplicate ids inside the chunk (their order would decide which one wins).
            var seenIDs = Set<String>()
            chunk = chunk.filter { $0.write.id == nil || seenIDs.insert($0.write.id!).inserted }
            let forgets = prefix.compactMap(\.write.id).filter { _ in rng.chance(0.3) }
            var permuted = chunk
            rng.shuffle(&permuted)

            let oracle = Oracle(theta: Int(theta))
            for g in prefix { oracle.write(g.write, id: g.logical, now: clock.now()) }
            for id in forgets { oracle.forget(id) }
            for g in chunk { oracle.write(g.write, id: g.logical, now: clock.now()) }
            let want = Array(OracleJSON.json(oracle.clusters(now: clock.now())).utf8)

            var outputs: [[UInt8]] = []
            for optimized in [true, false] {
                for order in [chunk, permuted] {
                    let s = try makeMemoryService(optimized: optimized, clock: clock, theta: theta, threshold: rng.int(1...30))
                    _ = s.write(prefix.map(\.write))
                    _ = s.forget(ids: forgets)
                    let r1 = s.write(order.map(\.write))
                    // The same writes are accepted whatever the order.
                    let accepted = Set(zip(order, r1).compactMap { g, r in (try? r.get()) != nil ? g.logical : nil })
                    let expectedAccepted = Set(
                        chunk.filter { oracle.memories[$0.logical] != nil && Oracle.validate($0.write) == nil }.map(\.logical))
                    XCTAssertEqual(accepted.filter { !$0.hasPrefix("h#") }, expectedAccepted.filter { !$0.hasPrefix("h#") }, "seed \(seed)")
                    try s.flush()
                    outputs.append(try clusterBytes(s))
                }
            }
            for (i, o) in outputs.enumerated() {
                XCTAssertEqual(o, want, "seed \(seed), variant \(i): \(oracleText(o)) vs model \(oracleText(want))")
            }
        }
    }

    // MARK: - Concurrency

    /// 8 writers at once (writes in chunks and one by one, forgets of their own memories)
    /// lose nothing; a writer and a forgetter racing on the same ids are linearizable.
    func testConcurrentWritersLoseNothing() throws {
        for optimized in [true, false] {
            try concurrentRun(optimized: optimized, perThread: optimized ? 500 : 150)
        }
    }

    private struct ThreadLog: Sendable {
        var acknowledged: [(id: String, write: MemoryWrite)] = []
        var forgotten: [String] = []
        var raceForgets: [(id: String, found: Bool)] = []
        var errors: [String] = []
    }

    /// The same with SQLite and PostgreSQL (skipped without a server), fewer writes.
    func testConcurrentWritersLoseNothingInStoredEngines() throws {
        try forEachKind(self) { kind in
            guard kind != .memory else { return }
            for optimized in [true, false] {
                try concurrentRun(
                    optimized: optimized, perThread: optimized ? 120 : 40, engine: try TestStore.fresh(kind, for: self).open())
            }
        }
    }

    private func concurrentRun(optimized: Bool, perThread: Int, engine: any MemoryEngine = InMemoryEngine()) throws {
        let clock = ManualClock()
        var config = MemoryConfiguration()
        config.optimized = optimized
        config.clock = clock
        config.clusteringThreshold = 7
        let service = try MemoryService(engine: engine, configuration: config)
        defer { try? service.close() }
        let logs = Mutex<[ThreadLog]>([])
        let raceProgress = Mutex<Int>(-1)
        let raceCount = perThread / 2
        let goals = ["g1", "g2", "Ziel-ü"]
        let vocab = oracleSpellingGroups.prefix(9).map { $0 }

        DispatchQueue.concurrentPerform(iterations: 8) { t in
            var rng = OracleRNG(seed: UInt64(9000 + t))
            var log = ThreadLog()
            var made = 0
            func makeWrite(_ id: String?) -> MemoryWrite {
                // Each write's content is its own (equal writes without ids are one memory).
                made += 1
                let cs = (0..<rng.int(1...6)).map { _ in rng.pick(rng.pick(vocab)) }
                var deps: [Dependency] = []
                if rng.chance(0.3) { deps.append(Dependency(rng.pick(rng.pick(vocab)), rng.pick(rng.pick(vocab)))) }
                return MemoryWrite(
                    goal: rng.pick(goals), plugin: "p\(t % 3)", id: id, content: "t\(t) w\(made) \(cs)", concepts: cs, dependsOn: deps)
            }
            if t == 6 {
                // Writes race-0, race-1, … while thread 7 forgets them.
                for k in 0..<raceCount {
                    raceProgress.withLock { $0 = k }
                    let w = makeWrite("race-\(k)")
                    do {
                        let id = try service.write(w)
                        log.acknowledged.append((id, w))
                    } catch { log.errors.append("race write \(k): \(error)") }
                }
                raceProgress.withLock { $0 = Int.max }
            } else if t == 7 {
                for k in 0..<raceCount {
                    let deadline = DispatchTime.now().uptimeNanoseconds + 2_000_000_000
                    while raceProgress.withLock({ $0 }) < k && DispatchTime.now().uptimeNanoseconds < deadline {
                        sched_yield()
                    }
                    switch service.forget(ids: ["race-\(k)"])[0] {
                    case .success(let found): log.raceForgets.append(("race-\(k)", found))
                    case .failure(let e): log.errors.append("race forget \(k): \(e)")
                    }
                }
            } else {
                var mine: [String] = []
                var n = 0
                while n < perThread {
                    if rng.chance(0.15), !mine.isEmpty {
                        let i = rng.int(mine.count)
                        let id = mine.remove(at: i)
                        do {
                            let found: Bool
                            if rng.chance(0.5) {
                                found = try service.forget(id: id)
                            } else {
                                found = try service.forget(ids: [id])[0].get()
                            }
                            if found { log.forgotten.append(id) } else { log.errors.append("forget of own \(id) found nothing") }
                        } catch { log.errors.append("forget \(id): \(error)") }
                        continue
                    }
                    if rng.chance(0.5) {
                        let k = rng.int(1...8)
                        let ws = (0..<k).map { j in makeWrite(rng.chance(0.5) ? "t\(t)-\(n + j)" : nil) }
                        for (w, r) in zip(ws, service.write(ws)) {
                            switch r {
                            case .success(let id):
                                log.acknowledged.append((id, w))
                                mine.append(id)
                            case .failure(let e): log.errors.append("write: \(e)")
                            }
                        }
                        n += k
                    } else {
                        let w = makeWrite(rng.chance(0.5) ? "t\(t)-\(n)" : nil)
                        do {
                            let id = try service.write(w)
                            log.acknowledged.append((id, w))
                            mine.append(id)
                        } catch { log.errors.append("write: \(error)") }
                        n += 1
                    }
                }
            }
            let finished = log
            logs.withLock { $0.append(finished) }
        }

        let all = logs.withLock { $0 }
        let label = optimized ? "optimized" : "eager"
        XCTAssertEqual(all.count, 8)
        for l in all { XCTAssertEqual(l.errors, [], label) }
        let acknowledged = all.flatMap(\.acknowledged)
        let forgotten = Set(all.flatMap(\.forgotten))
        let races = all.flatMap(\.raceForgets)
        XCTAssertEqual(Set(acknowledged.map(\.id)).count, acknowledged.count, "\(label): ids are unique")
        // A racing forget either came first (found nothing; the memory stays) or after.
        var raceForgotten = Set<String>()
        for r in races where r.found { raceForgotten.insert(r.id) }
        let gone = forgotten.union(raceForgotten)
        let oracle = Oracle()
        for a in acknowledged where !gone.contains(a.id) { oracle.write(a.write, id: a.id, now: clock.now()) }
        for a in acknowledged {
            let m = try service.memory(id: a.id)
            if gone.contains(a.id) {
                XCTAssertNil(m, "\(label): \(a.id) was forgotten")
            } else {
                XCTAssertNotNil(m, "\(label): acknowledged \(a.id) lost")
                XCTAssertEqual(m?.content, a.write.content)
            }
        }
        XCTAssertEqual(races.count, raceCount)
        let stats = service.stats
        XCTAssertEqual(stats.writes, acknowledged.count, label)
        XCTAssertEqual(stats.forgets, gone.count, label)
        try service.flush()
        let want = Array(OracleJSON.json(oracle.clusters(now: clock.now())).utf8)
        let got = try clusterBytes(service)
        XCTAssertEqual(got, want, "\(label): clusters\n got \(oracleText(got))\nwant \(oracleText(want))")
        XCTAssertEqual(try service.verifyClusters(), [], label)
        for goal in goals {
            XCTAssertEqual(
                engineCountsText(try service.engine.conceptGraph(goal: goal)), oracle.countsText(goal: goal, now: clock.now()), label)
        }
    }

    /// A write and a forget of the same id that land in one group commit cancel out (neither
    /// reaches the engine) — and both are still acknowledged, so both are counted.
    func testWriteAndForgetCancelledInOneCommitAreCounted() throws {
        let engine = HookedMemoryEngine()
        var c = MemoryConfiguration()
        c.clock = ManualClock()
        c.backgroundClustering = false
        let s = try MemoryService(engine: engine, configuration: c)
        let written = OracleBox<String?>(nil)
        let forgotten = OracleBox<Bool?>(nil)
        let done = DispatchGroup()
        engine.beforeApply.withLock { h in
            h = {
                // While this commit is under way, a write of "x" and then a forget of "x" queue up;
                // the next committer takes both into one commit.
                done.enter()
                Thread {
                    written.set(try? s.write(MemoryWrite(goal: "g", plugin: "p", id: "x", content: "x", concepts: ["a", "b"])))
                    done.leave()
                }.start()
                Thread.sleep(forTimeInterval: 0.1)
                done.enter()
                Thread {
                    forgotten.set(try? s.forget(ids: ["x"])[0].get())
                    done.leave()
                }.start()
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", content: "first", concepts: ["a"]))
        done.wait()
        XCTAssertEqual(written.get(), "x")
        XCTAssertEqual(forgotten.get(), true)
        XCTAssertNil(try s.memory(id: "x"))
        let st = s.stats
        XCTAssertEqual(st.writes, 2, "the cancelled write is not counted")
        XCTAssertEqual(st.forgets, 1, "the cancelling forget is not counted")
        try s.flush()
        XCTAssertEqual(try s.clusters(goal: "g").first?.clusters.map(\.concepts), [["a"]])
    }

    // MARK: - Workload generator and replay

    /// The product's generated workloads survive a JSONL round trip and replay to the model's
    /// clusters in both paths.
    func testGeneratedWorkloadReplaysToTheModel() throws {
        for seed in UInt64(1)...4 {
            var g = WorkloadGenerator(operations: 600, concepts: 12, seed: seed)
            g.forgetRate = 0.15
            g.dependencyRate = 0.4
            let ops = g.generate()
            for op in ops { XCTAssertEqual(try WorkloadOp.parse(Substring(op.jsonLine)), op) }
            let clock = ManualClock()
            let oracle = Oracle()
            for op in ops {
                switch op {
                case .write(let w): oracle.write(w, id: w.id!, now: clock.now())
                case .forget(let id): oracle.forget(id)
                }
            }
            let want = Array(OracleJSON.json(oracle.clusters(now: clock.now())).utf8)
            var digests: [String] = []
            for optimized in [false, true] {
                let s = try makeMemoryService(optimized: optimized, clock: clock)
                let report = try WorkloadReplayer.replay(ops, into: s, chunk: 37)
                digests.append(report.digest)
                XCTAssertEqual(try clusterBytes(s), want, "seed \(seed) optimized \(optimized)")
            }
            XCTAssertEqual(digests[0], digests[1])
        }
    }
}
