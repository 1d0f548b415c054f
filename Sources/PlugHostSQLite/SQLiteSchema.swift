import GRDB
import PlugHostCore
import PlugHostMemory

/// The SQLite engine's schema, its migrations and its version check, plus the encoding of the
/// JSON columns (`concepts`, `depends_on`).
///
/// **Versioning.** Migrations are named `v1`, `v2`, … and migration `vN` sets
/// `PRAGMA user_version = N`, so `user_version` is the schema number a file was written with.
/// Opening a file whose `user_version` is above ``version``, or whose `grdb_migrations` lists an
/// identifier this build does not know, fails with "written by a newer plughost" before anything
/// is written to it. `PRAGMA application_id` marks the file as plughost's; a database holding
/// tables without that mark belongs to someone else and is refused rather than migrated.
package enum SQLiteSchema {
    /// The schema this build writes (`PRAGMA user_version` after migrating).
    package static let version: Int32 = 5
    /// `PRAGMA application_id` of plughost memory databases ("PHM1").
    static let applicationID: Int32 = 0x5048_4D31

    /// The migrations, in order: an identifier (recorded in `grdb_migrations`, as GRDB's
    /// migrator does) and what it runs.
    static let steps: [(id: String, run: @Sendable (Database) throws -> Void)] = [
        (
            "v1",
            { db in
                try db.execute(sql: v1)
                try db.execute(sql: "PRAGMA application_id = \(applicationID)")
                try db.execute(sql: "PRAGMA user_version = 1")
            }
        ),
        (
            "v2",
            { db in
                try db.execute(sql: v2)
                try db.execute(sql: "PRAGMA user_version = 2")
            }
        ),
        (
            "v3",
            { db in
                try db.execute(sql: v3)
                try db.execute(sql: "PRAGMA user_version = 3")
            }
        ),
        (
            "v4",
            { db in
                try db.execute(sql: v4)
                try backfillDigests(db)
                try db.execute(sql: "CREATE UNIQUE INDEX memories_digest ON memories(digest, host_assigned)")
                // Clusters stored before schema 4 are model 1's (connected components): every
                // goal holding some is re-clustered under model 2 by the next process that opens
                // the file for writing, and computed so by read-only commands until then.
                try db.execute(sql: "INSERT OR IGNORE INTO pending_clustering(goal) SELECT DISTINCT goal FROM clusters")
                try db.execute(sql: "PRAGMA user_version = 4")
            }
        ),
        (
            "v5",
            { db in
                try db.execute(sql: v5)
                try db.execute(sql: "PRAGMA user_version = 5")
            }
        ),
    ]

    /// The migrations as a GRDB migrator (tests use it to write files of older schemas).
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        for step in steps { m.registerMigration(step.id, migrate: step.run) }
        return m
    }

    /// True when the file is at this build's schema (nothing to migrate).
    static func isCurrent(_ db: Database) throws -> Bool {
        try Int32.fetchOne(db, sql: "PRAGMA user_version") == version
    }

    /// Brings the file to this build's schema in ONE immediate transaction: the first process
    /// to take the write lock migrates, and the others, waiting on the lock (busy timeout),
    /// then find nothing left to do. (GRDB's migrator reads what is applied before its
    /// transactions, so two processes migrating at once would both run a migration.)
    static func migrate(_ writer: any DatabaseWriter, path: String) throws {
        try writer.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                try check(db, path: path)
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                let applied = Set(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
                for step in steps where !applied.contains(step.id) {
                    try step.run(db)
                    try db.execute(sql: "INSERT INTO grdb_migrations(identifier) VALUES (?)", arguments: [step.id])
                }
                return .commit
            }
        }
    }

    /// Refuses, for reading without migrating, files whose schema this build cannot read.
    static func checkReadable(_ db: Database, path: String) throws {
        let userVersion = try Int32.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        if userVersion == 0 {
            throw MemoryError(
                .notFound,
                "\(path) holds no memory database yet (it is empty): nothing has been written there; pass --db or run a pipeline first")
        }
        if userVersion < 2 {
            throw MemoryError(
                .storage,
                "\(path) has the memory schema \(userVersion), older than this build reads without migrating (2 or later); open it once with a command that writes (e.g. `plughost memory replay /dev/null --db \(path)`) to migrate it"
            )
        }
    }

    /// Schema 1.
    ///
    /// - `memories.seq` is the rowid (insertion order, newest = largest) and the rowid of both
    ///   FTS5 indexes. Columns read by filters (`goal`, `plugin`, times) come before the large
    ///   ones so that filtering rarely decodes `content`.
    /// - `memory_concepts` is the (goal, concept) → memory index for recall by concept, newest
    ///   first. It is a contentless FTS5 table (`detail=none`: rowids only) whose row for a
    ///   memory holds one token per concept, `k<hex(goal)>x<hex(concept)>` (exact, no
    ///   tokenizer ambiguity). FTS5 buffers a transaction's postings and writes them as one
    ///   sorted segment, where a B-tree keyed by (goal, concept, seq) takes a random insert per
    ///   concept: measured at 100k memories, 2 µs per memory instead of 14 µs, and growing with
    ///   the table for the B-tree. `MATCH` + `ORDER BY rowid DESC LIMIT n` reads the newest
    ///   postings first (no sort).
    /// - `memories_fts` indexes `content` for text recall, plus the goal as one exact token
    ///   `k<hex(goal)>` so that a search ANDs it in and FTS5 ranks only the goal's matches
    ///   (p99 at 100k memories in 4 goals: 17 ms when filtering by joining `memories`).
    ///   Contentless: the text lives only in `memories`; a delete passes the old values back.
    /// - Both FTS tables are written by the engine, last in each transaction (see
    ///   `SQLiteEngine.apply`), not by triggers: FTS5 flushes its buffer to a new segment at
    ///   every statement savepoint, and trigger programs open one per row.
    /// - Clusters are a `WITHOUT ROWID` table keyed by goal: one B-tree. (Schema 1 kept the
    ///   counts the same way, keyed by concept text; schema 2 replaced them, see ``v2``.)
    static let v1 = """
        CREATE TABLE memories (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            goal TEXT NOT NULL,
            plugin TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL,
            concepts TEXT NOT NULL,
            depends_on TEXT NOT NULL,
            metadata TEXT,
            content TEXT NOT NULL
        );
        CREATE INDEX memories_goal_plugin ON memories(goal, plugin, seq);
        CREATE INDEX memories_expiry ON memories(expires_at) WHERE expires_at IS NOT NULL;
        CREATE TRIGGER memories_no_update BEFORE UPDATE ON memories BEGIN
            SELECT RAISE(ABORT, 'plughost memories are immutable');
        END;
        CREATE VIRTUAL TABLE memory_concepts USING fts5(
            keys, content='', detail=none, columnsize=0, tokenize='ascii'
        );
        CREATE VIRTUAL TABLE memories_fts USING fts5(
            goal, content, content='', tokenize='unicode61 remove_diacritics 0'
        );
        CREATE TABLE concept_counts (
            goal TEXT NOT NULL,
            concept TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (goal, concept)
        ) WITHOUT ROWID;
        CREATE TABLE edges (
            goal TEXT NOT NULL,
            a TEXT NOT NULL,
            b TEXT NOT NULL,
            co INTEGER NOT NULL,
            dep INTEGER NOT NULL,
            PRIMARY KEY (goal, a, b)
        ) WITHOUT ROWID;
        CREATE TABLE clusters (
            goal TEXT NOT NULL,
            concept TEXT NOT NULL,
            cluster TEXT NOT NULL,
            PRIMARY KEY (goal, concept)
        ) WITHOUT ROWID;
        CREATE TABLE pending_clustering (goal TEXT NOT NULL PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE contexts (
            goal TEXT NOT NULL,
            plugin TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (goal, plugin, key)
        ) WITHOUT ROWID;
        """

    /// Schema 2: integer concept ids. Schema 1's `concept_counts` and `edges`, keyed by
    /// (goal, concept text) and (goal, a text, b text), become
    ///
    /// - `concepts`: one row per (goal, concept) ever counted, `id INTEGER PRIMARY KEY`, with its
    ///   holder count. Rows are never deleted (a count of 0 means not held), so an id, once
    ///   committed, names the same concept for good and the writer caches it (see
    ///   `SQLiteEngine.apply`); the unique (goal, concept) index finds ids on a cache miss and
    ///   serves `conceptGraph`.
    /// - `edge_counts`: (a id, b id) → (co, dep), `WITHOUT ROWID`, rows removed at (0, 0).
    ///
    /// An edge row is ~10 bytes instead of ~40 and compares integers: a group commit dirties
    /// far fewer pages of the two count B-trees, which was most of its cost (at 100k memories,
    /// commits of 1000 writes: edges upserts were ~60% of the engine's time).
    ///
    /// Files of schema 1 are migrated in place (the counts are copied over; edges whose ends
    /// have no count row get a concept row with count 0).
    static let v2 = """
        CREATE TABLE concepts (
            id INTEGER PRIMARY KEY,
            goal TEXT NOT NULL,
            concept TEXT NOT NULL,
            count INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX concepts_goal_concept ON concepts(goal, concept);
        CREATE TABLE edge_counts (
            a INTEGER NOT NULL,
            b INTEGER NOT NULL,
            co INTEGER NOT NULL,
            dep INTEGER NOT NULL,
            PRIMARY KEY (a, b)
        ) WITHOUT ROWID;
        INSERT INTO concepts(goal, concept, count) SELECT goal, concept, count FROM concept_counts ORDER BY goal, concept;
        INSERT OR IGNORE INTO concepts(goal, concept, count)
            SELECT goal, a, 0 FROM edges UNION SELECT goal, b, 0 FROM edges;
        INSERT INTO edge_counts(a, b, co, dep)
            SELECT ca.id, cb.id, e.co, e.dep FROM edges e
            JOIN concepts ca ON ca.goal = e.goal AND ca.concept = e.a
            JOIN concepts cb ON cb.goal = e.goal AND cb.concept = e.b;
        DROP TABLE edges;
        DROP TABLE concept_counts;
        """

    /// Schema 3: goal versions, so that several processes can keep one file's clusters exact.
    ///
    /// `goal_versions.version` grows by one with every transaction that changes a goal's graph
    /// or its stored clusters, whoever makes it; `committed` is the version of the goal's last
    /// commit. A process compares the version it finds in each of its write transactions with
    /// the one its own last transaction left: a difference means another process changed the
    /// goal, and its next clustering run re-reads the goal under the write lock instead of
    /// trusting its in-memory graph (see `SQLiteEngine.withClusteringSession`). A goal without
    /// a row has version 0. Schema 2 files get the table, empty.
    static let v3 = """
        CREATE TABLE goal_versions (
            goal TEXT NOT NULL PRIMARY KEY,
            version INTEGER NOT NULL,
            committed INTEGER NOT NULL
        ) WITHOUT ROWID;
        """

    /// Schema 4: idempotent writes and settings stored with the memory.
    ///
    /// - `memories.digest`: the memory's content digest (``MemoryDigest``, 32 bytes), and
    ///   `memories.host_assigned`: 1 for a memory written without a caller-given id, NULL
    ///   otherwise. The unique index `memories_digest` on (digest, host_assigned) finds a
    ///   write's equal memories and keeps at most one per content among host-assigned ids, so
    ///   two processes writing the same memory at once store it once (NULLs are distinct: caller
    ///   ids keep their rules). Schema 3 files get the digests of their memories computed (the
    ///   immutability trigger is dropped and made again around that) and `host_assigned` NULL:
    ///   their memories are found by later writes but hold no uniqueness.
    /// - `meta`: settings of the memory, key → text; `theta` is θ, stored by the first process
    ///   that opens the file for writing (see `SQLiteEngine.theta(storingIfAbsent:)`).
    /// - Goals with stored clusters are marked pending: those clusters are model 1's.
    static let v4 = """
        ALTER TABLE memories ADD COLUMN digest BLOB;
        ALTER TABLE memories ADD COLUMN host_assigned INTEGER;
        CREATE TABLE meta (
            key TEXT NOT NULL PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        """

    /// Schema 5: `counters`, the cumulative counters of every process that wrote the memory
    /// (``StoredCounters``), name → value; each process adds its own with
    /// `value = value + ?` (see `SQLiteEngine.addCounters(_:)`). Schema 4 files get it empty.
    static let v5 = """
        CREATE TABLE counters (
            name TEXT NOT NULL PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        """

    /// Computes the digest of every stored memory (schema 4's migration).
    static func backfillDigests(_ db: Database) throws {
        guard try Int.fetchOne(db, sql: "SELECT count(*) FROM memories") ?? 0 > 0 else { return }
        try db.execute(sql: "DROP TRIGGER memories_no_update")
        let read = try RawStatement(
            db,
            "SELECT m.seq, m.id, m.goal, m.plugin, m.created_at, m.expires_at, m.concepts, m.depends_on, m.metadata, m.content FROM memories m"
        )
        var digests: [(seq: Int64, digest: [UInt8])] = []
        while try read.step() { digests.append((read.int(0), MemoryDigest(of: try read.memory(at: 1, path: "the database")).bytes)) }
        read.reset()
        let update = try RawStatement(db, "UPDATE memories SET digest = ?2 WHERE seq = ?1")
        for d in digests {
            try update.bind(1, d.seq)
            try update.bind(2, blob: d.digest)
            try update.run()
        }
        try db.execute(
            sql: """
                CREATE TRIGGER memories_no_update BEFORE UPDATE ON memories BEGIN
                    SELECT RAISE(ABORT, 'plughost memories are immutable');
                END;
                """)
    }

    /// Appends the `memory_concepts` token of `concept` in the goal whose hex is `goalHex`.
    @inline(__always)
    static func appendConceptToken(goalHex: [UInt8], concept: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "k"))
        out.append(contentsOf: goalHex)
        out.append(UInt8(ascii: "x"))
        appendHex(concept, to: &out)
    }

    /// The `memories_fts.goal` token of a goal.
    static func goalToken(_ goal: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "k")]
        appendHex(goal, to: &out)
        return out
    }

    /// The `memory_concepts` text of a memory: its concepts' tokens, space-separated.
    static func appendConceptTokens(goalHex: [UInt8], concepts: [String], to out: inout [UInt8]) {
        for (i, c) in concepts.enumerated() {
            if i > 0 { out.append(0x20) }
            appendConceptToken(goalHex: goalHex, concept: c, to: &out)
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    @inline(__always)
    static func appendHex(_ s: String, to out: inout [UInt8]) {
        for b in s.utf8 {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0xF)])
        }
    }

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(2 * s.utf8.count)
        appendHex(s, to: &out)
        return out
    }

    /// Refuses files that are not plughost's or were written by a newer schema. Run before
    /// migrating (so nothing is written to such a file) and after (another process may have
    /// migrated in between).
    static func check(_ db: Database, path: String) throws {
        let appID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
        let userVersion = try Int32.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        let tables = try String.fetchAll(
            db,
            sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name <> 'grdb_issue_102'
                """)
        if appID != applicationID {
            if appID != 0 {
                throw MemoryError(
                    .storage, "\(path) is not a plughost SQLite database: its application_id is \(appID), not plughost's \(applicationID)")
            }
            if !tables.isEmpty {
                throw MemoryError(
                    .storage,
                    "\(path) is not a plughost SQLite database: it holds tables of another application (\(tables.sorted().prefix(5).joined(separator: ", ")))"
                )
            }
        }
        let known = Set(steps.map(\.id))
        var unknown: [String] = []
        if tables.contains("grdb_migrations") {
            unknown = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations").filter { !known.contains($0) }.sorted()
        }
        if userVersion > version || !unknown.isEmpty {
            let n = userVersion > version ? "\(userVersion)" : "\(userVersion)+, with unknown migrations \(unknown.joined(separator: ", "))"
            throw MemoryError(
                .storage,
                "\(path) was written by a newer plughost (schema \(n), this build knows \(version)); open it with a newer plughost or use another --db file"
            )
        }
    }
}

/// The JSON text of the `concepts` and `depends_on` columns: the write path encodes a few short
/// strings per memory straight into the statement's bytes with ``JSONWriter``'s escaping
/// (`JSONEncoder` would cost more than the insert), and reads them back with ``JSONReader``'s
/// byte fast path. SQLite's `json_each` (used by the triggers) reads them too.
enum SQLiteJSON {
    /// Appends `["a","b",…]`.
    static func encode(_ strings: [String], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, s) in strings.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.appendQuoted(s, to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    /// Appends `[["from","to"],…]`.
    static func encode(_ dependencies: [Dependency], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, d) in dependencies.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            JSONWriter.appendQuoted(d.from, to: &out)
            out.append(UInt8(ascii: ","))
            JSONWriter.appendQuoted(d.to, to: &out)
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "]"))
    }

    /// Every string of a JSON array of strings, or of arrays of strings, flattened in order.
    static func strings(_ bytes: UnsafeBufferPointer<UInt8>) throws -> [String] {
        try JSONReader.flattenedStrings(bytes: bytes)
    }
}
