import Synchronization
import PlugHostCore

/// The plugin memory context cache: one ``PluginContext`` per (goal, plugin), LRU with a TTL,
/// loaded from the engine on a miss. Safe under concurrent use.
///
/// A context write or a forget updates the cached entry under the same lock as the engine write,
/// so a cached read never returns a value older than the last acknowledged write of this host.
final class ContextCache: Sendable {
    struct Key: Hashable, Sendable {
        var goal: String
        var plugin: String
    }

    private struct Entry {
        var context: PluginContext
        var loadedAt: Double
        var lastUsed: UInt64
    }

    /// One key's place: its cached entry (if any) and its write generation. Slots are never
    /// removed, so a slot's index names its key for good: a writer that looked a context up
    /// notes its write by index, without hashing the key again.
    private struct Slot {
        let key: Key
        var entry: Entry?
        var generation: UInt64 = 0
    }

    private struct State {
        var index: [Key: Int] = [:]
        var slots: [Slot] = []
        /// Indexes of the slots holding an entry (at most `capacity`).
        var cached: [Int] = []
        var tick: UInt64 = 0
        var forgetEpoch: [String: UInt64] = [:]
        var stats = (hits: 0, misses: 0, evictions: 0, expirations: 0)

        mutating func slot(_ key: Key) -> Int {
            if let i = index[key] { return i }
            slots.append(Slot(key: key))
            index[key] = slots.count - 1
            return slots.count - 1
        }

        mutating func drop(_ i: Int) {
            slots[i].entry = nil
            if let k = cached.firstIndex(of: i) { cached.swapAt(k, cached.count - 1); cached.removeLast() }
        }
    }

    /// A key's slot, for ``noteWrite(slot:id:)``.
    struct Handle: Sendable {
        fileprivate let slot: Int
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let ttl: Double
    private let workingSetSize: Int
    private let clock: any WallClock
    private let metrics: MemoryMetrics

    init(capacity: Int, ttl: Double, workingSetSize: Int, clock: any WallClock, metrics: MemoryMetrics = MemoryMetrics()) {
        self.metrics = metrics
        self.capacity = max(1, capacity)
        self.ttl = ttl
        self.workingSetSize = workingSetSize
        self.clock = clock
    }

    /// The context for `key`, from the cache or, on a miss, from `load`.
    func context(_ key: Key, load: () throws -> PluginContext) rethrows -> PluginContext {
        try lookup(key, load: load).context
    }

    /// The context for `key` and its handle, from the cache or, on a miss, from `load`.
    func lookup(_ key: Key, now: Double? = nil, load: () throws -> PluginContext) rethrows -> (context: PluginContext, handle: Handle) {
        let now = now ?? clock.now()
        let (cached, slot, startGeneration): (PluginContext?, Int, (UInt64, UInt64)) = state.withLock { s in
            s.tick += 1
            // One hash of the key; the entry is updated in place.
            let i = s.slot(key)
            if s.slots[i].entry != nil {
                if now - s.slots[i].entry!.loadedAt < ttl {
                    s.slots[i].entry!.lastUsed = s.tick
                    s.stats.hits += 1
                    return (s.slots[i].entry!.context, i, (0, 0))
                }
                s.drop(i)
                s.stats.expirations += 1
            }
            s.stats.misses += 1
            return (nil, i, (s.slots[i].generation, s.forgetEpoch[key.goal, default: 0]))
        }
        if let cached {
            metrics.cacheHits.increment()
            return (cached, Handle(slot: slot))
        }
        metrics.cacheMisses.increment()
        let loaded = try load()
        state.withLock { s in
            // A write since the load started makes the loaded copy stale: do not cache it.
            guard s.slots[slot].generation == startGeneration.0,
                s.forgetEpoch[key.goal, default: 0] == startGeneration.1
            else { return }
            if s.slots[slot].entry == nil {
                if s.cached.count >= capacity { evictOne(&s) }
                s.cached.append(slot)
            }
            s.tick += 1
            s.slots[slot].entry = Entry(context: loaded, loadedAt: now, lastUsed: s.tick)
        }
        return (loaded, Handle(slot: slot))
    }

    private func evictOne(_ s: inout State) {
        guard let victim = s.cached.min(by: { s.slots[$0].entry!.lastUsed < s.slots[$1].entry!.lastUsed }) else { return }
        s.drop(victim)
        s.stats.evictions += 1
    }

    /// Runs `write` (the engine write) and then applies `update` to the cached entry, under the
    /// cache's lock, so that readers see the new value as soon as the write is acknowledged.
    func update<R>(_ key: Key, write: () throws -> R, update: (inout PluginContext) -> Void) rethrows -> R {
        try state.withLock { s in
            let r = try write()
            let i = s.slot(key)
            s.slots[i].generation += 1
            if s.slots[i].entry != nil { update(&s.slots[i].entry!.context) }
            return r
        }
    }

    /// Records a new memory id in the plugin's working set (if the context is cached).
    func noteWrite(_ key: Key, id: String) {
        state.withLock { s in noteWrite(&s, slot: s.slot(key), id: id) }
    }

    /// Records a new memory id in the working set of the context `handle` names.
    func noteWrite(_ handle: Handle, id: String) {
        state.withLock { s in noteWrite(&s, slot: handle.slot, id: id) }
    }

    private func noteWrite(_ s: inout State, slot i: Int, id: String) {
        // A load under way read the engine before this write: it must not be cached.
        s.slots[i].generation += 1
        guard s.slots[i].entry != nil else { return }
        // In place: a copy of the entry would copy its working set.
        s.slots[i].entry!.context.recent.append(id)
        let over = s.slots[i].entry!.context.recent.count - workingSetSize
        if over > 0 { s.slots[i].entry!.context.recent.removeFirst(over) }
    }

    /// Drops a forgotten memory id from every cached working set of its goal.
    func noteForget(goal: String, id: String) {
        state.withLock { s in
            // Loads under way for this goal may have read the forgotten memory.
            s.forgetEpoch[goal, default: 0] += 1
            // The working set holds the newest N ids; once one of them is forgotten, the next
            // older id (which the cache may have trimmed) belongs in it: drop the entry so that
            // the next use reloads it from the engine.
            for i in s.cached where s.slots[i].key.goal == goal && s.slots[i].entry!.context.recent.contains(id) {
                s.drop(i)
            }
        }
    }

    /// Drops one entry (another host changed it); a load under way is not cached.
    func invalidate(_ key: Key) {
        state.withLock { s in
            let i = s.slot(key)
            s.drop(i)
            s.slots[i].generation += 1
        }
    }

    /// Drops every entry (e.g. when another host may have changed contexts).
    func invalidateAll() {
        state.withLock { s in
            for i in s.slots.indices {
                s.slots[i].entry = nil
                s.slots[i].generation += 1
            }
            s.cached.removeAll()
        }
    }

    /// Hit, miss, eviction and expiry counters.
    var counters: (hits: Int, misses: Int, evictions: Int, expirations: Int) {
        state.withLock { $0.stats }
    }

    /// Number of cached contexts.
    var count: Int { state.withLock { $0.cached.count } }
}
