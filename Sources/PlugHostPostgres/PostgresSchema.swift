import PlugHostCore
import PlugHostMemory
/// The PostgreSQL engine's schema (in its own schema, `plughost`) and its migrations.
///
/// **Versioning.** `plughost.meta` holds `schema_version`; the engine migrates under a
/// session-level advisory lock so that hosts starting together migrate once. A database whose
/// version is above ``version`` is refused ("written by a newer plughost") before anything is
/// written; a `plughost` schema without `meta` belongs to someone else and is refused.
///
/// **Layout.**
/// - `memories`: one row per live memory; `seq` (identity) orders newest first; `concepts` is
///   the memory's sorted concept set, `dep_a`/`dep_b` its unique normalised dependency pairs
///   (a precedes b in UTF-8 byte order), `dep_from`/`dep_to` the pairs as written. `tsv` is a
///   generated `tsvector` (configuration `simple`) under a GIN index for text recall; a GIN
///   index on `concepts` serves recall by concept. Key columns use the "C" collation (byte order).
/// - `concepts`, `edges`: holder counts and (co, dep) edge counts per goal, changed only by
///   `plughost.apply` as `count = count + delta` upserts, so that concurrent hosts never lose
///   an update. `fillfactor = 70` leaves room on each page so that a count update is a HOT
///   update (no new index entry).
/// - `clusters`: concept → cluster id per goal, written by one host at a time (see
///   ``PostgresEngine/withSharedClusteringSession(goal:_:)``).
/// - `goal_changes`: one row per goal per commit, appended in the commit; clustering work of a
///   goal is pending while it has rows. A clustering run deletes exactly the rows it saw before
///   reading the graph, so a commit landing meanwhile stays pending.
/// - `contexts` + `context_versions`: plugin goal contexts and a version per (goal, plugin)
///   that every context write bumps in the same statement.
/// - `counters`: cumulative counters (name → value) that every host adds to (schema 3).
package enum PostgresSchema {
    /// The schema version this build writes.
    package static let version = 3
    /// Key of the session advisory lock held while migrating.
    static let migrationLock: Int64 = 0x706c_7567_686f_7374  // "plughost"

    /// Statements of schema 1, run in one transaction.
    static let v1: [String] = [
        """
        CREATE TABLE plughost.memories (
            seq bigint GENERATED ALWAYS AS IDENTITY,
            id text COLLATE "C" PRIMARY KEY,
            goal text COLLATE "C" NOT NULL,
            plugin text COLLATE "C" NOT NULL,
            created_at double precision NOT NULL,
            expires_at double precision,
            concepts text[] COLLATE "C" NOT NULL,
            dep_from text[] COLLATE "C" NOT NULL,
            dep_to text[] COLLATE "C" NOT NULL,
            dep_a text[] COLLATE "C" NOT NULL,
            dep_b text[] COLLATE "C" NOT NULL,
            metadata text,
            content text NOT NULL,
            tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, content)) STORED
        )
        """,
        "CREATE INDEX memories_goal_plugin ON plughost.memories (goal, plugin, seq)",
        "CREATE INDEX memories_concepts ON plughost.memories USING gin (concepts)",
        "CREATE INDEX memories_tsv ON plughost.memories USING gin (tsv)",
        "CREATE INDEX memories_expiry ON plughost.memories (expires_at) WHERE expires_at IS NOT NULL",
        """
        CREATE TABLE plughost.concepts (
            goal text COLLATE "C" NOT NULL,
            concept text COLLATE "C" NOT NULL,
            count integer NOT NULL,
            PRIMARY KEY (goal, concept)
        ) WITH (fillfactor = 70)
        """,
        """
        CREATE TABLE plughost.edges (
            goal text COLLATE "C" NOT NULL,
            a text COLLATE "C" NOT NULL,
            b text COLLATE "C" NOT NULL,
            co integer NOT NULL,
            dep integer NOT NULL,
            PRIMARY KEY (goal, a, b)
        ) WITH (fillfactor = 70)
        """,
        """
        CREATE TABLE plughost.clusters (
            goal text COLLATE "C" NOT NULL,
            concept text COLLATE "C" NOT NULL,
            cluster text COLLATE "C" NOT NULL,
            PRIMARY KEY (goal, concept)
        )
        """,
        // Append-only: one row per goal per commit (no row that every commit updates, so
        // hosts writing the same goal do not queue on it). Clustering deletes the rows it saw.
        """
        CREATE TABLE plughost.goal_changes (
            seq bigint GENERATED ALWAYS AS IDENTITY,
            goal text COLLATE "C" NOT NULL
        )
        """,
        "CREATE INDEX goal_changes_goal ON plughost.goal_changes (goal, seq)",
        """
        CREATE TABLE plughost.contexts (
            goal text COLLATE "C" NOT NULL,
            plugin text COLLATE "C" NOT NULL,
            key text COLLATE "C" NOT NULL,
            value text NOT NULL,
            PRIMARY KEY (goal, plugin, key)
        )
        """,
        """
        CREATE TABLE plughost.context_versions (
            goal text COLLATE "C" NOT NULL,
            plugin text COLLATE "C" NOT NULL,
            version bigint NOT NULL,
            PRIMARY KEY (goal, plugin)
        )
        """,
        """
        CREATE TYPE plughost.change AS (
            goal text, sign integer, concepts text[], dep_a text[], dep_b text[]
        )
        """,
        """
        CREATE TYPE plughost.memory_input AS (
            ord integer, id text, goal text, plugin text, created_at double precision,
            expires_at double precision, concepts text[], dep_from text[], dep_to text[],
            dep_a text[], dep_b text[], metadata text, content text
        )
        """,
        // One commit of the write path, in one statement: deletes, inserts, then the count
        // changes computed from the rows actually deleted and inserted (so two hosts forgetting
        // the same memory at once subtract it once), merged per key and applied as sorted
        // upserts (a stable lock order between concurrent commits). Returns the counts after.
        """
        CREATE FUNCTION plughost.apply(p_inserts jsonb, p_deletes text[])
        RETURNS TABLE(kind text, goal text, a text, b text, co integer, dep integer)
        LANGUAGE plpgsql AS $fn$
        #variable_conflict use_column
        DECLARE
            ch plughost.change[];
        BEGIN
            WITH d AS (
                DELETE FROM plughost.memories m WHERE m.id = ANY(p_deletes)
                RETURNING m.goal, m.concepts, m.dep_a, m.dep_b
            )
            SELECT coalesce(array_agg(ROW(d.goal, -1, d.concepts, d.dep_a, d.dep_b)::plughost.change), '{}')
            INTO ch FROM d;

            WITH i AS (
                INSERT INTO plughost.memories AS m
                    (id, goal, plugin, created_at, expires_at, concepts, dep_from, dep_to, dep_a, dep_b, metadata, content)
                SELECT r.id, r.goal, r.plugin, r.created_at, r.expires_at, r.concepts, r.dep_from, r.dep_to,
                       r.dep_a, r.dep_b, r.metadata, r.content
                FROM jsonb_populate_recordset(NULL::plughost.memory_input, p_inserts) r
                ORDER BY r.ord
                RETURNING m.goal, m.concepts, m.dep_a, m.dep_b
            )
            SELECT ch || coalesce(array_agg(ROW(i.goal, 1, i.concepts, i.dep_a, i.dep_b)::plughost.change), '{}')
            INTO ch FROM i;

            RETURN QUERY
            WITH changed AS (SELECT * FROM unnest(ch)),
            cdelta AS (
                SELECT c.goal, x.concept, sum(c.sign)::integer AS d
                FROM changed c CROSS JOIN LATERAL unnest(c.concepts) AS x(concept)
                GROUP BY c.goal, x.concept HAVING sum(c.sign) <> 0
            ),
            edelta AS (
                SELECT s.goal, s.a, s.b, sum(s.co)::integer AS co, sum(s.dep)::integer AS dep FROM (
                    SELECT c.goal, x.v AS a, y.v AS b, c.sign AS co, 0 AS dep
                    FROM changed c
                    CROSS JOIN LATERAL unnest(c.concepts) WITH ORDINALITY AS x(v, i)
                    CROSS JOIN LATERAL unnest(c.concepts) WITH ORDINALITY AS y(v, j)
                    WHERE x.i < y.j
                    UNION ALL
                    SELECT c.goal, p.a, p.b, 0, c.sign
                    FROM changed c CROSS JOIN LATERAL unnest(c.dep_a, c.dep_b) AS p(a, b)
                ) s
                GROUP BY s.goal, s.a, s.b HAVING sum(s.co) <> 0 OR sum(s.dep) <> 0
            ),
            cup AS (
                INSERT INTO plughost.concepts AS t (goal, concept, count)
                SELECT d.goal, d.concept, d.d FROM cdelta d ORDER BY d.goal, d.concept
                ON CONFLICT (goal, concept) DO UPDATE SET count = t.count + excluded.count
                RETURNING t.goal, t.concept, t.count
            ),
            eup AS (
                INSERT INTO plughost.edges AS t (goal, a, b, co, dep)
                SELECT e.goal, e.a, e.b, e.co, e.dep FROM edelta e ORDER BY e.goal, e.a, e.b
                ON CONFLICT (goal, a, b) DO UPDATE SET co = t.co + excluded.co, dep = t.dep + excluded.dep
                RETURNING t.goal, t.a, t.b, t.co, t.dep
            ),
            gup AS (
                -- Runs although nothing reads it (PostgreSQL runs every data-modifying CTE).
                INSERT INTO plughost.goal_changes (goal) SELECT DISTINCT c.goal FROM changed c
            )
            SELECT 'c'::text, cup.goal::text, cup.concept::text, NULL::text, cup.count, 0 FROM cup
            UNION ALL SELECT 'e'::text, eup.goal::text, eup.a::text, eup.b::text, eup.co, eup.dep FROM eup;
        END
        $fn$
        """,
    ]

    /// Statements of schema 3: `counters`, the cumulative counters of every host that wrote
    /// the memory (``StoredCounters``), name → value, each host adding its own with
    /// `value = value + delta` upserts (see `PostgresEngine.addCounters(_:)`).
    static let v3: [String] = [
        "CREATE TABLE plughost.counters (name text COLLATE \"C\" PRIMARY KEY, value bigint NOT NULL)"
    ]

    /// Statements of schema 2 (after which the migration computes the digests of stored
    /// memories and creates the unique index `memories_digest` on (digest, host_assigned)):
    /// idempotent writes. `digest` is the content digest (``MemoryDigest``); `host_assigned` is
    /// true for a memory written without a caller-given id, null otherwise, so the unique index
    /// keeps one memory per content among those only (nulls are distinct). `plughost.apply`
    /// inserts both; a second host storing the same memory meanwhile fails with SQLSTATE 23505
    /// on `memories_digest`, which the engine reports as ``DuplicateContentError``.
    static let v2: [String] = [
        "ALTER TABLE plughost.memories ADD COLUMN digest bytea, ADD COLUMN host_assigned boolean",
        "ALTER TYPE plughost.memory_input ADD ATTRIBUTE digest text, ADD ATTRIBUTE host_assigned boolean",
        """
        CREATE OR REPLACE FUNCTION plughost.apply(p_inserts jsonb, p_deletes text[])
        RETURNS TABLE(kind text, goal text, a text, b text, co integer, dep integer)
        LANGUAGE plpgsql AS $fn$
        #variable_conflict use_column
        DECLARE
            ch plughost.change[];
        BEGIN
            WITH d AS (
                DELETE FROM plughost.memories m WHERE m.id = ANY(p_deletes)
                RETURNING m.goal, m.concepts, m.dep_a, m.dep_b
            )
            SELECT coalesce(array_agg(ROW(d.goal, -1, d.concepts, d.dep_a, d.dep_b)::plughost.change), '{}')
            INTO ch FROM d;

            WITH i AS (
                INSERT INTO plughost.memories AS m
                    (id, goal, plugin, created_at, expires_at, concepts, dep_from, dep_to, dep_a, dep_b, metadata, content,
                     digest, host_assigned)
                SELECT r.id, r.goal, r.plugin, r.created_at, r.expires_at, r.concepts, r.dep_from, r.dep_to,
                       r.dep_a, r.dep_b, r.metadata, r.content, decode(r.digest, 'hex'), r.host_assigned
                FROM jsonb_populate_recordset(NULL::plughost.memory_input, p_inserts) r
                ORDER BY r.ord
                RETURNING m.goal, m.concepts, m.dep_a, m.dep_b
            )
            SELECT ch || coalesce(array_agg(ROW(i.goal, 1, i.concepts, i.dep_a, i.dep_b)::plughost.change), '{}')
            INTO ch FROM i;

            RETURN QUERY
            WITH changed AS (SELECT * FROM unnest(ch)),
            cdelta AS (
                SELECT c.goal, x.concept, sum(c.sign)::integer AS d
                FROM changed c CROSS JOIN LATERAL unnest(c.concepts) AS x(concept)
                GROUP BY c.goal, x.concept HAVING sum(c.sign) <> 0
            ),
            edelta AS (
                SELECT s.goal, s.a, s.b, sum(s.co)::integer AS co, sum(s.dep)::integer AS dep FROM (
                    SELECT c.goal, x.v AS a, y.v AS b, c.sign AS co, 0 AS dep
                    FROM changed c
                    CROSS JOIN LATERAL unnest(c.concepts) WITH ORDINALITY AS x(v, i)
                    CROSS JOIN LATERAL unnest(c.concepts) WITH ORDINALITY AS y(v, j)
                    WHERE x.i < y.j
                    UNION ALL
                    SELECT c.goal, p.a, p.b, 0, c.sign
                    FROM changed c CROSS JOIN LATERAL unnest(c.dep_a, c.dep_b) AS p(a, b)
                ) s
                GROUP BY s.goal, s.a, s.b HAVING sum(s.co) <> 0 OR sum(s.dep) <> 0
            ),
            cup AS (
                INSERT INTO plughost.concepts AS t (goal, concept, count)
                SELECT d.goal, d.concept, d.d FROM cdelta d ORDER BY d.goal, d.concept
                ON CONFLICT (goal, concept) DO UPDATE SET count = t.count + excluded.count
                RETURNING t.goal, t.concept, t.count
            ),
            eup AS (
                INSERT INTO plughost.edges AS t (goal, a, b, co, dep)
                SELECT e.goal, e.a, e.b, e.co, e.dep FROM edelta e ORDER BY e.goal, e.a, e.b
                ON CONFLICT (goal, a, b) DO UPDATE SET co = t.co + excluded.co, dep = t.dep + excluded.dep
                RETURNING t.goal, t.a, t.b, t.co, t.dep
            ),
            gup AS (
                -- Runs although nothing reads it (PostgreSQL runs every data-modifying CTE).
                INSERT INTO plughost.goal_changes (goal) SELECT DISTINCT c.goal FROM changed c
            )
            SELECT 'c'::text, cup.goal::text, cup.concept::text, NULL::text, cup.count, 0 FROM cup
            UNION ALL SELECT 'e'::text, eup.goal::text, eup.a::text, eup.b::text, eup.co, eup.dep FROM eup;
        END
        $fn$
        """,
    ]
}
