import ArgumentParser
import Foundation
import PlugHost
import PlugHostIsolation

/// `plughost quarantine`: plugin files refused after repeated crashes, and the way out.
struct QuarantineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine",
        abstract: "List or release plugin files quarantined after repeated crashes.",
        discussion: """
            A plugin file whose worker crashed \(CrashQuarantine.threshold) times within \(Int(CrashQuarantine.window / 60)) minutes is \
            quarantined by its SHA-256: loading it is refused until it is released here, or rebuilt (a new file has a \
            new SHA-256). The records are kept in $PLUGHOST_STATE_DIR, else $XDG_STATE_HOME/plughost, else \
            ~/.local/state/plughost (quarantine.json).
            """,
        subcommands: [List.self, Release.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List crash records, quarantined files first.")

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var log: LogOptions

        func run() throws {
            let store = CrashQuarantine.atDefaultLocation()
            let entries = try store.entries()
            if json {
                print(
                    JSONText.encode(
                        entries.map { e in
                            [
                                "sha256": e.sha256, "path": e.path, "crashes": e.crashes.count, "last": e.last,
                                "quarantined": e.isQuarantined,
                            ] as [String: Any]
                        }))
                return
            }
            if entries.isEmpty {
                print("no plugin crashes recorded (\(store.file))")
                return
            }
            for e in entries {
                print(
                    "\(e.isQuarantined ? "QUARANTINED" : "crashed    ") \(e.path)  sha256:\(e.sha256.prefix(16))…  \(e.crashes.count) crash\(e.crashes.count == 1 ? "" : "es") in \(Int(CrashQuarantine.window / 60)) min, last: \(e.last)"
                )
            }
        }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Release a quarantined file (by path or SHA-256 prefix), or --all.")

        @Argument(help: "The plugin's path, or its SHA-256 (8 or more leading hex digits).")
        var plugin: String?

        @Flag(help: "Release every file.")
        var all = false

        @Flag(help: "Print JSON.")
        var json = false

        func validate() throws {
            guard all != (plugin != nil) else { throw ValidationError("give a plugin path or SHA-256, or --all") }
        }

        @OptionGroup var log: LogOptions

        func run() throws {
            let selector = plugin.map { p in
                p.contains("/") || p.hasSuffix(".so") ? URL(fileURLWithPath: p).standardizedFileURL.path : p
            }
            let released = try CrashQuarantine.atDefaultLocation().release(all ? nil : selector)
            guard !released.isEmpty else { throw CommandError(.notFound, "no crash record matches \(plugin ?? "")") }
            if json {
                print(JSONText.encode(released.map { ["path": $0.path, "sha256": $0.sha256] }))
                return
            }
            for e in released { print("released \(e.path) (sha256:\(e.sha256.prefix(16))…)") }
        }
    }
}
