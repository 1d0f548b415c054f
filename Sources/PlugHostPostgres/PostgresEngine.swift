import Foundation
import PostgresNIO
import PlugHostCore
import PlugHostMemory

/// The PostgreSQL engine: one memory shared by many hosts (`--engine postgres --db URL`).
///
/// - Every commit of the write path is one round trip: a call of the server-side function
///   `plughost.apply` (see `PostgresSchema`), which deletes and inserts the commit's memories
///   and applies the count changes as `count = count + delta` upserts, in one statement and so
///   in one transaction. A write is acknowledged only after that statement returned.
/// - Clustering is done from the stored edge counts by one host at a time per goal
///   by the memory layer, inside a ``withSharedClusteringSession(goal:_:)`` that holds a
///   transaction-level advisory lock, so every host reads the same clusters after a flush. The
///   engine reads and stores; it does not run the clustering itself.
/// - Context writes bump a per-(goal, plugin) version that readers check (``contextVersion(goal:plugin:)``).
/// - Deadlocks and serialization failures between hosts are retried; a lost connection fails
///   the operation with a clear error (nothing is acknowledged) and the next one reconnects.
public final class PostgresEngine: SharedMemoryEngine {
    public var kind: String { "postgres" }
    /// Where the engine is connected.
    public let location: PostgresLocation
    private let pool: PostgresConnectionPool
    /// Attempts again after a deadlock or serialization failure between hosts.
    private static let retries = 5

    /// Connects (bounded by the URL's `connect_timeout`, 5 s by default), then creates or
    /// migrates the schema.
    public convenience init(url: String) throws {
        try self.init(location: PostgresLocation(url: url))
    }

    /// Connects to `location`, then creates or migrates the schema.
    public init(location: PostgresLocation) throws {
        self.location = location
        pool = try PostgresConnectionPool(location)
        do {
            try migrate()
        } catch {
            pool.close()
            throw error
        }
    }

    // MARK: - Schema

    private func migrate() throws {
        try pool.withConnection("opening the memory") { c in
            try pool.run(c, "SELECT pg_advisory_lock(\(PostgresSchema.migrationLock))")
            defer { _ = try? pool.run(c, "SELECT pg_advisory_unlock(\(PostgresSchema.migrationLock))") }
            let schemaExists =
                try pool.run(c, "SELECT count(*)::int FROM pg_namespace WHERE nspname = 'plughost'")
                .first.map { try $0.decode(Int.self) } ?? 0
            let metaExists =
                try pool.run(c, "SELECT to_regclass('plughost.meta') IS NOT NULL")
                .first.map { try $0.decode(Bool.self) } ?? false
            if schemaExists > 0 && !metaExists {
                throw MemoryError(
                    .storage,
                    "database \(location.database.debugDescription) at \(location.redacted) has a schema \"plughost\" that plughost did not create (no plughost.meta); refusing to use it"
                )
            }
            var current = 0
            if metaExists {
                let rows = try pool.run(c, "SELECT value FROM plughost.meta WHERE key = 'schema_version'")
                guard let text = try rows.first.map({ try $0.decode(String.self) }), let v = Int(text) else {
                    throw MemoryError(.storage, "\(location.redacted): plughost.meta has no readable schema_version")
                }
                current = v
            }
            if current > PostgresSchema.version {
                throw MemoryError(
                    .storage,
                    "\(location.redacted) was written by a newer plughost (schema \(current); this build knows up to \(PostgresSchema.version)); upgrade plughost"
                )
            }
            guard current < PostgresSchema.version else { return }
            try pool.transaction(c) {
                try pool.run(c, "CREATE SCHEMA IF NOT EXISTS plughost")
                try pool.run(c, "CREATE TABLE IF NOT EXISTS plughost.meta (key text PRIMARY KEY, value text NOT NULL)")
                if current < 1 { for statement in PostgresSchema.v1 { try pool.run(c, PostgresQuery(unsafeSQL: statement)) } }
                if current < 2 {
                    for statement in PostgresSchema.v2 { try pool.run(c, PostgresQuery(unsafeSQL: statement)) }
                    try backfillDigests(c)
                    try pool.run(c, "CREATE UNIQUE INDEX memories_digest ON plughost.memories (digest, host_assigned)")
                    // Clusters stored before schema 2 are model 1's (connected components): each
                    // goal holding some is pending, re-clustered under model 2 by the next run.
                    try pool.run(c, "INSERT INTO plughost.goal_changes (goal) SELECT DISTINCT goal FROM plughost.clusters")
                }
                if current < 3 { for statement in PostgresSchema.v3 { try pool.run(c, PostgresQuery(unsafeSQL: statement)) } }
                let v = String(PostgresSchema.version)
                try pool.run(
                    c,
                    """
                    INSERT INTO plughost.meta (key, value) VALUES ('schema_version', \(v))
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value
                    """)
            }
        }
    }

