import Foundation
import GRDB
import GRDBSQLite
import Synchronization
import PlugHostCore
import PlugHostMemory

/// The durable engine: one SQLite file in WAL mode (GRDB), the default of `--engine`.
///
/// **Connections.** A `DatabasePool`: one writer connection plus a pool of reader connections.
/// Under WAL, readers read the last committed snapshot while the writer is inside a (possibly
/// large) group-commit transaction, so recalls, `memory(id:)` look-ups of the committer and the
/// context loads of writer threads never wait for a commit, and several threads read in
/// parallel. A `DatabaseQueue` would serialise every read behind every commit.
///
/// **Durability.** `journal_mode=WAL`, `synchronous=NORMAL`: a transaction is durable against
/// a process crash (`kill -9`) as soon as `COMMIT` returns, because its pages are in the WAL
/// file (the OS keeps them even if the process dies). Only a power loss or OS crash can drop
/// the last commits before the next checkpoint's fsync; `FULL` would fsync on every commit
/// and cut group-commit throughput for a guarantee the write path does not promise.
///
/// **Writes.** ``apply(_:)`` is one `BEGIN IMMEDIATE … COMMIT` for the whole group commit; it
/// returns only after `COMMIT` did, and any SQLite error rolls everything back. The hot loops
/// use GRDB's cached prepared statements stepped through the SQLite C API (bind, step, reset),
/// with hand-encoded JSON columns; the engine maintains both FTS5 indexes (`memory_concepts`,
/// `memories_fts`; see `SQLiteSchema`). A second process writing the same file waits up to
/// `busyTimeout` seconds for the write lock, then fails with an error saying so.
///
/// Every error names the database file.
public final class SQLiteEngine: ClusteringCoordinator {
    public var kind: String { "sqlite" }
    public var location: String? { path }

    /// The database file, as given.
    public let path: String
    /// The connections. Internal so that tests can reach the writer.
    let pool: DatabasePool
    private let busyTimeout: Double
    private let closed = Atomic<Bool>(false)
    /// Where `ph_capture` (writer connection only) leaves the counts of an upsert.
    private let capture: CountCapture
    /// Concept ids by goal and concept key, as committed (schema 2 never deletes or renumbers a
    /// concept row). Used only inside write transactions, which GRDB serialises.
    private let conceptIDs = Mutex<[String: [String: Int64]]>([:])
    /// Per goal, the version this engine's own last write transaction left and whether another
    /// process changed the goal since this engine's clustering last read it (see
    /// ``ClusteringCoordinator``). Used only inside write transactions, which GRDB serialises.
    private let goalMarks = Mutex<[String: GoalMark]>([:])
    /// True when opened read-only.
    public let readOnly: Bool
    /// Read-only over a file of schema 3 or older (not migrated): its stored clusters are
    /// model 1's, so every goal holding some counts as pending (computed, not shown stale).
    private let clustersPredateModel2: Bool

    struct GoalMark {
        var version: Int64
        var elsewhere: Bool
    }

    /// Bumps a goal's version and commit version; `ph_capture` receives the new version (no
    /// capture: the row is new, version 1).
    static let bumpCommitSQL = """
        INSERT INTO goal_versions(goal, version, committed) VALUES (?1, 1, 1)
        ON CONFLICT(goal) DO UPDATE SET version = version + 1, committed = version + 1
        WHERE ph_capture(version + 1, 0)
        """

    /// Opens (or creates, with its parent directories) the database at `path`; with
    /// `readOnly`, opens an existing database for reading only: nothing is created, migrated
    /// or written, and a read-only file is fine.
    /// - Parameter busyTimeout: seconds to wait for another connection's write lock.
    public init(path: String, busyTimeout: Double = 5, readOnly: Bool = false) throws {
        guard !path.isEmpty else { throw MemoryError(.storage, "the SQLite database path is empty") }
        self.path = path
        self.busyTimeout = busyTimeout
        self.readOnly = readOnly
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        let exists = fm.fileExists(atPath: path, isDirectory: &isDirectory)
        if exists, isDirectory.boolValue {
            throw MemoryError(.storage, "\(path) is a directory, not a plughost SQLite database")
        }
        guard sqlite3_libversion_number() >= 3_035_000 else {
            throw MemoryError(
                .storage, "cannot open \(path): SQLite \(String(cString: sqlite3_libversion())) is too old, plughost needs 3.35 or later")
        }
        if readOnly {
            guard exists else {
                throw MemoryError(
                    .notFound, "no memory database at \(path): nothing has been written there yet; pass --db or run a pipeline first")
            }
        } else if !exists {
            try Self.createFresh(path)
        }

        let capture = CountCapture()
        self.capture = capture
        var config = Self.configuration(busyTimeout: busyTimeout, capture: capture)
        config.readonly = readOnly
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw Self.openError(error, path: path, readOnly: readOnly)
        }
        do {
            let current = try pool.read { db -> Bool in
                try SQLiteSchema.check(db, path: path)
                return try SQLiteSchema.isCurrent(db)
            }
            if readOnly {
                try pool.read { try SQLiteSchema.checkReadable($0, path: path) }
                clustersPredateModel2 = try pool.read { try Int32.fetchOne($0, sql: "PRAGMA user_version") ?? 0 } < 4
            } else {
                clustersPredateModel2 = false
                if !current { try SQLiteSchema.migrate(pool, path: path) }
                let mode = try pool.writeWithoutTransaction { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
                guard mode?.lowercased() == "wal" else {
                    throw MemoryError(
                        .storage, "cannot open \(path): SQLite did not switch it to WAL mode (journal_mode is \(mode ?? "unknown"))")
                }
            }
        } catch let e as MemoryError {
            try? pool.close()
            throw e
        } catch {
            try? pool.close()
            throw Self.openError(error, path: path, readOnly: readOnly)
        }
    }

