import Synchronization

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

    private struct State {
        var entries: [Key: Entry] = [:]
        var tick: UInt64 = 0
        var generation: [Key: UInt64] = [:]
        var forgetEpoch: [String: UInt64] = [:]
        var stats = (hits: 0, misses: 0, evictions: 0, expirations: 0)
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let ttl: Double
    private let workingSetSize: Int
    private let clock: any WallClock

    init(capacity: Int, ttl: Double, workingSetSize: Int, clock: any WallClock) {
        self.capacity = max(1, capacity)
        self.ttl = ttl
        self.workingSetSize = workingSetSize
        self.clock = clock
    }

    /// The context for `key`, from the cache or, on a miss, from `load`.
    func context(_ key: Key, load: () throws -> PluginContext) rethrows -> PluginContext {
        let now = clock.now()
        let (cached, startGeneration): (PluginContext?, (UInt64, UInt64)) = state.withLock { s in
            s.tick += 1
            // One hash of the key; the entry is updated in place.
            if let i = s.entries.index(forKey: key) {
                if now - s.entries.values[i].loadedAt < ttl {
                    s.entries.values[i].lastUsed = s.tick
                    s.stats.hits += 1
                    return (s.entries.values[i].context, (0, 0))
                }
                s.entries.remove(at: i)
                s.stats.expirations += 1
            }
            s.stats.misses += 1
            return (nil, (s.generation[key, default: 0], s.forgetEpoch[key.goal, default: 0]))
        }
        if let cached { return cached }
        let loaded = try load()
        state.withLock { s in
            // A write since the load started makes the loaded copy stale: do not cache it.
            guard s.generation[key, default: 0] == startGeneration.0,
                s.forgetEpoch[key.goal, default: 0] == startGeneration.1 else { return }
            if s.entries[key] == nil && s.entries.count >= capacity { evictOne(&s) }
            s.tick += 1
            s.entries[key] = Entry(context: loaded, loadedAt: now, lastUsed: s.tick)
        }
        return loaded
    }

    private func evictOne(_ s: inout State) {
        guard let victim = s.entries.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key else { return }
        s.entries.removeValue(forKey: victim)
        s.stats.evictions += 1
    }

    /// Runs `write` (the engine write) and then applies `update` to the cached entry, under the
    /// cache's lock, so that readers see the new value as soon as the write is acknowledged.
    func update<R>(_ key: Key, write: () throws -> R, update: (inout PluginContext) -> Void) rethrows -> R {
        try state.withLock { s in
            let r = try write()
            s.generation[key, default: 0] += 1
            if var e = s.entries[key] {
                update(&e.context)
                s.entries[key] = e
            }
            return r
        }
    }

    /// Records a new memory id in the plugin's working set (if the context is cached).
    func noteWrite(_ key: Key, id: String) {
        state.withLock { s in
            // A load under way read the engine before this write: it must not be cached.
            s.generation[key, default: 0] += 1
            // In place: a copy of the entry would copy its working set.
            guard let i = s.entries.index(forKey: key) else { return }
            s.entries.values[i].context.recent.append(id)
            let over = s.entries.values[i].context.recent.count - workingSetSize
            if over > 0 { s.entries.values[i].context.recent.removeFirst(over) }
        }
    }

    /// Drops a forgotten memory id from every cached working set of its goal.
    func noteForget(goal: String, id: String) {
        state.withLock { s in
            // Loads under way for this goal may have read the forgotten memory.
            s.forgetEpoch[goal, default: 0] += 1
            // The working set holds the newest N ids; once one of them is forgotten, the next
            // older id (which the cache may have trimmed) belongs in it: drop the entry so that
            // the next use reloads it from the engine.
            for (k, e) in s.entries where k.goal == goal && e.context.recent.contains(id) {
                s.entries.removeValue(forKey: k)
            }
        }
    }

    /// Drops every entry (e.g. when another host may have changed contexts).
    func invalidateAll() {
        state.withLock { s in
            s.entries.removeAll()
            for k in Array(s.generation.keys) { s.generation[k]! += 1 }
        }
    }

    /// Hit, miss, eviction and expiry counters.
    var counters: (hits: Int, misses: Int, evictions: Int, expirations: Int) {
        state.withLock { $0.stats }
    }

    /// Number of cached contexts.
    var count: Int { state.withLock { $0.entries.count } }
}
