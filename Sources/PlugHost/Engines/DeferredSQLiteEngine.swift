import Foundation
import Synchronization

/// A SQLite engine over a database file that does not exist yet, opened (and so created) on its
/// first real use: a command that turns out not to touch the memory (a pure function's call, a pipeline
/// of pure steps) leaves nothing behind.
///
/// Until then it answers reads as the empty store it would create does (no memories, goals,
/// contexts; no θ stored: the proposed one is kept and stored on opening), unless the file has
/// appeared meanwhile (another process wrote first): then it opens it and reads it. Every write
/// opens (creates) it.
public final class DeferredSQLiteEngine: ClusteringCoordinator, Sendable {
    public var kind: String { EngineKind.sqlite.rawValue }
    public var location: String? { path }
    private let path: String
    private let busyTimeout: Double

    private enum State {
        case waiting(theta: Int32?)
        case open(SQLiteEngine)
        case closed
    }
    private let state = Mutex(State.waiting(theta: nil))

    /// The engine of the database at `path`, created on first use.
    public init(path: String, busyTimeout: Double = 5) {
        self.path = path
        self.busyTimeout = busyTimeout
    }

    /// Whether the store was opened.
    public var isOpen: Bool {
        state.withLock {
            if case .open = $0 { return true }
            return false
        }
    }

    private func engine() throws -> SQLiteEngine {
        try state.withLock { s in
            switch s {
            case .open(let e): return e
            case .closed: throw MemoryError(.closed, "the memory engine is closed")
            case .waiting(let theta):
                let e = try SQLiteEngine(path: path, busyTimeout: busyTimeout)
                if let theta, let stored = try e.theta(storingIfAbsent: theta), stored != theta {
                    try? e.close()
                    throw MemoryError(
                        .invalid,
                        "the memory at \(path) was created meanwhile by another process with theta \(stored), not \(theta); run again"
                    )
                }
                s = .open(e)
                return e
            }
        }
    }

    /// The open engine; or, while the file does not exist, nil (reads answer as an empty store).
    private func existing() throws -> SQLiteEngine? {
        if case .open(let e) = state.withLock({ $0 }) { return e }
        return FileManager.default.fileExists(atPath: path) ? try engine() : nil
    }

    public func theta(storingIfAbsent proposed: Int32?) throws -> Int32? {
        let open: SQLiteEngine? = state.withLock { s in
            if case .open(let e) = s { return e }
            if case .waiting = s, let proposed { s = .waiting(theta: proposed) }
            return nil
        }
        if let open { return try open.theta(storingIfAbsent: proposed) }
        return proposed
    }

    public func goalsPendingClustering() throws -> [String] { try existing()?.goalsPendingClustering() ?? [] }

    public func close() throws {
        let open: SQLiteEngine? = state.withLock { s in
            defer { s = .closed }
            if case .open(let e) = s { return e }
            return nil
        }
        try open?.close()
    }

    public func withClusteringSession<T>(goal: String, _ body: (any ClusteringSession) throws -> T) throws -> T {
        try engine().withClusteringSession(goal: goal, body)
    }

    public func apply(_ batches: [EngineBatch]) throws -> [BatchResult] { try engine().apply(batches) }
    public func memory(id: String) throws -> Memory? { try existing()?.memory(id: id) ?? nil }
    public func existingMemories(_ ids: [String]) throws -> [String: Memory] { try existing()?.existingMemories(ids) ?? [:] }
    public func memoriesWithSameContent(as memories: [Memory]) throws -> [[Memory]] {
        try existing()?.memoriesWithSameContent(as: memories) ?? memories.map { _ in [] }
    }
    public func memories(goal: String, concept: String, limit: Int) throws -> [Memory] {
        try existing()?.memories(goal: goal, concept: concept, limit: limit) ?? []
    }
    public func memories(goal: String, anyOf concepts: [String], limit: Int) throws -> [Memory] {
        try existing()?.memories(goal: goal, anyOf: concepts, limit: limit) ?? []
    }
    public func memories(goal: String, plugin: String, limit: Int) throws -> [Memory] {
        try existing()?.memories(goal: goal, plugin: plugin, limit: limit) ?? []
    }
    public func search(goal: String, text: String, limit: Int) throws -> [RecalledMemory] {
        try existing()?.search(goal: goal, text: text, limit: limit) ?? []
    }
    public func expiredMemories(at time: Double, limit: Int) throws -> [Memory] {
        try existing()?.expiredMemories(at: time, limit: limit) ?? []
    }
    public func allMemories(goal: String, after: MemoryCursor?, limit: Int) throws -> MemoryPage {
        try engine().allMemories(goal: goal, after: after, limit: limit)
    }
    public func conceptGraph(goal: String) throws -> ConceptGraphSnapshot { try engine().conceptGraph(goal: goal) }
    public func goals() throws -> [String] { try existing()?.goals() ?? [] }
    public func clusterAssignments(goal: String) throws -> [String: String] { try existing()?.clusterAssignments(goal: goal) ?? [:] }
    public func storeClusters(goal: String, changes: [(concept: String, cluster: String?)], complete: Bool) throws {
        try engine().storeClusters(goal: goal, changes: changes, complete: complete)
    }
    public func addCounters(_ deltas: [String: Int64]) throws {
        // A process that never opened the database wrote nothing: its counters describe no memory.
        try existing()?.addCounters(deltas)
    }
    public func storedCounters() throws -> [String: Int64] { try existing()?.storedCounters() ?? [:] }
    public func memoryCount(goal: String, at time: Double) throws -> Int { try existing()?.memoryCount(goal: goal, at: time) ?? 0 }
    public func storageSize() throws -> Int64? { try existing()?.storageSize() ?? 0 }
    public func loadContext(goal: String, plugin: String) throws -> [String: String] {
        try existing()?.loadContext(goal: goal, plugin: plugin) ?? [:]
    }
    public func storeContext(goal: String, plugin: String, key: String, value: String?) throws {
        try engine().storeContext(goal: goal, plugin: plugin, key: key, value: value)
    }
}
