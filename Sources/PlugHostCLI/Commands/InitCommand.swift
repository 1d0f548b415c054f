import ArgumentParser
import Foundation
import PlugHost

/// `plughost init [DIR]`: gives a project its own memory, `DIR/.plughost/memory.sqlite`, found
/// from DIR and every folder below it (as git finds `.git/`).
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Give a folder (and every folder below it) its own memory: DIR/.plughost/memory.sqlite.",
        discussion: """
            Without a project folder, plughost keeps one per-user memory in $XDG_DATA_HOME/plughost/ \
            (~/.local/share/plughost/). After `plughost init`, commands run in DIR or below it use \
            DIR/.plughost/memory.sqlite instead (unless --db or PLUGHOST_DB say otherwise). Running it \
            again changes nothing.
            """)

    @Argument(help: "The project folder (default: the working directory).", completion: .directory)
    var directory: String = "."

    @Flag(help: "Print JSON.") var json = false

    @OptionGroup var log: LogOptions

    func run() throws {
        let dir = URL(fileURLWithPath: directory).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandError(.invalidInput, "\(directory): no such folder")
        }
        let home = (dir as NSString).appendingPathComponent(MemoryHome.projectFolderName)
        let database = (home as NSString).appendingPathComponent(MemoryHome.databaseName)
        let existed = FileManager.default.fileExists(atPath: database)
        let shadowed = MemoryHome.nearestProject(
            from: (dir as NSString).deletingLastPathComponent, environment: ProcessInfo.processInfo.environment)
        // Opening the engine creates the folder and the database with its schema.
        try EngineFactory.open(.sqlite, location: database).close()
        if json {
            var o: [String: Any] = ["database_path": database, "created": !existed]
            o["shadows"] = shadowed ?? NSNull()
            print(JSONText.encode(o))
            return
        }
        print(existed ? "memory already initialized: \(database)" : "initialized memory: \(database)")
        if let shadowed, !existed {
            print("commands under \(dir) now use it instead of \(shadowed)")
        }
    }
}
