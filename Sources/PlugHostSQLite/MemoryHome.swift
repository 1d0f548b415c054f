import Foundation

/// Where the SQLite memory lives when no path is given, by convention (like git's `.git/`):
/// the nearest `.plughost/` folder up from the working directory (a project's memory, made by
/// `plughost init`), otherwise one per-user store, `$XDG_DATA_HOME/plughost/`
/// (`~/.local/share/plughost/` when `XDG_DATA_HOME` is unset).
///
/// The upward search stops at the folders in `PLUGHOST_CEILING_DIRECTORIES` (colon-separated,
/// like git's `GIT_CEILING_DIRECTORIES`): it never looks in them or above them.
public struct MemoryHome: Sendable, Hashable {
    /// Which convention gave the folder.
    public enum Scope: String, Sendable, Hashable {
        /// A `.plughost/` folder in the working directory or one above it.
        case project
        /// The per-user store under `$XDG_DATA_HOME/plughost/`.
        case user
    }

    /// The folder holding `memory.sqlite`.
    public let directory: String
    /// Which convention gave it.
    public let scope: Scope

    /// The database file in ``directory``.
    public var databasePath: String { (directory as NSString).appendingPathComponent(Self.databaseName) }

    /// The database's file name.
    public static let databaseName = "memory.sqlite"
    /// The name of a project's folder.
    public static let projectFolderName = ".plughost"

    /// The memory home for a process in `currentDirectory` with `environment`.
    public static func find(
        from currentDirectory: String = FileManager.default.currentDirectoryPath,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> MemoryHome {
        if let project = nearestProject(from: currentDirectory, environment: environment) {
            return MemoryHome(directory: project, scope: .project)
        }
        return MemoryHome(directory: userDirectory(environment: environment), scope: .user)
    }

    /// The nearest `.plughost/` folder at or above `directory`, or nil.
    public static func nearestProject(from directory: String, environment: [String: String]) -> String? {
        let ceilings = Set(
            (environment["PLUGHOST_CEILING_DIRECTORIES"] ?? "").split(separator: ":").map {
                URL(fileURLWithPath: String($0)).standardizedFileURL.path
            })
        var dir = URL(fileURLWithPath: directory).standardizedFileURL.path
        while true {
            if ceilings.contains(dir) { return nil }
            let candidate = (dir as NSString).appendingPathComponent(projectFolderName)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue {
                return candidate
            }
            let parent = (dir as NSString).deletingLastPathComponent
            if parent == dir || parent.isEmpty { return nil }
            dir = parent
        }
    }

    /// `$XDG_DATA_HOME/plughost`, or `~/.local/share/plughost` (the XDG Base Directory
    /// default; a relative `XDG_DATA_HOME` is ignored, as the specification says).
    public static func userDirectory(environment: [String: String]) -> String {
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") {
            return (xdg as NSString).appendingPathComponent("plughost")
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".local/share/plughost")
    }
}
