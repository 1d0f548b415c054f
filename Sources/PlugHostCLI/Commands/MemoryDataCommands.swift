import ArgumentParser
import Foundation
import PlugHost
import PlugHostPipeline
import PlugHostTools

/// `plughost memory export [--goal G]`: every live memory, as a replayable JSONL workload.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every live memory to stdout as a JSONL workload that `memory replay` applies to any engine.",
        discussion: """
            One write line per live memory (id, goal, plugin, content, concepts, depends_on, \
            metadata in canonical form, ttl_ms = the TTL left, rounded up), by goal, then oldest \
            first. Replaying the file into an empty memory gives the same memories and the same \
            clusters digest. Read-only: nothing is written to the engine.
            """)

    @Option(help: "Only this goal.")
    var goal: String?

    @OptionGroup var engine: EngineOptions

    func run() throws {
        let store = try openEngineForReading(engine)
        defer { try? store.close() }
        let out = FileHandle.standardOutput
        try MemoryExporter.export(from: store, goal: goal, now: Date().timeIntervalSince1970) { text in
            do {
                try out.write(contentsOf: Data(text.utf8))
            } catch {
                throw DataCommandError("cannot write the export to stdout: \(error.localizedDescription)")
            }
        }
        try store.close()
    }
}

/// `plughost memory backup FILE [--force]`: an online copy of the SQLite database.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the SQLite memory database to FILE with SQLite's online backup API, even while other processes write.",
        discussion: """
            The copy holds everything committed before the backup began and opens as a plughost \
            database (--db FILE). SQLite only: for PostgreSQL use pg_dump, or `plughost memory \
            export`, which works with every engine.
            """)

    @Argument(help: "The backup file to create.")
    var file: String

    @Flag(help: "Replace FILE if it exists.")
    var force = false

    @OptionGroup var engine: EngineOptions

    func run() throws {
        let kind = try engine.kind()
        guard kind == .sqlite else {
            throw DataCommandError(
                "memory backup works with --engine sqlite only (this is --engine \(kind.rawValue)); for every engine, `plughost memory export > FILE.jsonl` writes a copy that `plughost memory replay` restores"
            )
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue, !force {
            throw DataCommandError("\(file) already exists; pass --force to replace it")
        }
        guard let sqlite = try openEngineForReading(engine) as? SQLiteEngine else {
            throw DataCommandError("memory backup works with --engine sqlite only")
        }
        defer { try? sqlite.close() }
        try sqlite.backup(to: file, replacing: force)
        try sqlite.close()
        print("backed up \(sqlite.path) to \(file)")
    }
}

/// Opens the engine `options` name without a write path over it, for commands that only
/// read: no `MemoryService` (which would finish pending clustering and store clusters), and
/// for SQLite a read-only connection (no new file where none exists, no migration, works on a
/// read-only file).
private func openEngineForReading(_ options: EngineOptions) throws -> any MemoryEngine {
    try EngineFactory.open(try options.kind(), location: options.db, readOnly: true)
}

/// A runtime failure of these commands: printed as `Error: …`, exit status 1 (not a usage
/// error, so no usage text).
struct DataCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
