import PlugHostCore
/// Edge counts of one goal keyed by a packed pair of concept ids: an open-addressing hash table
/// with linear probing whose entries hold the key and the counts side by side, so a look-up
/// touches one cache line (a `Dictionary` touches its bitmap, key and value arrays, and
/// SipHashes the key). Keys are never 0: an edge joins two distinct concepts, and
/// `pack(0, 0)` is the only key that is 0. Deletion shifts later entries back (no tombstones).
struct EdgeTable {
    private struct Entry {
        var key: UInt64
        var counts: EdgeCounts
    }

    private var entries: [Entry] = Array(repeating: Entry(key: 0, counts: EdgeCounts(co: 0, dep: 0)), count: 16)
    private var mask = 15
    private var shift: UInt64 = 60  // 64 - log2(capacity)
    /// Number of edges stored.
    private(set) var count = 0

    @inline(__always)
    private func home(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// Adds `co` and `dep` to the counts of `key` (absent: zero) and returns the counts after;
    /// an edge whose counts are both zero afterwards is removed.
    mutating func add(_ key: UInt64, co: Int32, dep: Int32) -> EdgeCounts {
        if (count + 1) * 10 > entries.count * 7 { grow() }
        var i = home(key)
        while true {
            let k = entries[i].key
            if k == key {
                entries[i].counts.co += co
                entries[i].counts.dep += dep
                let after = entries[i].counts
                if after.co == 0 && after.dep == 0 { remove(at: i) }
                return after
            }
            if k == 0 {
                let after = EdgeCounts(co: co, dep: dep)
                if after.co != 0 || after.dep != 0 {
                    entries[i] = Entry(key: key, counts: after)
                    count += 1
                }
                return after
            }
            i = (i + 1) & mask
        }
    }

    private mutating func remove(at index: Int) {
        var i = index
        var j = index
        while true {
            j = (j + 1) & mask
            let k = entries[j].key
            if k == 0 { break }
            let h = home(k)
            // Entry j may move to the hole at i unless its home lies cyclically in (i, j].
            let stays = i <= j ? (i < h && h <= j) : (i < h || h <= j)
            if !stays {
                entries[i] = entries[j]
                i = j
            }
        }
        entries[i].key = 0
        count -= 1
    }

    private mutating func grow() {
        let old = entries
        let capacity = entries.count * 2
        entries = Array(repeating: Entry(key: 0, counts: EdgeCounts(co: 0, dep: 0)), count: capacity)
        mask = capacity - 1
        shift -= 1
        for e in old where e.key != 0 {
            var i = home(e.key)
            while entries[i].key != 0 { i = (i + 1) & mask }
            entries[i] = e
        }
    }

    /// Every stored edge.
    func forEach(_ body: (UInt64, EdgeCounts) -> Void) {
        for e in entries where e.key != 0 { body(e.key, e.counts) }
    }
}
