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

    @Flag(help: "The export is JSON lines already; with --json a failure is a JSON error object too.")
    var json = false

    @OptionGroup var engine: EngineOptions

    @OptionGroup var log: LogOptions

    func run() throws {
        let store = try engine.openEngineForReading()
        defer { try? store.close() }
        let out = FileHandle.standardOutput
        try MemoryExporter.export(from: store, goal: goal, now: Date().timeIntervalSince1970) { text in
            do {
                try out.write(contentsOf: Data(text.utf8))
            } catch {
                throw CommandError(.invalidInput, "cannot write the export to stdout: \(error.localizedDescription)")
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

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var engine: EngineOptions

    @OptionGroup var log: LogOptions

    func run() throws {
        let kind = try engine.kind()
        guard kind == .sqlite else {
            throw CommandError(
                .invalidInput,
                "memory backup works with --engine sqlite only (this is --engine \(kind.rawValue)); for every engine, `plughost memory export > FILE.jsonl` writes a copy that `plughost memory replay` restores"
            )
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue, !force {
            throw CommandError(.invalidInput, "\(file) already exists; pass --force to replace it")
        }
        guard let sqlite = try engine.openEngineForReading() as? SQLiteEngine else {
            throw CommandError(.invalidInput, "memory backup works with --engine sqlite only")
        }
        defer { try? sqlite.close() }
        try sqlite.backup(to: file, replacing: force)
        try sqlite.close()
        print(json ? JSONText.encode(["database_path": sqlite.path, "backup": file]) : "backed up \(sqlite.path) to \(file)")
    }
}