    /// The connections' configuration: WAL, busy timeout, and per-connection pragmas.
    private static func configuration(busyTimeout: Double, capture: CountCapture?) -> Configuration {
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.journalMode = .wal
        config.label = "plughost.memory"
        config.prepareDatabase { db in
            // Temporary B-trees (ORDER BY of text recall) stay in memory.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            if db.configuration.readonly {
                try db.execute(sql: "PRAGMA cache_size = -8192")  // 8 MiB per reader
            } else {
                // See the type's documentation: NORMAL is crash-safe under WAL.
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                try db.execute(sql: "PRAGMA cache_size = -65536")  // 64 MiB for the writer
                // Checkpoint every 8192 pages (32 MiB of WAL) rather than 1000: a group commit
                // dirties hundreds of count pages, and a checkpoint copies each page once however
                // many commits rewrote it (~20% more writes/s at 100k memories).
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 8192")
                try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
                try capture?.register(on: db)
            }
        }
        return config
    }

    /// Creates a new database at `path` (and its parent directories) so that no process ever
    /// opens a half-made one: the schema is written to a private file beside it, which is then
    /// hard-linked into place. `link` fails when the path exists, so of several processes
    /// creating the same database at once exactly one file wins and the others open it.
    private static func createFresh(_ path: String) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if fm.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw MemoryError(.storage, "cannot create the database \(path): \(directory) is not a directory")
            }
        } else {
            do {
                try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw MemoryError(.storage, "cannot create the directory \(directory) for the database \(path): \(reason(error))")
            }
        }
        // A -wal or -shm without its database: the database was deleted while a process had
        // it open (or was killed). SQLite would replay that WAL into the new file.
        let leftovers = ["-wal", "-shm"].map { path + $0 }.filter { fm.fileExists(atPath: $0) }
        if !leftovers.isEmpty {
            // A process opens (and so makes the -wal and -shm of) a database only after it is
            // in place: with the database there now, another process has just created it.
            if fm.fileExists(atPath: path) { return }
            throw MemoryError(
                .storage,
                "cannot create the database \(path): \(leftovers.joined(separator: " and ")) exist without it (the database was deleted while a process may still have it open); stop that process or remove them"
            )
        }
        let temporary = "\(path).new-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer {
            for suffix in ["", "-wal", "-shm", "-journal"] { unlink(temporary + suffix) }
        }
        do {
            let queue = try DatabaseQueue(path: temporary, configuration: configuration(busyTimeout: 1, capture: nil))
            try SQLiteSchema.migrate(queue, path: path)
            // Closing the only connection checkpoints the WAL into the file and removes it;
            // the file stays in WAL mode.
            try queue.close()
        } catch let e as MemoryError {
            throw e
        } catch {
            throw openError(error, path: path, readOnly: false)
        }
        if link(temporary, path) != 0 && errno != EEXIST {
            let code = errno
            throw MemoryError(.storage, "cannot create the database \(path): \(String(cString: strerror(code)))")
        }
    }

    // MARK: - Errors

    private static func reason(_ error: any Error) -> String {
        if let e = error as? DatabaseError { return describe(e) }
        return (error as NSError).localizedDescription
    }

    private static func describe(_ e: DatabaseError) -> String {
        let code = e.extendedResultCode.rawValue
        let name = codeNames[code & 0xFF].map { "SQLITE_\($0)" } ?? "SQLite error"
        let message = e.message ?? String(cString: sqlite3_errstr(code))
        return "\(message) (\(name), code \(code))"
    }

    private static let codeNames: [Int32: String] = [
        1: "ERROR", 2: "INTERNAL", 3: "PERM", 4: "ABORT", 5: "BUSY", 6: "LOCKED", 7: "NOMEM",
        8: "READONLY", 9: "INTERRUPT", 10: "IOERR", 11: "CORRUPT", 13: "FULL", 14: "CANTOPEN",
        15: "PROTOCOL", 17: "SCHEMA", 18: "TOOBIG", 19: "CONSTRAINT", 20: "MISMATCH", 21: "MISUSE",
        23: "AUTH", 26: "NOTADB",
    ]

    private static func openError(_ error: any Error, path: String, readOnly: Bool = false) -> MemoryError {
        if let e = error as? MemoryError { return e }
        guard let e = error as? DatabaseError else {
            return MemoryError(.storage, "cannot open \(path): \(error)")
        }
        switch e.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return MemoryError(.storage, "\(path) is not a plughost SQLite database: \(describe(e))")
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY:
            if readOnly {
                return MemoryError(
                    .storage,
                    "cannot open \(path) for reading (is it readable, and is its directory writable or its -shm file present?): \(describe(e))"
                )
            }
            return MemoryError(.storage, "cannot open \(path) for writing (is it, or its directory, writable?): \(describe(e))")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return MemoryError(.storage, "cannot open \(path): another process holds a lock on it: \(describe(e))")
        default:
            return MemoryError(.storage, "cannot open \(path): \(describe(e))")
        }
    }

    /// The error to throw for `error`, met while doing `action`.
    private func failure(_ error: any Error, _ action: String) -> MemoryError {
        if let e = error as? MemoryError { return e }
        if closed.load(ordering: .relaxed) { return closedError }
        guard let e = error as? DatabaseError else {
            return MemoryError(.storage, "\(path): \(action) failed: \(error)")
        }
        var message = "\(path): \(action) failed: \(Self.describe(e))"
        switch e.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            message += "; another process or connection kept the database locked for more than \(busyTimeout) s"
        case .SQLITE_FULL:
            message += "; the disk (or the database's size limit) is full"
        case .SQLITE_READONLY:
            message += "; the database cannot be written"
        default: break
        }
        return MemoryError(.storage, message)
    }

    private var closedError: MemoryError { MemoryError(.closed, "the memory engine (\(path)) is closed") }

    @inline(__always)
    private func checkOpen() throws {
        if closed.load(ordering: .relaxed) { throw closedError }
    }

    /// A read of one statement (atomic by itself: no explicit transaction), or of several in
    /// one snapshot transaction when `snapshot`.
    @inline(__always)
    private func read<T>(_ action: @autoclosure () -> String, snapshot: Bool = false, _ body: (Database) throws -> T) throws -> T {
        try checkOpen()
        do {
            return try snapshot ? pool.read(body) : pool.unsafeRead(body)
        } catch {
            throw failure(error, action())
        }
    }

    /// One write transaction; durable when it returns. Fails, storing nothing, when the file
    /// at ``path`` is no longer the one this engine opened (deleted, renamed or replaced).
    /// `afterCommit` runs once COMMIT succeeded, still on GRDB's serialised writer.
    private func write<T>(
        _ action: @autoclosure () -> String, _ body: (Database) throws -> T, afterCommit: () -> Void = {}
    ) throws -> T {
        try checkOpen()
        if readOnly {
            throw MemoryError(.storage, "\(path): \(action()) failed: the database was opened read-only")
        }
        do {
            return try pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    try checkNotMoved(db)
                    return .commit
                }
                afterCommit()
                return result!
            }
        } catch let e as DuplicateContentError {
            throw e
        } catch {
            throw failure(error, action())
        }
    }

    /// Throws when the database file was unlinked, renamed or replaced since it was opened:
    /// a commit would then go to a file nobody can open again.
    private func checkNotMoved(_ db: Database) throws {
        var moved: Int32 = 0
        let rc = sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_HAS_MOVED, &moved)
        if rc == SQLITE_OK && moved != 0 {
            throw MemoryError(
                .storage,
                "\(path) was deleted, moved or replaced while this process had it open; nothing of this transaction was stored (the memory it held is in the file that was moved, if it still exists)"
            )
        }
    }

    // MARK: - Writes

    public func apply(_ batches: [EngineBatch]) throws -> [BatchResult] {
        guard !batches.isEmpty else { try checkOpen(); return [] }
        // The id cache is taken out for the transaction and put back after it; ids the
        // transaction created are dropped again if it does not commit.
        var ids = conceptIDs.withLock { c -> [String: [String: Int64]] in
            defer { c = [:] }; return c
        }
        var created: [(goal: String, concept: String)] = []
        do {
            // The goals' new marks are published only once COMMIT succeeded, still on GRDB's
            // serialised writer (so in order with clustering sessions): a failed transaction
            // leaves this engine's marks where the file is.
            var marks: [String: GoalMark] = [:]
            let results = try write(
                "committing \(batches.count) batches",
                {
                    db in try applyInTransaction(db, batches, ids: &ids, created: &created, marks: &marks)
                },
                afterCommit: {
                    self.goalMarks.withLock { m in for (g, mark) in marks { m[g] = mark } }
                })
            conceptIDs.withLock { $0 = ids }
            return results
        } catch {
            for (g, c) in created { ids[g]?.removeValue(forKey: c) }
            conceptIDs.withLock { $0 = ids }
            throw error
        }
    }

    /// The group commit's statements, in an order that keeps FTS5 cheap: first every memory
    /// delete and insert and every count upsert of every batch, then the FTS deletes, then the
    /// FTS inserts. FTS5 buffers postings until commit, but flushes them at every statement
    /// savepoint once it is part of the transaction, so nothing that may open one runs after
    /// the first FTS write.
    ///
    /// Counts after each upsert come from `ph_capture`, called by the upsert's `DO UPDATE …
    /// WHERE` with the new counts (no conflict: the counts are the delta). `RETURNING` gives the
    /// same numbers but costs an ephemeral table per execution: 3.5 µs instead of 2.3 µs per
    /// upsert with SQLite 3.40, ×10 upserts per write.
    private func applyInTransaction(
        _ db: Database, _ batches: [EngineBatch], ids: inout [String: [String: Int64]], created: inout [(goal: String, concept: String)],
        marks: inout [String: GoalMark]
    ) throws -> [BatchResult] {
        let delete = try RawStatement(db, "DELETE FROM memories WHERE id = ?1 RETURNING seq, goal, concepts, content")
        let insert = try RawStatement(
            db,
            """
            INSERT INTO memories(id, goal, plugin, created_at, expires_at, concepts, depends_on, metadata, content, digest, host_assigned)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
            """)
        let concept = try RawStatement(db, "UPDATE concepts SET count = count + ?2 WHERE id = ?1 AND ph_capture(count + ?2, 0)")
        let conceptFind = try RawStatement(db, "SELECT id FROM concepts WHERE goal = ?1 AND concept = ?2")
        let conceptNew = try RawStatement(db, "INSERT INTO concepts(goal, concept, count) VALUES (?1, ?2, 0)")
        let edge = try RawStatement(
            db,
            """
            INSERT INTO edge_counts(a, b, co, dep) VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT(a, b) DO UPDATE SET co = co + excluded.co, dep = dep + excluded.dep
            WHERE ph_capture(co + excluded.co, dep + excluded.dep)
            """)
        let edgeGone = try RawStatement(db, "DELETE FROM edge_counts WHERE a = ?1 AND b = ?2")
        let pending = try RawStatement(db, "INSERT OR IGNORE INTO pending_clustering(goal) VALUES (?1)")
        let bump = try RawStatement(db, Self.bumpCommitSQL)
        let conceptsFTS = try RawStatement(db, "INSERT INTO memory_concepts(rowid, keys) VALUES (?1, ?2)")
        let conceptsFTSDelete = try RawStatement(db, "INSERT INTO memory_concepts(memory_concepts, rowid, keys) VALUES ('delete', ?1, ?2)")
        let textFTS = try RawStatement(db, "INSERT INTO memories_fts(rowid, goal, content) VALUES (?1, ?2, ?3)")
        let textFTSDelete = try RawStatement(
            db, "INSERT INTO memories_fts(memories_fts, rowid, goal, content) VALUES ('delete', ?1, ?2, ?3)")
        defer {
            for s in [
                delete, insert, concept, conceptFind, conceptNew, edge, edgeGone, pending, bump, conceptsFTS, conceptsFTSDelete, textFTS,
                textFTSDelete,
            ] {
                s.reset()
            }
        }
        let cell = capture.values
        /// This transaction's version of each goal it changed.
        var versions: [String: Int64] = [:]

        /// A deleted memory's FTS rows to delete: its seq, content and concept tokens.
        var removed: [(seq: Int64, goal: String, content: String, tokens: [UInt8])] = []
        /// Inserted memories' FTS rows: seq, batch and insert index.
        var added: [(seq: Int64, batch: Int, index: Int)] = []
        added.reserveCapacity(batches.reduce(0) { $0 + $1.inserts.count })
        var json: [UInt8] = []
        json.reserveCapacity(512)
        var results: [BatchResult] = []
        results.reserveCapacity(batches.count)
        for (bi, batch) in batches.enumerated() {
            let goal = batch.goal
            for id in batch.deletes {
                try delete.bind(1, id)
                defer { delete.reset() }
                guard try delete.step() else { continue }
                let concepts = try delete.jsonStrings(2)
                var tokens: [UInt8] = []
                SQLiteSchema.appendConceptTokens(goalHex: SQLiteSchema.hex(delete.text(1)), concepts: concepts, to: &tokens)
                removed.append((delete.int(0), delete.text(1), delete.text(3), tokens))
            }
            if !batch.inserts.isEmpty {
                try insert.bind(2, goal)
                for (mi, m) in batch.inserts.enumerated() {
                    try insert.bind(1, m.id)
                    if m.goal != goal { try insert.bind(2, m.goal) }
                    try insert.bind(3, m.plugin)
                    try insert.bind(4, m.createdAt)
                    try insert.bind(5, m.expiresAt)
                    json.removeAll(keepingCapacity: true)
                    SQLiteJSON.encode(m.concepts, into: &json)
                    try insert.bind(6, json)
                    json.removeAll(keepingCapacity: true)
                    SQLiteJSON.encode(m.dependsOn, into: &json)
                    try insert.bind(7, json)
                    try insert.bind(8, m.metadata)
                    try insert.bind(9, m.content)
                    try insert.bind(10, blob: MemoryDigest(of: m).bytes)
                    let unique = batch.isHostAssigned(mi)
                    if unique { try insert.bind(11, Int64(1)) } else { try insert.bind(11, nil as String?) }
                    do {
                        try insert.run()
                    } catch let e as DatabaseError
                        where unique && e.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
                        && (e.message ?? "").contains("memories.digest")
                    {
                        // Another process stored the same memory (host-assigned id) meanwhile.
                        throw DuplicateContentError(goal: m.goal)
                    }
                    added.append((sqlite3_last_insert_rowid(insert.connection), bi, mi))
                    if m.goal != goal { try insert.bind(2, goal) }
                }
            }
            var goalIDs = ids.removeValue(forKey: goal) ?? [:]
            defer { ids[goal] = goalIDs }
            /// The id of `c` in this goal: cached, else stored, else a new row with count 0.
            func conceptID(_ c: String) throws -> Int64 {
                if let id = goalIDs[c] { return id }
                try conceptFind.bind(1, goal)
                try conceptFind.bind(2, c)
                defer { conceptFind.reset() }
                let id: Int64
                if try conceptFind.step() {
                    id = conceptFind.int(0)
                } else {
                    try conceptNew.bind(1, goal)
                    try conceptNew.bind(2, c)
                    try conceptNew.run()
                    id = sqlite3_last_insert_rowid(conceptNew.connection)
                    created.append((goal, c))
                }
                goalIDs[c] = id
                return id
            }
            var conceptCounts: [Int32] = []
            conceptCounts.reserveCapacity(batch.concepts.count)
            for d in batch.concepts {
                try concept.bind(1, try conceptID(d.concept))
                try concept.bind(2, Int64(d.delta))
                cell[0] = 0
                try concept.run()
                guard cell[0] != 0 else {
                    throw MemoryError(
                        .storage, "\(path): internal: concept \(d.concept.debugDescription) of goal \(goal.debugDescription) has no row")
                }
                conceptCounts.append(Int32(truncatingIfNeeded: cell[1]))
            }
            var edgeCounts: [EdgeCounts] = []
            edgeCounts.reserveCapacity(batch.edges.count)
            for e in batch.edges {
                let a = try conceptID(e.a), b = try conceptID(e.b)
                try edge.bind(1, a)
                try edge.bind(2, b)
                try edge.bind(3, Int64(e.co))
                try edge.bind(4, Int64(e.dep))
                cell[0] = 0
                try edge.run()
                let (co, dep) = cell[0] != 0 ? (cell[1], cell[2]) : (Int64(e.co), Int64(e.dep))
                if co == 0 && dep == 0 {
                    try edgeGone.bind(1, a)
                    try edgeGone.bind(2, b)
                    try edgeGone.run()
                }
                edgeCounts.append(EdgeCounts(co: Int32(truncatingIfNeeded: co), dep: Int32(truncatingIfNeeded: dep)))
            }
            var version = versions[goal] ?? 0
            if version == 0 && (!batch.concepts.isEmpty || !batch.edges.isEmpty) {
                try pending.bind(1, goal)
                try pending.run()
                // The goal's version, once per goal and transaction; a version other than the
                // one this engine's own last transaction left means another process wrote.
                try bump.bind(1, goal)
                cell[0] = 0
                try bump.run()
                version = cell[0] != 0 ? cell[1] : 1
                versions[goal] = version
                let old = goalMarks.withLock { $0[goal] }
                marks[goal] = GoalMark(version: version, elsewhere: old.map { $0.elsewhere || $0.version != version - 1 } ?? true)
            }
            results.append(BatchResult(conceptCounts: conceptCounts, edgeCounts: edgeCounts, goalVersion: version))
        }

        // FTS last: deletes before inserts (a new memory can take a deleted one's rowid).
        for r in removed {
            // A memory without concepts has no memory_concepts row (see below); deleting one
            // that was never inserted would corrupt the FTS5 totals.
            if !r.tokens.isEmpty {
                try conceptsFTSDelete.bind(1, r.seq)
                try conceptsFTSDelete.bind(2, r.tokens)
                try conceptsFTSDelete.run()
            }
            try textFTSDelete.bind(1, r.seq)
            try textFTSDelete.bind(2, SQLiteSchema.goalToken(r.goal))
            try textFTSDelete.bind(3, r.content)
            try textFTSDelete.run()
        }
        var tokens: [UInt8] = []
        tokens.reserveCapacity(256)
        var goalHex: (goal: String, hex: [UInt8], token: [UInt8]) = ("", [], [])
        for a in added {
            let m = batches[a.batch].inserts[a.index]
            if m.goal != goalHex.goal || goalHex.hex.isEmpty {
                goalHex = (m.goal, SQLiteSchema.hex(m.goal), SQLiteSchema.goalToken(m.goal))
            }
            if !m.concepts.isEmpty {
                tokens.removeAll(keepingCapacity: true)
                SQLiteSchema.appendConceptTokens(goalHex: goalHex.hex, concepts: m.concepts, to: &tokens)
                try conceptsFTS.bind(1, a.seq)
                try conceptsFTS.bind(2, tokens)
                try conceptsFTS.run()
            }
            try textFTS.bind(1, a.seq)
            try textFTS.bind(2, goalHex.token)
            try textFTS.bind(3, m.content)
            try textFTS.run()
        }
        return results
    }

    /// θ in the `meta` table (schema 4): read, and stored in a write transaction when absent
    /// (the first writer's wins). A read-only engine over a file of an older schema has none.
    public func theta(storingIfAbsent proposed: Int32?) throws -> Int32? {
        func stored(_ db: Database) throws -> Int32? {
            guard try db.tableExists("meta") else { return nil }
            guard let text = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'theta'") else { return nil }
            guard let t = Int32(text) else {
                throw MemoryError(.storage, "\(path): the stored theta \(text.debugDescription) is not an integer")
            }
            return t
        }
        if let t = try read("reading theta", { try stored($0) }) { return t }
        guard let proposed, !readOnly else { return nil }
        return try write("storing theta") { db in
            try db.execute(sql: "INSERT OR IGNORE INTO meta(key, value) VALUES ('theta', ?)", arguments: [String(proposed)])
            return try stored(db)
        }
    }

    /// In `counters` (schema 5), as `value = value + delta` upserts in one transaction.
    public func addCounters(_ deltas: [String: Int64]) throws {
        guard !deltas.isEmpty else { return try checkOpen() }
        try write("adding to the stored counters") { db in
            for (name, delta) in deltas.sorted(by: { $0.key < $1.key }) {
                try db.execute(
                    sql: "INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                    arguments: [name, delta])
            }
        }
    }

    /// One count over the index on (goal, plugin, seq).
    public func memoryCount(goal: String, at time: Double) throws -> Int {
        try read("counting the memories of goal \(goal.debugDescription)") { db in
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM memories WHERE goal = ? AND (expires_at IS NULL OR expires_at > ?)",
                arguments: [goal, time]) ?? 0
        }
    }

    /// The database file and its write-ahead log (`-wal`), as they are on disk now.
    public func storageSize() throws -> Int64? {
        try checkOpen()
        var total: Int64 = 0
        for file in [path, path + "-wal"] {
            if let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber {
                total += size.int64Value
            }
        }
        return total
    }

    /// From `counters`; empty for a file of a schema before 5 opened read-only.
    public func storedCounters() throws -> [String: Int64] {
        try read("reading the stored counters") { db in
            guard try db.tableExists("counters") else { return [:] }
            var out: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, value FROM counters") { out[row["name"]] = row["value"] }
            return out
        }
    }

    public func storeClusters(goal: String, changes: [(concept: String, cluster: String?)], complete: Bool) throws {
        if changes.isEmpty && !complete { return try checkOpen() }
        var version: Int64 = 0
        try write(
            "storing \(changes.count) cluster assignments of goal \(goal.debugDescription)",
            { db in
                try storeAssignments(db, goal: goal, changes: changes)
                if complete {
                    let done = try RawStatement(db, "DELETE FROM pending_clustering WHERE goal = ?1")
                    try done.bind(1, goal)
                    try done.run()
                }
                version = try bumpVersion(db, goal: goal)
            },
            afterCommit: {
                self.goalMarks.withLock { marks in
                    let old = marks[goal]
                    marks[goal] = GoalMark(version: version, elsewhere: old.map { $0.elsewhere || $0.version != version - 1 } ?? true)
                }
            })
    }

    private func storeAssignments(_ db: Database, goal: String, changes: [(concept: String, cluster: String?)]) throws {
        let upsert = try RawStatement(
            db,
            """
            INSERT INTO clusters(goal, concept, cluster) VALUES (?1, ?2, ?3)
            ON CONFLICT(goal, concept) DO UPDATE SET cluster = excluded.cluster
            """)
        let remove = try RawStatement(db, "DELETE FROM clusters WHERE goal = ?1 AND concept = ?2")
        defer { upsert.reset(); remove.reset() }
        try upsert.bind(1, goal)
        try remove.bind(1, goal)
        for (concept, cluster) in changes {
            if let cluster {
                try upsert.bind(2, concept)
                try upsert.bind(3, cluster)
                try upsert.run()
            } else {
                try remove.bind(2, concept)
                try remove.run()
            }
        }
    }

    /// Bumps the goal's version for a change of its stored clusters; returns the new version.
    @discardableResult
    private func bumpVersion(_ db: Database, goal: String) throws -> Int64 {
        let s = try RawStatement(
            db,
            """
            INSERT INTO goal_versions(goal, version, committed) VALUES (?1, 1, 0)
            ON CONFLICT(goal) DO UPDATE SET version = version + 1 WHERE ph_capture(version + 1, 0)
            """)
        defer { s.reset() }
        try s.bind(1, goal)
        let cell = capture.values
        cell[0] = 0
        try s.run()
        return cell[0] != 0 ? cell[1] : 1
    }

    // MARK: - Clustering sessions

    /// A clustering run's transaction (see ``ClusteringCoordinator``): `BEGIN IMMEDIATE`, so no
    /// other process commits to the file until it ends.
    public func withClusteringSession<T>(goal: String, _ body: (any ClusteringSession) throws -> T) throws -> T {
        var mark: GoalMark?
        return try write(
            "clustering goal \(goal.debugDescription)",
            { db -> T in
                let session = try Session(engine: self, db: db, goal: goal, mark: goalMarks.withLock { $0[goal] })
                let result = try body(session)
                mark = GoalMark(version: session.version, elsewhere: session.changedElsewhere && !session.didRead)
                return result
            },
            afterCommit: {
                // After COMMIT, as in `apply`.
                self.goalMarks.withLock { $0[goal] = mark }
            })
    }

    private final class Session: ClusteringSession {
        let engine: SQLiteEngine
        let db: Database
        let goal: String
        /// The goal's version now (raised by `store`).
        var version: Int64
        let committed: Int64
        let changedElsewhere: Bool
        var didRead = false

        init(engine: SQLiteEngine, db: Database, goal: String, mark: GoalMark?) throws {
            self.engine = engine
            self.db = db
            self.goal = goal
            let s = try RawStatement(db, "SELECT version, committed FROM goal_versions WHERE goal = ?1")
            defer { s.reset() }
            try s.bind(1, goal)
            let (v, c) = try s.step() ? (s.int(0), s.int(1)) : (Int64(0), Int64(0))
            (version, committed) = (v, c)
            changedElsewhere = mark.map { $0.elsewhere || $0.version != v } ?? true
        }

        func read() throws -> StoredGoal {
            didRead = true
            return StoredGoal(
                graph: try SQLiteEngine.readGraph(db, goal: goal), assignments: try SQLiteEngine.readAssignments(db, goal: goal),
                committed: committed)
        }

        func store(_ changes: [(concept: String, cluster: String?)], through: Int64) throws {
            try engine.storeAssignments(db, goal: goal, changes: changes)
            if through >= committed {
                let done = try RawStatement(db, "DELETE FROM pending_clustering WHERE goal = ?1")
                defer { done.reset() }
                try done.bind(1, goal)
                try done.run()
            }
            // Unchanged assignments are no news to other processes: no bump, so that a run
            // with nothing to store does not send them re-reading the goal.
            if !changes.isEmpty { version = try engine.bumpVersion(db, goal: goal) }
        }
    }

    public func storeContext(goal: String, plugin: String, key: String, value: String?) throws {
        try write("storing context key \(key.debugDescription) of plugin \(plugin.debugDescription), goal \(goal.debugDescription)") { db in
            // Cached statements: preparing one costs more than the upsert itself.
            if let value {
                let s = try RawStatement(
                    db,
                    """
                    INSERT INTO contexts(goal, plugin, key, value) VALUES (?1, ?2, ?3, ?4)
                    ON CONFLICT(goal, plugin, key) DO UPDATE SET value = excluded.value
                    """)
                defer { s.reset() }
                try s.bind(1, goal)
                try s.bind(2, plugin)
                try s.bind(3, key)
                try s.bind(4, value)
                try s.run()
            } else {
                let s = try RawStatement(db, "DELETE FROM contexts WHERE goal = ?1 AND plugin = ?2 AND key = ?3")
                defer { s.reset() }
                try s.bind(1, goal)
                try s.bind(2, plugin)
                try s.bind(3, key)
                try s.run()
            }
        }
    }

    // MARK: - Reads

    /// The columns ``RawStatement/memory(at:)`` decodes, from a table aliased `m`.
    private static let memoryColumns = "m.id, m.goal, m.plugin, m.created_at, m.expires_at, m.concepts, m.depends_on, m.metadata, m.content"

    public func memory(id: String) throws -> Memory? {
        try read("reading memory \(id.debugDescription)") { db in
            let s = try RawStatement(db, "SELECT \(Self.memoryColumns) FROM memories m WHERE m.id = ?1")
            defer { s.reset() }
            try s.bind(1, id)
            return try s.step() ? s.memory(at: 0, path: path) : nil
        }
    }

    /// One statement for a whole commit's ids: the ids go in as one JSON array parameter.
    public func existingMemories(_ ids: [String]) throws -> [String: Memory] {
        guard !ids.isEmpty else { try checkOpen(); return [:] }
        var json: [UInt8] = []
        json.reserveCapacity(ids.count * 24)
        SQLiteJSON.encode(ids, into: &json)
        return try read("looking up \(ids.count) memory ids") { db in
            let s = try RawStatement(db, "SELECT \(Self.memoryColumns) FROM memories m WHERE m.id IN (SELECT value FROM json_each(?1))")
            defer { s.reset() }
            try s.bind(1, json)
            var out: [String: Memory] = [:]
            while try s.step() {
                let m = try s.memory(at: 0, path: path)
                out[m.id] = m
            }
            return out
        }
    }

    /// By the `memories_digest` index (``MemoryDigest``), in one read: equal digests are
    /// compared field by field.
    public func memoriesWithSameContent(as memories: [Memory]) throws -> [[Memory]] {
        guard !memories.isEmpty else { try checkOpen(); return [] }
        return try read("looking up \(memories.count) memories by content") { db in
            let s = try RawStatement(
                db, "SELECT \(Self.memoryColumns) FROM memories m INDEXED BY memories_digest WHERE m.digest = ?1 ORDER BY m.seq")
            defer { s.reset() }
            return try memories.map { m in
                try s.bind(1, blob: MemoryDigest(of: m).bytes)
                defer { s.reset() }
                var out: [Memory] = []
                while try s.step() {
                    let found = try s.memory(at: 0, path: path)
                    if found.hasSameContent(as: m) { out.append(found) }
                }
                return out
            }
        }
    }

    public func memories(goal: String, concept: String, limit: Int) throws -> [Memory] {
        guard limit > 0 else { try checkOpen(); return [] }
        return try read("recalling concept \(concept.debugDescription) in goal \(goal.debugDescription)") { db in
            let s = try RawStatement(
                db,
                """
                SELECT \(Self.memoryColumns) FROM memory_concepts CROSS JOIN memories m ON m.seq = memory_concepts.rowid
                WHERE memory_concepts MATCH ?1 ORDER BY memory_concepts.rowid DESC LIMIT ?2
                """)
            defer { s.reset() }
            var token: [UInt8] = [UInt8(ascii: "\"")]
            SQLiteSchema.appendConceptToken(goalHex: SQLiteSchema.hex(goal), concept: concept, to: &token)
            token.append(UInt8(ascii: "\""))
            try s.bind(1, token)
            try s.bind(2, Int64(limit))
            var out: [Memory] = []
            while try s.step() { out.append(try s.memory(at: 0, path: path)) }
            return out
        }
    }

    /// Concept tokens ORed in one `memory_concepts` query of ``memories(goal:anyOf:limit:)``.
    static let anyOfChunk = 256

    public func memories(goal: String, anyOf concepts: [String], limit: Int) throws -> [Memory] {
        let keys = Set(concepts).sorted(by: ConceptKey.precedes)
        guard limit > 0, !keys.isEmpty else { try checkOpen(); return [] }
        return try read("recalling \(keys.count) concepts in goal \(goal.debugDescription)") { db in
            // The ORed tokens of up to `anyOfChunk` concepts per query, newest postings first;
            // the chunks' results merged by seq (one read transaction: one snapshot).
            let s = try RawStatement(
                db,
                """
                SELECT memory_concepts.rowid, \(Self.memoryColumns) FROM memory_concepts CROSS JOIN memories m
                ON m.seq = memory_concepts.rowid WHERE memory_concepts MATCH ?1 ORDER BY memory_concepts.rowid DESC LIMIT ?2
                """)
            defer { s.reset() }
            let goalHex = SQLiteSchema.hex(goal)
            var merged: [(seq: Int64, memory: Memory)] = []
            var start = 0
            while start < keys.count {
                let chunk = keys[start..<min(start + Self.anyOfChunk, keys.count)]
                start += chunk.count
                var query: [UInt8] = []
                for (i, concept) in chunk.enumerated() {
                    if i > 0 { query.append(contentsOf: " OR ".utf8) }
                    query.append(UInt8(ascii: "\""))
                    SQLiteSchema.appendConceptToken(goalHex: goalHex, concept: concept, to: &query)
                    query.append(UInt8(ascii: "\""))
                }
                s.reset()
                try s.bind(1, query)
                try s.bind(2, Int64(limit))
                while try s.step() { merged.append((s.int(0), try s.memory(at: 1, path: path))) }
            }
            // A memory comes once from each chunk holding one of its concepts.
            merged.sort { $0.seq > $1.seq }
            var out: [Memory] = []
            var last: Int64?
            for r in merged where r.seq != last {
                last = r.seq
                out.append(r.memory)
                if out.count == limit { break }
            }
            return out
        }
    }

    public func memories(goal: String, plugin: String, limit: Int) throws -> [Memory] {
        guard limit > 0 else { try checkOpen(); return [] }
        return try read("recalling plugin \(plugin.debugDescription) in goal \(goal.debugDescription)") { db in
            let s = try RawStatement(
                db,
                """
                SELECT \(Self.memoryColumns) FROM memories m INDEXED BY memories_goal_plugin
                WHERE m.goal = ?1 AND m.plugin = ?2 ORDER BY m.seq DESC LIMIT ?3
                """)
            defer { s.reset() }
            try s.bind(1, goal)
            try s.bind(2, plugin)
            try s.bind(3, Int64(limit))
            var out: [Memory] = []
            while try s.step() { out.append(try s.memory(at: 0, path: path)) }
            return out
        }
    }

    /// The FTS5 query for `text` in `goal`: the goal's token AND the words of `text`
    /// (``TextTerms``, as the in-memory engine splits them) in the content column, each a quoted
    /// string token (an FTS5 string cannot contain syntax: `"` is doubled), joined with OR.
    /// Nil when `text` has no words.
    static func ftsQuery(goal: String, text: String) -> String? {
        var seen = Set<String>()
        var parts: [String] = []
        for term in TextTerms.terms(text) where seen.insert(term).inserted {
            parts.append("\"" + term.replacingOccurrences(of: "\"", with: "\"\"") + "\"")
            if parts.count == 64 { break }
        }
        guard !parts.isEmpty else { return nil }
        let goalToken = String(decoding: SQLiteSchema.goalToken(goal), as: UTF8.self)
        return "goal : \"\(goalToken)\" AND content : (\(parts.joined(separator: " OR ")))"
    }

    /// Most matches text recall ranks: the newest ones. See ``search(goal:text:limit:)``.
    static let searchCandidates = 1024

    /// Text recall: the `limit` best by BM25 among the goal's newest
    /// `max(limit, searchCandidates)` matching memories.
    ///
    /// The bound is what keeps a query cheap when one of its words is in most of the goal's
    /// memories: BM25 costs ~0.3 µs per matching row, and FTS5 has no pruning (MaxScore/WAND)
    /// that would skip rows which cannot reach the top. At 100k memories in 4 goals, a query
    /// with such a word ranked ~25k rows (p50 7 ms, p99 27 ms); newest-first, FTS5 walks the
    /// doclists backwards and stops after the candidates. Below the bound (or with `limit` at
    /// least the number of matches) the result is exactly the best by BM25 over every match.
    public func search(goal: String, text: String, limit: Int) throws -> [RecalledMemory] {
        guard limit > 0, let query = Self.ftsQuery(goal: goal, text: text) else { try checkOpen(); return [] }
        return try read("searching goal \(goal.debugDescription) for \(text.debugDescription)") { db in
            // Ranks sequence numbers only (the goal column weighs 0), then reads the few
            // winning rows: the sorter never carries contents.
            let s = try RawStatement(
                db,
                """
                SELECT \(Self.memoryColumns), r.rank FROM (
                    SELECT seq, rank FROM (
                        SELECT rowid AS seq, bm25(memories_fts, 0.0, 1.0) AS rank FROM memories_fts
                        WHERE memories_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?4
                    ) ORDER BY rank, seq DESC LIMIT ?2
                ) r CROSS JOIN memories m ON m.seq = r.seq
                WHERE m.goal = ?3
                ORDER BY r.rank, r.seq DESC
                """)
            defer { s.reset() }
            try s.bind(1, query)
            try s.bind(2, Int64(limit))
            try s.bind(3, goal)
            try s.bind(4, Int64(max(limit, Self.searchCandidates)))
            var out: [RecalledMemory] = []
            while try s.step() {
                out.append(RecalledMemory(memory: try s.memory(at: 0, path: path), score: -s.double(9)))
            }
            return out
        }
    }

    public func expiredMemories(at time: Double, limit: Int) throws -> [Memory] {
        guard limit > 0 else { try checkOpen(); return [] }
        return try read("listing expired memories") { db in
            let s = try RawStatement(
                db,
                """
                SELECT \(Self.memoryColumns) FROM memories m
                WHERE m.expires_at IS NOT NULL AND m.expires_at <= ?1 ORDER BY m.expires_at, m.seq LIMIT ?2
                """)
            defer { s.reset() }
            try s.bind(1, time)
            try s.bind(2, Int64(limit))
            var out: [Memory] = []
            while try s.step() { out.append(try s.memory(at: 0, path: path)) }
            return out
        }
    }

    /// A page of the goal's memories by `seq`, in one snapshot, through the (goal, plugin, seq)
    /// index: the goal's plugins (one seek each), the next `limit + 1` sequence numbers of each
    /// (index entries only), merged; then the page's rows by rowid. A page costs plugins ×
    /// `limit` index entries, never a scan of the goal's memories or of the table.
    public func allMemories(goal: String, after: MemoryCursor?, limit: Int) throws -> MemoryPage {
        guard limit > 0 else { try checkOpen(); return MemoryPage(memories: [], next: after) }
        return try read("listing the memories of goal \(goal.debugDescription)", snapshot: true) { db in
            let plugins = try RawStatement(
                db,
                """
                WITH RECURSIVE p(plugin) AS (
                    SELECT (SELECT min(plugin) FROM memories WHERE goal = ?1)
                    UNION ALL
                    SELECT (SELECT min(plugin) FROM memories WHERE goal = ?1 AND plugin > p.plugin) FROM p WHERE p.plugin IS NOT NULL)
                SELECT plugin FROM p WHERE plugin IS NOT NULL
                """)
            defer { plugins.reset() }
            try plugins.bind(1, goal)
            var names: [String] = []
            while try plugins.step() { names.append(plugins.text(0)) }
            let next = try RawStatement(
                db,
                """
                SELECT seq FROM memories INDEXED BY memories_goal_plugin
                WHERE goal = ?1 AND plugin = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4
                """)
            defer { next.reset() }
            try next.bind(1, goal)
            try next.bind(3, after?.sequence ?? Int64.min)
            try next.bind(4, Int64(limit) + 1)
            var seqs: [Int64] = []
            for name in names {
                try next.bind(2, name)
                while try next.step() { seqs.append(next.int(0)) }
                next.reset()
            }
            seqs.sort()
            let page = seqs.prefix(limit)
            let row = try RawStatement(db, "SELECT \(Self.memoryColumns) FROM memories m WHERE m.seq = ?1")
            defer { row.reset() }
            var out: [Memory] = []
            out.reserveCapacity(page.count)
            for seq in page {
                try row.bind(1, seq)
                if try row.step() { out.append(try row.memory(at: 0, path: path)) }
                row.reset()
            }
            return MemoryPage(memories: out, next: seqs.count > limit ? page.last.map { MemoryCursor(sequence: $0) } : nil)
        }
    }

    public func conceptGraph(goal: String) throws -> ConceptGraphSnapshot {
        try read("reading the concept graph of goal \(goal.debugDescription)", snapshot: true) { db in
            try Self.readGraph(db, goal: goal)
        }
    }

    private static func readGraph(_ db: Database, goal: String) throws -> ConceptGraphSnapshot {
        var concepts: [String: Int32] = [:]
        let c = try RawStatement(db, "SELECT concept, count FROM concepts WHERE goal = ?1 AND count <> 0")
        defer { c.reset() }
        try c.bind(1, goal)
        while try c.step() { concepts[c.text(0)] = Int32(truncatingIfNeeded: c.int(1)) }
        var edges: [(a: String, b: String, counts: EdgeCounts)] = []
        let e = try RawStatement(
            db,
            """
            SELECT ca.concept, cb.concept, e.co, e.dep FROM concepts ca
            JOIN edge_counts e ON e.a = ca.id JOIN concepts cb ON cb.id = e.b
            WHERE ca.goal = ?1
            """)
        defer { e.reset() }
        try e.bind(1, goal)
        while try e.step() {
            edges.append(
                (e.text(0), e.text(1), EdgeCounts(co: Int32(truncatingIfNeeded: e.int(2)), dep: Int32(truncatingIfNeeded: e.int(3)))))
        }
        return ConceptGraphSnapshot(concepts: concepts, edges: edges)
    }

    public func goals() throws -> [String] {
        try read("listing goals") { db in
            // Distinct goals by skipping through the indexes (one seek per goal, not a scan).
            let s = try RawStatement(
                db,
                """
                WITH RECURSIVE
                    mg(goal) AS (SELECT (SELECT min(goal) FROM memories)
                        UNION ALL SELECT (SELECT min(goal) FROM memories WHERE goal > mg.goal) FROM mg WHERE mg.goal IS NOT NULL),
                    cg(goal) AS (SELECT (SELECT min(goal) FROM clusters)
                        UNION ALL SELECT (SELECT min(goal) FROM clusters WHERE goal > cg.goal) FROM cg WHERE cg.goal IS NOT NULL)
                SELECT goal FROM mg WHERE goal IS NOT NULL
                UNION SELECT goal FROM cg WHERE goal IS NOT NULL
                ORDER BY 1
                """)
            defer { s.reset() }
            var out: [String] = []
            while try s.step() { out.append(s.text(0)) }
            return out
        }
    }

    public func clusterAssignments(goal: String) throws -> [String: String] {
        try read("reading the clusters of goal \(goal.debugDescription)") { db in
            try Self.readAssignments(db, goal: goal)
        }
    }

    private static func readAssignments(_ db: Database, goal: String) throws -> [String: String] {
        let s = try RawStatement(db, "SELECT concept, cluster FROM clusters WHERE goal = ?1")
        defer { s.reset() }
        try s.bind(1, goal)
        var out: [String: String] = [:]
        while try s.step() { out[s.text(0)] = s.text(1) }
        return out
    }

    public func goalsPendingClustering() throws -> [String] {
        try read("listing goals with pending clustering") { db in
            try String.fetchAll(
                db,
                sql: clustersPredateModel2
                    ? "SELECT goal FROM pending_clustering UNION SELECT DISTINCT goal FROM clusters ORDER BY goal"
                    : "SELECT goal FROM pending_clustering ORDER BY goal")
        }
    }

    public func loadContext(goal: String, plugin: String) throws -> [String: String] {
        try read("loading the context of plugin \(plugin.debugDescription) in goal \(goal.debugDescription)") { db in
            let s = try RawStatement(db, "SELECT key, value FROM contexts WHERE goal = ?1 AND plugin = ?2")
            defer { s.reset() }
            try s.bind(1, goal)
            try s.bind(2, plugin)
            var out: [String: String] = [:]
            while try s.step() { out[s.text(0)] = s.text(1) }
            return out
        }
    }

    // MARK: - Backup

    /// Copies the database into a new file at `path` with SQLite's online backup API, while
    /// other connections and processes keep writing: the copy is made in one step inside one
    /// read transaction, so it holds exactly what was committed when the backup began (under
    /// WAL a reader never blocks the writer, and the writer never disturbs the reader's
    /// snapshot). The copy goes to a temporary file beside `path`, is checked
    /// (`PRAGMA quick_check`, plughost's application id and schema), closed, then moved into
    /// place: `path` never holds a partial backup.
    ///
    /// - Parameter replacing: replace an existing `path` (and remove a stale `path-wal` /
    ///   `path-shm` beside it, which SQLite would otherwise replay onto the new file). Without
    ///   it, an existing `path` (or such a stale file) is refused; the move into place is
    ///   atomic (`link`), so a file created meanwhile is never overwritten either.
    ///   `path` may never be the database itself.
    public func backup(to path: String, replacing: Bool = false) throws {
        try checkOpen()
        guard !path.isEmpty else { throw MemoryError(.invalid, "the backup path is empty") }
        let fm = FileManager.default
        let target = URL(fileURLWithPath: path).standardizedFileURL
        let directory = target.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw MemoryError(.invalid, "cannot back up \(self.path) to \(path): the directory \(directory) does not exist")
        }
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw MemoryError(.invalid, "cannot back up \(self.path) to \(path): it is a directory") }
            var a = stat(), b = stat()
            if stat(self.path, &a) == 0, stat(path, &b) == 0, a.st_dev == b.st_dev, a.st_ino == b.st_ino {
                throw MemoryError(.invalid, "cannot back up \(self.path) to \(path): it is the database itself")
            }
            if !replacing {
                throw MemoryError(.invalid, "cannot back up \(self.path) to \(path): the file already exists (refusing to overwrite it)")
            }
        }
        for suffix in ["-wal", "-shm", "-journal"] where fm.fileExists(atPath: path + suffix) {
            guard replacing else {
                throw MemoryError(
                    .invalid,
                    "cannot back up \(self.path) to \(path): a stale \(path + suffix) exists beside it (SQLite would apply it to the backup); remove it or replace the file"
                )
            }
        }
        let temporary = directory + "/." + target.lastPathComponent + ".backup-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        func removeTemporary() {
            for suffix in ["", "-journal", "-wal", "-shm"] { try? fm.removeItem(atPath: temporary + suffix) }
        }
        do {
            var config = Configuration()
            config.label = "plughost.backup"
            let destination: DatabaseQueue
            do {
                destination = try DatabaseQueue(path: temporary, configuration: config)
            } catch {
                throw MemoryError(.storage, "cannot back up \(self.path) to \(path): cannot create \(temporary): \(Self.reason(error))")
            }
            do {
                try pool.backup(to: destination)
                try destination.read { db in
                    let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
                    guard check == ["ok"] else {
                        throw MemoryError(.storage, "the copy fails SQLite's quick_check: \(check.prefix(3).joined(separator: "; "))")
                    }
                    guard try Int32.fetchOne(db, sql: "PRAGMA application_id") == SQLiteSchema.applicationID else {
                        throw MemoryError(.storage, "the copy has no plughost application id")
                    }
                    try SQLiteSchema.check(db, path: path)
                }
                try destination.close()
            } catch {
                try? destination.close()
                throw error
            }
            if replacing {
                for suffix in ["-wal", "-shm", "-journal"] where fm.fileExists(atPath: path + suffix) {
                    do {
                        try fm.removeItem(atPath: path + suffix)
                    } catch {
                        throw MemoryError(.storage, "cannot remove the stale \(path + suffix): \(Self.reason(error))")
                    }
                }
                guard rename(temporary, path) == 0 else {
                    throw MemoryError(.storage, "cannot move the backup into place at \(path): \(String(cString: strerror(errno)))")
                }
            } else {
                // link() fails with EEXIST if `path` appeared meanwhile: never an overwrite.
                guard link(temporary, path) == 0 else {
                    let e = errno
                    if e == EEXIST {
                        throw MemoryError(
                            .invalid, "cannot back up \(self.path) to \(path): the file already exists (refusing to overwrite it)")
                    }
                    throw MemoryError(.storage, "cannot move the backup into place at \(path): \(String(cString: strerror(e)))")
                }
            }
            removeTemporary()
            // The new directory entry is durable once the directory is synced.
            if let handle = FileHandle(forReadingAtPath: directory) {
                try? handle.synchronize()
                try? handle.close()
            }
        } catch let e as MemoryError {
            removeTemporary()
            if e.message.hasPrefix("cannot ") { throw e }
            throw MemoryError(e.code, "cannot back up \(self.path) to \(path): \(e.message)")
        } catch {
            removeTemporary()
            throw failure(error, "backing up to \(path)")
        }
    }

    // MARK: - Closing

    /// Closes the connections. A read-write engine first copies the WAL into the database
    /// file and truncates it (when no other process is reading), so that the file alone is a
    /// complete copy of the memory after a clean exit.
    public func close() throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if !readOnly {
            // A short busy wait: another process reading the WAL keeps it, and that is fine.
            try? pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA busy_timeout = 100")
                try db.checkpoint(.truncate)
            }
        }
        do {
            try pool.close()
        } catch {
            throw MemoryError(.storage, "\(path): closing failed: \(Self.reason(error))")
        }
    }
}

