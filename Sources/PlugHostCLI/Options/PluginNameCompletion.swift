import Foundation
import PlugHost

/// Shell completion of plugin names: the bare names on the plugin search path (NAME.so and
/// libNAME.so in `--plugin-dir` folders given so far, `PLUGHOST_PLUGIN_PATH` and the bundled
/// plugins' folder), then `.so` files for a word that looks like a path.
enum PluginNameCompletion {
    @Sendable static func complete(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        if prefix.contains("/") { return soFiles(matching: prefix) }
        var extra: [String] = []
        for (i, w) in words.enumerated() where w == "--plugin-dir" && i + 1 < words.count { extra.append(words[i + 1]) }
        return names(in: PluginSearchPath(extra: extra).directories).filter { $0.hasPrefix(prefix) }
    }

    /// The bare plugin names in `directories`, sorted, without duplicates.
    static func names(in directories: [String]) -> [String] {
        var names = Set<String>()
        for dir in directories {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where file.hasSuffix(".so") {
                var name = String(file.dropLast(3))
                if name.hasPrefix("lib") { name.removeFirst(3) }
                if name != "plughost_embed" && !name.isEmpty { names.insert(name) }
            }
        }
        return names.sorted()
    }

    private static func soFiles(matching prefix: String) -> [String] {
        let dir = (prefix as NSString).deletingLastPathComponent
        let listed = (try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? []
        return listed.map { (dir as NSString).appendingPathComponent($0) }
            .filter { $0.hasPrefix(prefix) && ($0.hasSuffix(".so") || isDirectory($0)) }.sorted()
    }

    private static func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }
}