    /// Schema 2's migration: the digest of every stored memory (their `host_assigned` stays
    /// null: found by later writes, holding no uniqueness).
    private func backfillDigests(_ c: PostgresConnection) throws {
        let rows = try pool.run(c, "SELECT \(unescaped: Self.columns) FROM plughost.memories")
        var ids: [String] = [], digests: [String] = []
        for row in rows {
            let m = try Self.memory(row)
            ids.append(m.id)
            digests.append(MemoryDigest(of: m).hex)
        }
        guard !ids.isEmpty else { return }
        try pool.run(
            c,
            """
            UPDATE plughost.memories m SET digest = decode(u.d, 'hex')
            FROM unnest(\(ids)::text[], \(digests)::text[]) AS u(id, d) WHERE m.id = u.id COLLATE "C"
            """)
    }

    // MARK: - Writes

    public func apply(_ batches: [EngineBatch]) throws -> [BatchResult] {
        guard !batches.isEmpty else { return [] }
        var writer = JSONWriter(capacity: 512 * batches.reduce(0) { $0 + $1.inserts.count })
        writer.beginArray()
        var ord = 0
        var deletes: [String] = []
        for b in batches {
            deletes.append(contentsOf: b.deletes)
            for (k, m) in b.inserts.enumerated() {
                Self.appendInput(m, ord: ord, hostAssigned: b.isHostAssigned(k), to: &writer)
                ord += 1
            }
        }
        writer.endArray()
        let json = writer.text
        let rows = try pool.withConnection("committing \(ord) writes and \(deletes.count) forgets", retries: Self.retries) { c in
            do {
                return try pool.run(c, "SELECT kind, goal, a, b, co, dep FROM plughost.apply(\(json)::jsonb, \(deletes))")
            } catch let e as PSQLError where e.serverInfo?[.sqlState] == "23505" && e.serverInfo?[.constraintName] == "memories_digest" {
                // Another host stored the same memory (host-assigned id) meanwhile.
                throw DuplicateContentError(goal: batches.first?.goal ?? "")
            }
        }
        var concepts: [Key: Int32] = [:]
        var edges: [Key: EdgeCounts] = [:]
        for row in rows {
            let (kind, goal, a, b, co, dep) = try row.decode((String, String, String?, String?, Int32, Int32).self)
            switch kind {
            case "c": concepts[Key(goal, a ?? "", "")] = co
            case "e": edges[Key(goal, a ?? "", b ?? "")] = EdgeCounts(co: co, dep: dep)
            default: break
            }
        }
        var results: [BatchResult] = []
        for b in batches {
            // A key missing from the reply had no net change (another host's commit cancelled
            // it out, e.g. both forgot the same memory): read its count.
            let missingConcepts = b.concepts.filter { concepts[Key(b.goal, $0.concept, "")] == nil }.map(\.concept)
            let missingEdges = b.edges.filter { edges[Key(b.goal, $0.a, $0.b)] == nil }
            if !missingConcepts.isEmpty || !missingEdges.isEmpty {
                try readCounts(goal: b.goal, concepts: missingConcepts, edges: missingEdges, into: &concepts, &edges)
            }
            results.append(
                BatchResult(
                    conceptCounts: b.concepts.map { concepts[Key(b.goal, $0.concept, "")] ?? 0 },
                    edgeCounts: b.edges.map { edges[Key(b.goal, $0.a, $0.b)] ?? EdgeCounts(co: 0, dep: 0) }))
        }
        return results
    }

    private struct Key: Hashable {
        var goal: String, a: String, b: String
        init(_ goal: String, _ a: String, _ b: String) { self.goal = goal; self.a = a; self.b = b }
    }