/// The `ph_capture(x, y)` SQL function of the writer connection: stores 1, x, y in `values`
/// and returns true. Only the writer connection calls it, inside writes, which GRDB serialises.
private final class CountCapture: @unchecked Sendable {
    let values: UnsafeMutablePointer<Int64>

    init() {
        values = .allocate(capacity: 3)
        values.initialize(repeating: 0, count: 3)
    }

    deinit { values.deallocate() }

    func register(on db: Database) throws {
        let rc = sqlite3_create_function_v2(
            db.sqliteConnection, "ph_capture", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY, UnsafeMutableRawPointer(values),
            { context, _, arguments in
                let cell = sqlite3_user_data(context)!.assumingMemoryBound(to: Int64.self)
                cell[0] = 1
                cell[1] = sqlite3_value_int64(arguments![0])
                cell[2] = sqlite3_value_int64(arguments![1])
                sqlite3_result_int(context, 1)
            }, nil, nil, nil)
        guard rc == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: "cannot register ph_capture")
        }
    }
}

/// SQLITE_TRANSIENT: SQLite copies bound values before the bind call returns.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A GRDB cached statement driven through the SQLite C API: bind, step, read columns, reset.
/// Skips GRDB's per-call argument boxing, which dominates the cost of small statements.
/// Valid only inside the database access it was made in; always `reset()` it before leaving.
struct RawStatement {
    let handle: OpaquePointer
    let connection: OpaquePointer

