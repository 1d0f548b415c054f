import CPlugHostRuntime
import Foundation
import PlugHostCore

/// Finds the `plughost-worker` executable that runs plugins in `process` isolation.
package enum WorkerExecutable {
    /// The executable's file name.
    package static let name = "plughost-worker"
    /// Where `make install` puts it, relative to `<prefix>/bin` and `<prefix>/lib`.
    package static let installedFolder = "../libexec/plughost"

    /// `PLUGHOST_WORKER` when set; else `plughost-worker` beside the running executable or in
    /// `<its folder>/../libexec/plughost` (where `make install` puts it), the same beside the
    /// shared object holding this code (libplughost_embed.so), then on `PATH`.
    package static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let explicit = environment["PLUGHOST_WORKER"], !explicit.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: explicit) else {
                throw LoadError(.workerFailed, path: explicit, "PLUGHOST_WORKER names no executable file")
            }
            return explicit
        }
        var folders: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            folders.append((exe as NSString).deletingLastPathComponent)
        }
        if let file = ph_rt_image_path(#dsohandle) {
            let image = String(cString: file)
            let resolved = (try? FileManager.default.destinationOfSymbolicLink(atPath: image)) ?? image
            folders.append((resolved as NSString).deletingLastPathComponent)
            folders.append((image as NSString).deletingLastPathComponent)
        }
        var candidates = folders.flatMap { [$0, (($0 as NSString).appendingPathComponent(installedFolder) as NSString).standardizingPath] }
        candidates += (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for dir in candidates where !dir.isEmpty {
            let path = (dir as NSString).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw LoadError(
            .workerFailed, path: name,
            "process isolation needs the \(name) executable (built by `swift build` beside plughost, installed beside it by `make install`); none beside this program or on PATH. Set PLUGHOST_WORKER to its path, or run trusted plugins with isolation in-process"
        )
    }
}
