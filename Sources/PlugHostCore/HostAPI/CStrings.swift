import CPlugHostABI
import Foundation

/// Conversions between C strings from plugins and Swift values.
enum CStrings {
    /// The UTF-8 text at `pointer`, or a `MemoryError` naming `field` when it is not valid UTF-8.
    static func utf8(_ pointer: UnsafePointer<CChar>, field: String) throws -> String {
        guard let s = String(validatingCString: pointer) else {
            throw MemoryError(.invalid, "\(field) is not valid UTF-8")
        }
        return s
    }

    /// Copies `text` NUL-terminated into a caller's buffer, truncating on a character boundary.
    static func copy(_ text: String, into buffer: UnsafeMutablePointer<CChar>, capacity: Int) {
        guard capacity > 0 else { return }
        let all = Array(text.utf8)
        var bytes = Array(all.prefix(capacity - 1))
        if bytes.count < all.count {
            // Do not cut a multi-byte character in half.
            while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }
            if let last = bytes.last, last >= 0xC0 { bytes.removeLast() }
        }
        bytes.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: src.count) }
        }
        buffer[bytes.count] = 0
    }

    /// Calls `body` with a `ph_memory` view of `result` whose strings live until `body` returns.
    static func withMemory<R>(_ result: RecalledMemory, _ body: (UnsafePointer<ph_memory>) -> R) -> R {
        let m = result.memory
        var owned: [UnsafeMutablePointer<CChar>] = []
        func dup(_ s: String) -> UnsafeMutablePointer<CChar> {
            let p = strdup(s)!
            owned.append(p)
            return p
        }
        defer { owned.forEach { Foundation.free($0) } }
        let concepts = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(1, m.concepts.count))
        defer { concepts.deallocate() }
        for (i, c) in m.concepts.enumerated() { concepts[i] = UnsafePointer(dup(c)) }
        var memory = ph_memory(
            struct_size: UInt32(MemoryLayout<ph_memory>.size),
            id: dup(m.id), goal: dup(m.goal), plugin: dup(m.plugin), content: dup(m.content),
            concepts: concepts, concept_count: m.concepts.count,
            metadata_json: m.metadata.map { UnsafePointer(dup($0)) }, score: result.score)
        return body(&memory)
    }
}