    init(_ db: Database, _ sql: String) throws {
        handle = try db.cachedStatement(sql: sql).sqliteStatement
        connection = db.sqliteConnection!
    }

    func error(_ rc: Int32) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: rc == SQLITE_MISUSE ? rc : sqlite3_extended_errcode(connection)),
            message: String(cString: sqlite3_errmsg(connection)),
            sql: sqlite3_sql(handle).map { String(cString: $0) })
    }

    @inline(__always)
    func check(_ rc: Int32) throws {
        if rc != SQLITE_OK { throw error(rc) }
    }

    @inline(__always)
    func bind(_ i: Int32, _ value: String) throws {
        let rc: Int32 =
            value.utf8.withContiguousStorageIfAvailable { p in
                if p.count > 0, let base = p.baseAddress {
                    return base.withMemoryRebound(to: CChar.self, capacity: p.count) {
                        sqlite3_bind_text(handle, i, $0, Int32(p.count), transient)
                    }
                }
                return sqlite3_bind_text(handle, i, "", 0, transient)
            }
            ?? {
                let bytes = Array(value.utf8)
                return bind(i, bytes: bytes)
            }()
        try check(rc)
    }

    @inline(__always)
    func bind(_ i: Int32, _ value: String?) throws {
        if let value { try bind(i, value) } else { try check(sqlite3_bind_null(handle, i)) }
    }

    /// Binds bytes as a blob.
    func bind(_ i: Int32, blob: [UInt8]) throws {
        let rc = blob.withUnsafeBytes { p in sqlite3_bind_blob(handle, i, p.baseAddress, Int32(p.count), transient) }
        try check(rc)
    }

    /// Binds UTF-8 bytes as text.
    @inline(__always)
    func bind(_ i: Int32, _ utf8: [UInt8]) throws {
        try check(bind(i, bytes: utf8))
    }

    private func bind(_ i: Int32, bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBufferPointer { p in
            if p.count > 0, let base = p.baseAddress {
                return base.withMemoryRebound(to: CChar.self, capacity: p.count) {
                    sqlite3_bind_text(handle, i, $0, Int32(p.count), transient)
                }
            }
            return sqlite3_bind_text(handle, i, "", 0, transient)
        }
    }

    @inline(__always)
    func bind(_ i: Int32, _ value: Int64) throws {
        try check(sqlite3_bind_int64(handle, i, value))
    }

    @inline(__always)
    func bind(_ i: Int32, _ value: Double) throws {
        try check(sqlite3_bind_double(handle, i, value))
    }

    @inline(__always)
    func bind(_ i: Int32, _ value: Double?) throws {
        if let value { try bind(i, value) } else { try check(sqlite3_bind_null(handle, i)) }
    }

    /// Steps once: true when a row is available.
    @inline(__always)
    func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw error(rc)
    }

    /// Runs a statement without result rows, then resets it.
    @inline(__always)
    func run() throws {
        let rc = sqlite3_step(handle)
        sqlite3_reset(handle)
        if rc != SQLITE_DONE && rc != SQLITE_ROW { throw error(rc) }
    }

    func reset() { sqlite3_reset(handle) }

    @inline(__always)
    func isNull(_ i: Int32) -> Bool { sqlite3_column_type(handle, i) == SQLITE_NULL }

    @inline(__always)
    func text(_ i: Int32) -> String {
        guard let p = sqlite3_column_text(handle, i) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, i))), as: UTF8.self)
    }

    @inline(__always)
    func int(_ i: Int32) -> Int64 { sqlite3_column_int64(handle, i) }

    @inline(__always)
    func double(_ i: Int32) -> Double { sqlite3_column_double(handle, i) }

    func jsonStrings(_ i: Int32) throws -> [String] {
        guard let p = sqlite3_column_text(handle, i) else { return [] }
        return try SQLiteJSON.strings(UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, i))))
    }

    /// Decodes the columns of `SQLiteEngine.memoryColumns`, starting at `k`.
    func memory(at k: Int32, path: String) throws -> Memory {
        let id = text(k)
        let concepts: [String]
        let flat: [String]
        do {
            concepts = try jsonStrings(k + 5)
            flat = try jsonStrings(k + 6)
        } catch {
            throw MemoryError(.storage, "\(path): memory \(id.debugDescription) has a malformed concepts or depends_on column: \(error)")
        }
        guard flat.count % 2 == 0 else {
            throw MemoryError(.storage, "\(path): memory \(id.debugDescription) has a malformed depends_on column")
        }
        var deps: [Dependency] = []
        deps.reserveCapacity(flat.count / 2)
        var j = 0
        while j < flat.count {
            deps.append(Dependency(flat[j], flat[j + 1]))
            j += 2
        }
        return Memory(
            id: id, goal: text(k + 1), plugin: text(k + 2), content: text(k + 8), concepts: concepts,
            dependsOn: deps, metadata: isNull(k + 7) ? nil : text(k + 7), createdAt: double(k + 3),
            expiresAt: isNull(k + 4) ? nil : double(k + 4))
    }
}
