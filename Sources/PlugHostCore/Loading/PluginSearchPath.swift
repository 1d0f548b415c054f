import Foundation

/// Where bare plugin names are looked for: `--plugin-dir` folders, then `PLUGHOST_PLUGIN_PATH`
/// (colon-separated), then the bundled plugins next to the running executable.
public struct PluginSearchPath: Sendable, Hashable {
    /// The folders, in the order they are searched.
    public var directories: [String]
    /// Folders whose plugins are plughost's own, run `in-process` unless told otherwise: the
    /// executable's folder, and for libplughost_embed.so the library's folder.
    public var bundledDirectories: [String]

    /// A search path of explicit folders, then the environment's, then the bundled folder.
    public init(extra: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment) {
        var dirs = extra
        if let env = environment["PLUGHOST_PLUGIN_PATH"] {
            dirs += env.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        dirs.append(PluginSearchPath.bundledDirectory)
        directories = dirs
        bundledDirectories = [PluginSearchPath.bundledDirectory]
    }

    /// The folder of the running executable, where `swift build` puts the bundled plugins.
    public static var bundledDirectory: String {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? "."
        return (exe as NSString).deletingLastPathComponent
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