    private func readCounts(
        goal: String, concepts: [String], edges: [EdgeDelta],
        into conceptCounts: inout [Key: Int32], _ edgeCounts: inout [Key: EdgeCounts]
    ) throws {
        let ea = edges.map(\.a), eb = edges.map(\.b)
        for row in try pool.query(
            "reading counts",
            """
            SELECT concept, count FROM plughost.concepts WHERE goal = \(goal) AND concept = ANY(\(concepts))
            """)
        {
            let (c, n) = try row.decode((String, Int32).self)
            conceptCounts[Key(goal, c, "")] = n
        }
        for row in try pool.query(
            "reading counts",
            """
            SELECT e.a, e.b, e.co, e.dep FROM unnest(\(ea)::text[], \(eb)::text[]) AS k(a, b)
            JOIN plughost.edges e ON e.goal = \(goal) AND e.a = k.a COLLATE "C" AND e.b = k.b COLLATE "C"
            """)
        {
            let (a, b, co, dep) = try row.decode((String, String, Int32, Int32).self)
            edgeCounts[Key(goal, a, b)] = EdgeCounts(co: co, dep: dep)
        }
    }

    /// One element of `plughost.apply`'s JSON input (a `plughost.memory_input`).
    static func appendInput(_ m: Memory, ord: Int, hostAssigned: Bool = false, to out: inout JSONWriter) {
        var pairs = Set<[String]>()
        var depA: [String] = [], depB: [String] = []
        for d in m.dependsOn {
            let (a, b) = ConceptKey.precedes(d.from, d.to) ? (d.from, d.to) : (d.to, d.from)
            guard a != b, pairs.insert([a, b]).inserted else { continue }
            depA.append(a)
            depB.append(b)
        }
        out.beginObject()
        out.key("ord"); out.int(ord)
        out.key("id"); out.string(m.id)
        out.key("goal"); out.string(m.goal)
        out.key("plugin"); out.string(m.plugin)
        out.key("created_at"); out.double(m.createdAt)
        out.key("expires_at")
        if let e = m.expiresAt { out.double(e) } else { out.null() }
        out.key("concepts"); out.strings(m.concepts)
        out.key("dep_from"); out.strings(m.dependsOn.lazy.map(\.from))
        out.key("dep_to"); out.strings(m.dependsOn.lazy.map(\.to))
        out.key("dep_a"); out.strings(depA)
        out.key("dep_b"); out.strings(depB)
        // The metadata column is text: the object's text goes in as a JSON string.
        out.key("metadata"); out.string(m.metadata)
        out.key("content"); out.string(m.content)
        // Schema 2: the content digest (hex) and, for a host-assigned id, true (else null:
        // the unique index on (digest, host_assigned) holds only those).
        out.key("digest"); out.string(MemoryDigest(of: m).hex)
        out.key("host_assigned")
        if hostAssigned { out.bool(true) } else { out.null() }
        out.endObject()
    }

    // MARK: - Reads

    private static let columns = "id, goal, plugin, content, concepts, dep_from, dep_to, metadata, created_at, expires_at"

    private static func memory(_ row: PostgresRow) throws -> Memory {
        let (id, goal, plugin, content, concepts, from, to, metadata, created, expires) =
            try row.decode((String, String, String, String, [String], [String], [String], String?, Double, Double?).self)
        return memory(id, goal, plugin, content, concepts, from, to, metadata, created, expires)
    }

    private static func memory(
        _ id: String, _ goal: String, _ plugin: String, _ content: String, _ concepts: [String],
        _ from: [String], _ to: [String], _ metadata: String?, _ created: Double, _ expires: Double?
    ) -> Memory {
        Memory(
            id: id, goal: goal, plugin: plugin, content: content, concepts: concepts,
            dependsOn: zip(from, to).map { Dependency($0, $1) }, metadata: metadata,
            createdAt: created, expiresAt: expires)
    }

    private func memories(_ what: String, _ q: PostgresQuery) throws -> [Memory] {
        try pool.query(what, q).map(Self.memory)
    }

    public func memory(id: String) throws -> Memory? {
        try memories("reading memory \(id.debugDescription)", "SELECT \(unescaped: Self.columns) FROM plughost.memories WHERE id = \(id)")
            .first
    }

    public func existingMemories(_ ids: [String]) throws -> [String: Memory] {
        guard !ids.isEmpty else { return [:] }
        var out: [String: Memory] = [:]
        for m in try memories(
            "reading \(ids.count) memories", "SELECT \(unescaped: Self.columns) FROM plughost.memories WHERE id = ANY(\(ids))")
        {
            out[m.id] = m
        }
        return out
    }

