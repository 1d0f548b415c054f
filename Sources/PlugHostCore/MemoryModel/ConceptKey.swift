import Foundation

/// Concept keys: Unicode NFC, lower-cased, runs of white space folded to one space, trimmed.
public enum ConceptKey {
    /// The key of a concept as given; "" when nothing is left.
    public static func normalize(_ concept: String) -> String {
        // Fastest path: an ASCII string that is already a key (no upper case, no white space
        // other than single inner spaces) is returned as is, scanned once over its bytes.
        let alreadyKey: Bool? = concept.utf8.withContiguousStorageIfAvailable { bytes in
            var previous: UInt8 = 0x20
            for b in bytes {
                if b >= 0x80 || (b >= 0x41 && b <= 0x5A) || (b >= 0x09 && b <= 0x0D) || (b == 0x20 && previous == 0x20) {
                    return false
                }
                previous = b
            }
            return previous != 0x20
        }
        if alreadyKey == true { return concept }
        // Fast path: ASCII needs no NFC and lower-cases byte by byte.
        var ascii = true
        for b in concept.utf8 where b >= 0x80 {
            ascii = false
            break
        }
        if ascii {
            // Already a key (no upper case, no white space other than single inner spaces):
            // return it as is, without building a copy.
            var clean = true
            var previous: UInt8 = 0x20
            for b in concept.utf8 {
                if (b >= 0x41 && b <= 0x5A) || (b >= 0x09 && b <= 0x0D) || (b == 0x20 && previous == 0x20) {
                    clean = false
                    break
                }
                previous = b
            }
            if clean && previous != 0x20 { return concept }
            var out = [UInt8]()
            out.reserveCapacity(concept.utf8.count)
            var pendingSpace = false
            for b in concept.utf8 {
                if b == 0x20 || (b >= 0x09 && b <= 0x0D) {
                    pendingSpace = !out.isEmpty
                    continue
                }
                if pendingSpace {
                    out.append(0x20)
                    pendingSpace = false
                }
                out.append(b >= 0x41 && b <= 0x5A ? b + 0x20 : b)
            }
            return String(decoding: out, as: UTF8.self)
        }
        let lowered = concept.precomposedStringWithCanonicalMapping.lowercased()
        var out = ""
        out.reserveCapacity(lowered.utf8.count)
        var pendingSpace = false
        for scalar in lowered.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                out.unicodeScalars.append(" ")
                pendingSpace = false
            }
            out.unicodeScalars.append(scalar)
        }
        // Lower-casing can produce decomposed sequences (e.g. "İ" → "i̇"); keep keys in NFC.
        return out.precomposedStringWithCanonicalMapping
    }

    /// True when `a` sorts before `b` in UTF-8 byte order (the order of cluster ids and members).
    @inline(__always)
    public static func precedes(_ a: String, _ b: String) -> Bool {
        // Contiguous UTF-8 (native and small strings): one memcmp instead of the generic
        // element-by-element walk.
        let fast: Bool?? = a.utf8.withContiguousStorageIfAvailable { pa in
            b.utf8.withContiguousStorageIfAvailable { pb in
                let n = min(pa.count, pb.count)
                if n > 0, let x = pa.baseAddress, let y = pb.baseAddress {
                    let c = memcmp(x, y, n)
                    if c != 0 { return c < 0 }
                }
                return pa.count < pb.count
            }
        }
        if let r = fast, let r { return r }
        return a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
