import Foundation

/// Where bare plugin names are looked for: `--plugin-dir` folders, then `PLUGHOST_PLUGIN_PATH`
/// (colon-separated), then the bundled plugins: next to the running executable (`swift build`)
/// and in `<exe folder>/../lib/plughost/plugins` (`make install`).
public struct PluginSearchPath: Sendable, Hashable {
    /// The folders, in the order they are searched.
    public var directories: [String]
    /// Folders whose plugins are plughost's own, run `in-process` unless told otherwise: the
    /// ``bundledDirectories-swift.type.property``, and for libplughost_embed.so the library's
    /// folder or the installed plugin folder beside it.
    public var bundledDirectories: [String]

    /// A search path of explicit folders, then the environment's, then the bundled folder.
    public init(extra: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment) {
        var dirs = extra
        if let env = environment["PLUGHOST_PLUGIN_PATH"] {
            dirs += env.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        let bundled = PluginSearchPath.bundledDirectories
        dirs += bundled
        directories = dirs
        bundledDirectories = bundled
    }

    /// The folder of the running executable, where `swift build` puts the bundled plugins.
    public static var bundledDirectory: String {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? "."
        return (exe as NSString).deletingLastPathComponent
    }

    /// The folders of plughost's own plugins: the running executable's folder, where
    /// `swift build` puts them, then `<exe folder>/../lib/plughost/plugins`, where
    /// `make install` puts them (`<prefix>/bin/plughost`), when that folder exists.
    public static var bundledDirectories: [String] {
        let exeFolder = bundledDirectory
        let installed = existingDirectory(exeFolder, "../lib/plughost/plugins")
        return [exeFolder] + (installed.map { [$0] } ?? [])
    }

    /// The installed plugin folder beside libplughost_embed.so in `<prefix>/lib`:
    /// `<prefix>/lib/plughost/plugins`, when it exists.
    public static func installedPluginDirectory(besideLibraryIn libraryFolder: String) -> String? {
        existingDirectory(libraryFolder, "plughost/plugins")
    }

    /// `base/relative` with `..` resolved, when it is a directory.
    private static func existingDirectory(_ base: String, _ relative: String) -> String? {
        let path = ((base as NSString).appendingPathComponent(relative) as NSString).standardizingPath
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        return path
    }

    /// Resolves a plugin reference: a path (it contains '/' or ends in ".so"), resolved against
    /// `base` when relative, or a bare name looked up as NAME.so and libNAME.so in each folder.
    public func resolve(_ reference: String, relativeTo base: String? = nil) throws -> String {
        if reference.contains("/") || reference.hasSuffix(".so") {
            if reference.hasPrefix("/") { return reference }
            let root = base ?? FileManager.default.currentDirectoryPath
            return URL(fileURLWithPath: reference, relativeTo: URL(fileURLWithPath: root, isDirectory: true)).standardizedFileURL.path
        }
        for dir in directories {
            for candidate in ["\(reference).so", "lib\(reference).so"] {
                let path = (dir as NSString).appendingPathComponent(candidate)
                if FileManager.default.fileExists(atPath: path) { return path }
            }
        }
        throw LoadError(
            .pluginNotFound, path: reference,
            "no \(reference).so or lib\(reference).so in the plugin search path (\(directories.joined(separator: ", "))); pass a path, --plugin-dir, or set PLUGHOST_PLUGIN_PATH"
        )
    }
}
