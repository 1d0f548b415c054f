import Crypto
import Foundation
import PlugHostCore

/// The SHA-256 of a plugin file: what quarantine and pinning know a plugin by.
package enum PluginDigest {
    /// The file's SHA-256 as 64 lower-case hex digits.
    package static func sha256(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw LoadError(.openFailed, path: path, "cannot open it to compute its SHA-256")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Checks a pin: "sha256:HEX" or plain HEX, compared with the file's digest.
    package static func verify(pin: String, digest: String, path: String) throws {
        let expected = (pin.hasPrefix("sha256:") ? String(pin.dropFirst(7)) : pin).lowercased()
        guard expected.count == 64, expected.allSatisfy(\.isHexDigit) else {
            throw LoadError(.hashMismatch, path: path, "the pinned sha256 \(pin.debugDescription) is not 64 hex digits")
        }
        guard expected == digest else {
            throw LoadError(
                .hashMismatch, path: path,
                "its SHA-256 is \(digest), but sha256:\(expected) is pinned; refusing to load a different file")
        }
    }
}