    /// In `plughost.counters`, as `value = value + delta` upserts in one statement (sorted by
    /// name: a stable lock order between hosts adding at once).
    public func addCounters(_ deltas: [String: Int64]) throws {
        guard !deltas.isEmpty else { return }
        let sorted = deltas.sorted { $0.key < $1.key }
        let names = sorted.map(\.key)
        let values = sorted.map(\.value)
        try pool.query(
            "adding to the stored counters",
            """
            INSERT INTO plughost.counters (name, value)
            SELECT * FROM unnest(\(names)::text[], \(values)::bigint[])
            ON CONFLICT (name) DO UPDATE SET value = plughost.counters.value + excluded.value
            """)
    }

    /// One count of the goal's live rows.
    public func memoryCount(goal: String, at time: Double) throws -> Int {
        let rows = try pool.query(
            "counting the memories of goal \(goal.debugDescription)",
            "SELECT count(*) FROM plughost.memories WHERE goal = \(goal) AND (expires_at IS NULL OR expires_at > \(time))")
        return Int(try rows.first.map { try $0.decode(Int64.self) } ?? 0)
    }

    /// The tables of the `plughost` schema with their indexes and TOAST
    /// (`pg_total_relation_size`): what this memory takes of the database.
    public func storageSize() throws -> Int64? {
        let rows = try pool.query(
            "measuring the plughost tables",
            """
            SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'plughost' AND c.relkind = 'r'
            """)
        return try rows.first.map { try $0.decode(Int64.self) } ?? 0
    }

