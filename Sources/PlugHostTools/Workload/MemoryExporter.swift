import Foundation
import PlugHost
import PlugHostPostgres

/// Writes the live memories of an engine as a replayable workload (`plughost memory export`):
/// replaying it into an empty memory of any engine gives the same memories and the same
/// clusters (digest).
///
/// - One `write` line per live memory, in the replay format: `id`, `goal`, `plugin`,
///   `content`, `concepts` (the memory's concept set: normalised keys, dependency ends
///   included), `depends_on` (the normalised pairs), `metadata` and `ttl_ms`.
/// - Order: goals in UTF-8 byte order, then each goal's memories in creation (insertion) order,
///   so that a replay creates them in the same order (within a commit, the batcher may still
///   store a write that depends on a concept after the writes introducing it).
/// - `metadata` is written in its canonical form (``JSONValue/canonical``), which a replay keeps
///   byte for byte: metadata that was canonical (every memory written by a replay or the C
///   embedding API, which read it with ``MemoryWriteJSON``) gets back its exact bytes; metadata
///   written in another form (through the plugin host API with white space) comes back as the
///   same JSON value in canonical form.
/// - `ttl_ms` is the TTL left at `now`, in whole milliseconds rounded up (at least 1);
///   memories without TTL have none. Memories whose TTL has run out but that were not swept
///   yet are not exported: they are already gone from the model.
/// - Read-only: it reads the engine through ``MemoryEngine/allMemories(goal:after:limit:)``,
///   page by page, and writes nothing to it. Pages are not one snapshot: memories written or
///   forgotten while an export runs may or may not be in it.
package enum MemoryExporter {
    /// What an export wrote.
    package struct Report: Sendable {
        /// Memories written.
        package var memories: Int
        /// Goals with at least one memory written.
        package var goals: Int
        /// Memories left out because their TTL had run out (not swept yet).
        package var expired: Int
    }

    /// Memories read per engine call.
    package static let defaultPageSize = 1000

    /// Exports the live memories of `goal` (or of every goal) at time `now` (seconds since
    /// 1970), handing the text to `write` a page at a time (whole lines, each ending in `\n`).
    @discardableResult
    package static func export(
        from engine: any MemoryEngine, goal: String? = nil, now: Double, pageSize: Int = defaultPageSize,
        write: (String) throws -> Void
    ) throws -> Report {
        var report = Report(memories: 0, goals: 0, expired: 0)
        let goals = try goal.map { [$0] } ?? engine.goals().sorted(by: ConceptKey.precedes)
        for g in goals {
            var cursor: MemoryCursor?
            var wroteGoal = false
            repeat {
                let page = try engine.allMemories(goal: g, after: cursor, limit: max(1, pageSize))
                var text = ""
                for m in page.memories {
                    guard let line = try line(m, now: now) else {
                        report.expired += 1
                        continue
                    }
                    text += line
                    text += "\n"
                    report.memories += 1
                    wroteGoal = true
                }
                if !text.isEmpty { try write(text) }
                cursor = page.next
            } while cursor != nil
            if wroteGoal { report.goals += 1 }
        }
        return report
    }

    /// The replay line (without its newline) of `m`, or nil when its TTL has run out at `now`.
    package static func line(_ m: Memory, now: Double) throws -> String? {
        var ttl: Int64?
        if let expires = m.expiresAt {
            guard let left = remainingTTL(expiresAt: expires, now: now) else { return nil }
            ttl = left
        }
        var metadata: String?
        if let text = m.metadata {
            do {
                metadata = try JSONValue.canonicalObject(text)
            } catch {
                throw MemoryError(
                    .invalid,
                    "memory \(m.id.debugDescription) of goal \(m.goal.debugDescription) cannot be exported: its metadata is not JSON object text (\(error))"
                )
            }
        }
        let w = MemoryWrite(
            goal: m.goal, plugin: m.plugin, id: m.id, content: m.content, concepts: m.concepts,
            dependsOn: m.dependsOn, metadata: metadata, ttlMilliseconds: ttl)
        return WorkloadOp.write(w).jsonLine
    }

    /// The TTL left at `now` in whole milliseconds, rounded up (from the nearest microsecond,
    /// so that the rounding error of seconds-since-1970 doubles never adds a millisecond),
    /// at least 1; nil when the memory has expired (`expiresAt <= now`).
    package static func remainingTTL(expiresAt: Double, now: Double) -> Int64? {
        guard expiresAt > now else { return nil }
        let micros = ((expiresAt - now) * 1_000_000).rounded()
        let millis = (micros / 1000).rounded(.up)
        guard millis < Double(Int64.max) else { return Int64.max }
        return max(1, Int64(millis))
    }
}
