import Foundation
import PlugHostCore

/// Remembers worker crashes per plugin file (by SHA-256) in a small JSON file shared by every
/// plughost process of the user, and quarantines a file that crashed ``threshold`` times within
/// ``window`` seconds: loading it is then refused until it is released
/// (`plughost quarantine release PATH`), or its file changes (a new build has a new SHA-256).
package final class CrashQuarantine: Sendable {
    /// One file's record.
    package struct Entry: Codable, Sendable {
        package var sha256: String
        package var path: String
        /// When it crashed (seconds since 1970), the last ``window`` only.
        package var crashes: [Double]
        /// How it crashed last, e.g. "SIGSEGV (Segmentation fault) in function run".
        package var last: String
        /// When it was quarantined, or nil.
        package var quarantinedAt: Double?

        package var isQuarantined: Bool { quarantinedAt != nil }

        /// The message a refused load or call gives.
        package var refusal: String {
            "quarantined: it crashed \(crashes.count) times within \(Int(CrashQuarantine.window / 60)) minutes (last: \(last)); \(CrashQuarantine.releaseHint(path))"
        }
    }

    /// Crashes within ``window`` that quarantine a file.
    package static let threshold = 3
    /// Seconds.
    package static let window: Double = 300

    /// The JSON file.
    package let file: String

    package init(file: String) { self.file = file }

    /// The store under `PLUGHOST_STATE_DIR`, else `$XDG_STATE_HOME/plughost`, else
    /// `~/.local/state/plughost`.
    package static func atDefaultLocation(environment: [String: String] = ProcessInfo.processInfo.environment) -> CrashQuarantine {
        CrashQuarantine(file: (stateDirectory(environment: environment) as NSString).appendingPathComponent("quarantine.json"))
    }

    package static func stateDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let d = environment["PLUGHOST_STATE_DIR"], !d.isEmpty { return d }
        if let x = environment["XDG_STATE_HOME"], !x.isEmpty { return (x as NSString).appendingPathComponent("plughost") }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".local/state/plughost")
    }

    package static func releaseHint(_ path: String) -> String {
        "release it with `plughost quarantine release \(path)`, or rebuild it"
    }

    /// The record of a file, or nil.
    package func entry(sha256: String) -> Entry? {
        (try? withLockedEntries { entries in entries[sha256] }) ?? nil
    }

    /// All records, quarantined first.
    package func entries() throws -> [Entry] {
        try withLockedEntries { entries in
            entries.values.sorted { ($0.isQuarantined ? 0 : 1, $0.path) < ($1.isQuarantined ? 0 : 1, $1.path) }
        }
    }

    /// Records a crash; true when the file is (now) quarantined. A store that cannot be written
    /// keeps nothing (and says so in the host log) rather than failing the caller.
    @discardableResult
    package func recordCrash(sha256: String, path: String, what: String, now: Double = Date().timeIntervalSince1970) -> Bool {
        do {
            return try withLockedEntries(writes: true) { entries in
                var e = entries[sha256] ?? Entry(sha256: sha256, path: path, crashes: [], last: what, quarantinedAt: nil)
                e.crashes = e.crashes.filter { now - $0 < Self.window } + [now]
                e.last = what
                e.path = path
                if e.crashes.count >= Self.threshold && e.quarantinedAt == nil { e.quarantinedAt = now }
                entries[sha256] = e
                return e.isQuarantined
            }
        } catch {
            HostLog.isolation.warning("cannot record a plugin crash in \(file): \(error)")
            return false
        }
    }

    /// Releases the records whose path or SHA-256 (or its prefix of 8 or more digits) matches
    /// `selector`, or every record when it is nil; returns the ones released.
    package func release(_ selector: String?) throws -> [Entry] {
        try withLockedEntries(writes: true) { entries in
            let matching = entries.values.filter { e in
                guard let s = selector else { return true }
                let resolved = (s as NSString).standardizingPath
                return e.path == s || e.path == resolved || e.sha256 == s.lowercased()
                    || (s.count >= 8 && e.sha256.hasPrefix(s.lowercased()))
            }
            for e in matching { entries[e.sha256] = nil }
            return matching
        }
    }

    private func withLockedEntries<R>(writes: Bool = false, _ body: (inout [String: Entry]) throws -> R) throws -> R {
        let dir = (file as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: file]) }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw CocoaError(.fileLocking, userInfo: [NSFilePathErrorKey: file]) }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
        let data = try handle.readToEnd() ?? Data()
        var entries: [String: Entry] = [:]
        if !data.isEmpty {
            entries = (try? JSONDecoder().decode([String: Entry].self, from: data)) ?? [:]
        }
        let result = try body(&entries)
        if writes {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let out = try encoder.encode(entries)
            guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else { throw CocoaError(.fileWriteUnknown) }
            try handle.write(contentsOf: out)
        }
        return result
    }
}