    /// From `plughost.counters`.
    public func storedCounters() throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        for row in try pool.query("reading the stored counters", "SELECT name, value FROM plughost.counters") {
            let (name, value) = try row.decode((String, Int64).self)
            out[name] = value
        }
        return out
    }

    /// θ in `plughost.meta` (key `theta`): the first host's wins.
    public func theta(storingIfAbsent proposed: Int32?) throws -> Int32? {
        if let proposed {
            try pool.query(
                "storing theta",
                "INSERT INTO plughost.meta (key, value) VALUES ('theta', \(String(proposed))) ON CONFLICT (key) DO NOTHING")
        }
        guard
            let text = try pool.query("reading theta", "SELECT value FROM plughost.meta WHERE key = 'theta'").first
                .map({ try $0.decode(String.self) })
        else { return nil }
        guard let t = Int32(text) else {
            throw MemoryError(.storage, "\(location.redacted): the stored theta \(text.debugDescription) is not an integer")
        }
        return t
    }

    /// By the `memories_digest` index (``MemoryDigest``), one query per commit; equal digests
    /// are compared field by field.
    public func memoriesWithSameContent(as memories: [Memory]) throws -> [[Memory]] {
        guard !memories.isEmpty else { return [] }
        let digests = memories.map { MemoryDigest(of: $0).hex }
        var found: [String: [Memory]] = [:]
        for row in try pool.query(
            "looking up \(memories.count) memories by content",
            """
            SELECT encode(digest, 'hex'), \(unescaped: Self.columns) FROM plughost.memories
            WHERE digest = ANY(SELECT decode(d, 'hex') FROM unnest(\(Array(Set(digests)))::text[]) AS d) ORDER BY seq
            """)
        {
            let (d, id, goal, plugin, content, concepts, from, to, metadata, created, expires) =
                try row.decode((String, String, String, String, String, [String], [String], [String], String?, Double, Double?).self)
            found[d, default: []].append(Self.memory(id, goal, plugin, content, concepts, from, to, metadata, created, expires))
        }
        return zip(memories, digests).map { m, d in (found[d] ?? []).filter { $0.hasSameContent(as: m) } }
    }

    public func memories(goal: String, concept: String, limit: Int) throws -> [Memory] {
        guard limit > 0 else { return [] }
        return try memories(
            "recalling concept \(concept.debugDescription) in goal \(goal.debugDescription)",
            """
            SELECT \(unescaped: Self.columns) FROM plughost.memories
            WHERE goal = \(goal) AND concepts @> ARRAY[\(concept)]::text[] ORDER BY seq DESC LIMIT \(limit)
            """)
    }

    public func memories(goal: String, anyOf concepts: [String], limit: Int) throws -> [Memory] {
        let keys = Set(concepts).sorted(by: ConceptKey.precedes)
        guard limit > 0, !keys.isEmpty else { return [] }
        // `&&` (overlap) is served by the GIN index on concepts, as `@>` is for one concept.
        return try memories(
            "recalling \(keys.count) concepts in goal \(goal.debugDescription)",
            """
            SELECT \(unescaped: Self.columns) FROM plughost.memories
            WHERE goal = \(goal) AND concepts && \(keys)::text[] ORDER BY seq DESC LIMIT \(limit)
            """)
    }

    public func memories(goal: String, plugin: String, limit: Int) throws -> [Memory] {
        guard limit > 0 else { return [] }
        return try memories(
            "recalling plugin \(plugin.debugDescription) in goal \(goal.debugDescription)",
            """
            SELECT \(unescaped: Self.columns) FROM plughost.memories
            WHERE goal = \(goal) AND plugin = \(plugin) ORDER BY seq DESC LIMIT \(limit)
            """)
    }

    public func search(goal: String, text: String, limit: Int) throws -> [RecalledMemory] {
        // Any of the words (as the other engines do), ranked by ts_rank, newest first on ties.
        let terms = Array(Set(TextTerms.terms(text))).sorted()
        guard limit > 0, !terms.isEmpty else { return [] }
        let query = terms.map { "'\($0.replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: " | ")
        let rows = try pool.query(
            "searching goal \(goal.debugDescription) for \(text.debugDescription)",
            """
            SELECT \(unescaped: Self.columns), ts_rank(tsv, q)::float8 AS score
            FROM plughost.memories, to_tsquery('simple', \(query)) q
            WHERE goal = \(goal) AND tsv @@ q ORDER BY score DESC, seq DESC LIMIT \(limit)
            """)
        return try rows.map { row in
            let (id, g, plugin, content, concepts, from, to, metadata, created, expires, score) =
                try row.decode((String, String, String, String, [String], [String], [String], String?, Double, Double?, Double).self)
            return RecalledMemory(memory: Self.memory(id, g, plugin, content, concepts, from, to, metadata, created, expires), score: score)
        }
    }

    public func expiredMemories(at time: Double, limit: Int) throws -> [Memory] {
        guard limit > 0 else { return [] }
        return try memories(
            "listing expired memories",
            """
            SELECT \(unescaped: Self.columns) FROM plughost.memories
            WHERE expires_at IS NOT NULL AND expires_at <= \(time) ORDER BY expires_at, seq LIMIT \(limit)
            """)
    }

    /// A page of the goal's memories by `seq`, in one statement, through the (goal, plugin, seq)
    /// index: the goal's plugins (a loose index scan, one probe each), the next `limit`
    /// (plugin, seq) keys of each, the first `limit` of those by `seq`, then their rows. A page
    /// costs plugins × `limit` index entries, never a scan or a sort of the goal's memories
    /// (`seq` has no index of its own).
    public func allMemories(goal: String, after: MemoryCursor?, limit: Int) throws -> MemoryPage {
        guard limit > 0 else { return MemoryPage(memories: [], next: after) }
        let from = after?.sequence ?? Int64.min
        let fetch = limit + 1
        let rows = try pool.query(
            "listing the memories of goal \(goal.debugDescription)",
            """
            WITH RECURSIVE plugins(plugin) AS (
                SELECT min(plugin) FROM plughost.memories WHERE goal = \(goal)
                UNION ALL
                SELECT (SELECT min(m.plugin) FROM plughost.memories m WHERE m.goal = \(goal) AND m.plugin > plugins.plugin)
                FROM plugins WHERE plugins.plugin IS NOT NULL
            ),
            keys AS (
                SELECT k.plugin, k.seq FROM plugins CROSS JOIN LATERAL (
                    SELECT m.plugin, m.seq FROM plughost.memories m
                    WHERE m.goal = \(goal) AND m.plugin = plugins.plugin AND m.seq > \(from)
                    ORDER BY m.seq LIMIT \(fetch)
                ) k
                WHERE plugins.plugin IS NOT NULL
                ORDER BY k.seq LIMIT \(fetch)
            )
            SELECT m.id, m.goal, m.plugin, m.content, m.concepts, m.dep_from, m.dep_to, m.metadata, m.created_at, m.expires_at, m.seq
            FROM keys JOIN plughost.memories m ON m.goal = \(goal) AND m.plugin = keys.plugin AND m.seq = keys.seq
            ORDER BY m.seq
            """)
        var out: [Memory] = []
        var last: Int64?
        for row in rows {
            guard out.count < limit else { break }
            let (id, g, plugin, content, concepts, depFrom, depTo, metadata, created, expires, seq) =
                try row.decode((String, String, String, String, [String], [String], [String], String?, Double, Double?, Int64).self)
            out.append(Self.memory(id, g, plugin, content, concepts, depFrom, depTo, metadata, created, expires))
            last = seq
        }
        return MemoryPage(memories: out, next: rows.count > limit ? last.map { MemoryCursor(sequence: $0) } : nil)
    }

    // MARK: - Graph and clusters

    public func conceptGraph(goal: String) throws -> ConceptGraphSnapshot {
        try pool.withConnection("reading the concept graph of goal \(goal.debugDescription)") { c in
            try pool.transaction(c, "ISOLATION LEVEL REPEATABLE READ READ ONLY") { try graph(c, goal: goal) }
        }
    }

    /// The goal's graph; with `minimumCo`, without the edge rows whose `co` is below it and
    /// whose `dep` is 0 (what a clustering session reads, see ``SharedClusteringSession``).
    private func graph(_ c: PostgresConnection, goal: String, minimumCo: Int32 = 1) throws -> ConceptGraphSnapshot {
        var concepts: [String: Int32] = [:]
        for row in try pool.run(c, "SELECT concept, count FROM plughost.concepts WHERE goal = \(goal) AND count > 0") {
            let (k, n) = try row.decode((String, Int32).self)
            concepts[k] = n
        }
        var edges: [(a: String, b: String, counts: EdgeCounts)] = []
        // A bound on the rows read (rows that cannot be edges at this θ); EdgeRule decides edges.
        for row in try pool.run(c, "SELECT a, b, co, dep FROM plughost.edges WHERE goal = \(goal) AND (co >= \(minimumCo) OR dep > 0)") {
            let (a, b, co, dep) = try row.decode((String, String, Int32, Int32).self)
            edges.append((a, b, EdgeCounts(co: co, dep: dep)))
        }
        return ConceptGraphSnapshot(concepts: concepts, edges: edges)
    }

    public func goals() throws -> [String] {
        try pool.query(
            "listing goals",
            """
            SELECT DISTINCT goal FROM plughost.memories UNION SELECT DISTINCT goal FROM plughost.clusters ORDER BY 1
            """
        ).map { try $0.decode(String.self) }
    }

    public func clusterAssignments(goal: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for row in try pool.query(
            "reading the clusters of goal \(goal.debugDescription)",
            "SELECT concept, cluster FROM plughost.clusters WHERE goal = \(goal)")
        {
            let (k, c) = try row.decode((String, String).self)
            out[k] = c
        }
        return out
    }

    public func storeClusters(goal: String, changes: [(concept: String, cluster: String?)], complete: Bool) throws {
        try pool.withConnection("storing the clusters of goal \(goal.debugDescription)") { c in
            try pool.transaction(c) {
                try writeClusters(c, goal: goal, changes: changes)
                if complete {
                    // (The write path uses a shared clustering session over this engine,
                    // which clears only the changes it saw.)
                    try pool.run(c, "DELETE FROM plughost.goal_changes WHERE goal = \(goal)")
                }
            }
        }
    }

    private func writeClusters(_ c: PostgresConnection, goal: String, changes: [(concept: String, cluster: String?)]) throws {
        let removed = changes.filter { $0.cluster == nil }.map(\.concept)
        let set = changes.compactMap { ch in ch.cluster.map { (ch.concept, $0) } }
        if !removed.isEmpty {
            try pool.run(c, "DELETE FROM plughost.clusters WHERE goal = \(goal) AND concept = ANY(\(removed))")
        }
        if !set.isEmpty {
            let ks = set.map(\.0), vs = set.map(\.1)
            try pool.run(
                c,
                """
                INSERT INTO plughost.clusters (goal, concept, cluster)
                SELECT \(goal), k, v FROM unnest(\(ks)::text[], \(vs)::text[]) AS u(k, v)
                ON CONFLICT (goal, concept) DO UPDATE SET cluster = excluded.cluster
                """)
        }
    }

    public func goalsPendingClustering() throws -> [String] {
        try pool.query(
            "listing goals with clustering pending",
            "SELECT DISTINCT goal FROM plughost.goal_changes ORDER BY goal"
        )
        .map { try $0.decode(String.self) }
    }

    public func withSharedClusteringSession<T>(goal: String, _ body: (any SharedClusteringSession) throws -> T) throws -> T {
        try pool.withConnection("re-clustering goal \(goal.debugDescription)", retries: Self.retries) { c in
            try pool.transaction(c) {
                // One host at a time per goal; released at COMMIT or ROLLBACK.
                try pool.run(c, "SELECT pg_advisory_xact_lock(hashtextextended('plughost.cluster:' || \(goal), 0))")
                // The pending changes first: a commit landing between this read and the
                // graph's stays pending (clustered again later), never cleared unseen.
                let seen = try pool.run(c, "SELECT seq FROM plughost.goal_changes WHERE goal = \(goal)")
                    .map { try $0.decode(Int64.self) }
                return try body(GoalClusteringSession(engine: self, connection: c, goal: goal, seen: seen))
            }
        }
    }

    /// A goal under its clustering lock (``withSharedClusteringSession(goal:_:)``).
    private struct GoalClusteringSession: SharedClusteringSession {
        let engine: PostgresEngine
        let connection: PostgresConnection
        let goal: String
        /// The goal's pending changes when the session began.
        let seen: [Int64]

        func read(minimumCo: Int32) throws -> (graph: ConceptGraphSnapshot, assignments: [String: String]) {
            let pool = engine.pool
            let snapshot = try engine.graph(connection, goal: goal, minimumCo: minimumCo)
            var stored: [String: String] = [:]
            for row in try pool.run(connection, "SELECT concept, cluster FROM plughost.clusters WHERE goal = \(goal)") {
                let (k, v) = try row.decode((String, String).self)
                stored[k] = v
            }
            return (snapshot, stored)
        }

        func store(_ changes: [(concept: String, cluster: String?)]) throws {
            let pool = engine.pool, c = connection
            try engine.writeClusters(c, goal: goal, changes: changes)
            // Rows whose counts fell to zero are no longer needed.
            try pool.run(c, "DELETE FROM plughost.edges WHERE goal = \(goal) AND co = 0 AND dep = 0")
            try pool.run(c, "DELETE FROM plughost.concepts WHERE goal = \(goal) AND count = 0")
            if !seen.isEmpty {
                try pool.run(c, "DELETE FROM plughost.goal_changes WHERE goal = \(goal) AND seq = ANY(\(seen))")
            }
        }
    }

    // MARK: - Contexts

    public func loadContext(goal: String, plugin: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for row in try pool.query(
            "loading the context of plugin \(plugin.debugDescription) in goal \(goal.debugDescription)",
            "SELECT key, value FROM plughost.contexts WHERE goal = \(goal) AND plugin = \(plugin)")
        {
            let (k, v) = try row.decode((String, String).self)
            out[k] = v
        }
        return out
    }

    public func storeContext(goal: String, plugin: String, key: String, value: String?) throws {
        let what = "storing context key \(key.debugDescription) of plugin \(plugin.debugDescription) in goal \(goal.debugDescription)"
        // One statement: the value and the version change together.
        let bump = """
            INSERT INTO plughost.context_versions AS v (goal, plugin, version) VALUES ($1, $2, 1)
            ON CONFLICT (goal, plugin) DO UPDATE SET version = v.version + 1
            """
        var bindings = PostgresBindings()
        bindings.append(goal)
        bindings.append(plugin)
        bindings.append(key)
        let sql: String
        if let value {
            bindings.append(value)
            sql = """
                WITH w AS (
                    INSERT INTO plughost.contexts (goal, plugin, key, value) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (goal, plugin, key) DO UPDATE SET value = excluded.value
                ) \(bump)
                """
        } else {
            sql = """
                WITH w AS (DELETE FROM plughost.contexts WHERE goal = $1 AND plugin = $2 AND key = $3)
                \(bump)
                """
        }
        try pool.query(what, retries: Self.retries, PostgresQuery(unsafeSQL: sql, binds: bindings))
    }

    public func contextVersion(goal: String, plugin: String) throws -> Int64 {
        try pool.query(
            "reading the context version of plugin \(plugin.debugDescription) in goal \(goal.debugDescription)",
            "SELECT version FROM plughost.context_versions WHERE goal = \(goal) AND plugin = \(plugin)"
        )
        .first.map { try $0.decode(Int64.self) } ?? 0
    }

    public func close() throws {
        pool.close()
    }
}
