import Foundation

/// The messages a host and a plugin worker exchange over their two pipes.
///
/// A frame is a little-endian `UInt32` byte count, then that many bytes: a one-byte
/// ``WireKind`` and its fields. Integers are little-endian, strings are a `UInt32` byte count
/// and UTF-8, lists a `UInt32` count and their items. Both sides are the same build of
/// plughost, so the format has no version of its own: the worker checks the host's build id
/// in its first message.
package enum WireKind: UInt8, Sendable {
    // host → worker
    case load = 1, call = 2, reply = 3, shutdown = 4
    // worker → host
    case loaded = 10, loadFailed = 11, result = 12, callFailed = 13, request = 14, log = 15
}

/// Host API operations a worker forwards to its host.
package enum WireRequest: UInt8, Sendable {
    case write = 1, recall = 2, forget = 3, contextGet = 4, contextSet = 5
}

/// Builds one frame.
package struct WireWriter {
    package private(set) var bytes: [UInt8]

    package init(_ kind: WireKind, capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(contentsOf: [0, 0, 0, 0, kind.rawValue])
    }

    package mutating func u8(_ v: UInt8) { bytes.append(v) }
    package mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    package mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    package mutating func int(_ v: Int) { i64(Int64(v)) }
    package mutating func double(_ v: Double) { u64(v.bitPattern) }
    package mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            u32(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }
    package mutating func optionalString(_ s: String?) {
        bool(s != nil)
        if let s { string(s) }
    }
    package mutating func strings(_ list: [String]) {
        u32(UInt32(list.count))
        for s in list { string(s) }
    }
    /// Bytes already encoded (fields written by another writer).
    package mutating func append(_ encoded: some Sequence<UInt8>) { bytes.append(contentsOf: encoded) }

    package mutating func blob(_ b: [UInt8]) {
        u32(UInt32(b.count))
        bytes.append(contentsOf: b)
    }

    package mutating func value(_ v: Value) {
        switch v {
        case .void: u8(0)
        case .bool(let b):
            u8(1)
            bool(b)
        case .int(let i):
            u8(2)
            i64(i)
        case .uint(let u):
            u8(3)
            u64(u)
        case .double(let d):
            u8(4)
            double(d)
        case .string(let s):
            u8(5)
            string(s)
        case .buffer(let b):
            u8(6)
            blob(b)
        case .pointer(let p):
            u8(7)
            u64(UInt64(p))
        }
    }

    /// The frame with its length filled in.
    package mutating func finish() -> [UInt8] {
        let n = UInt32(bytes.count - 4).littleEndian
        withUnsafeBytes(of: n) { raw in
            for i in 0..<4 { bytes[i] = raw[i] }
        }
        return bytes
    }
}

/// Reads the fields of one frame (without its length prefix); every read checks the bounds and
/// throws ``WireError`` on a short or malformed frame.
package struct WireReader {
    private let bytes: [UInt8]
    private var at: Int

    package init(_ bytes: [UInt8], from: Int = 0) {
        self.bytes = bytes
        self.at = from
    }

    package var isAtEnd: Bool { at == bytes.count }

    private mutating func take(_ n: Int) throws -> Range<Int> {
        guard n >= 0, n <= bytes.count - at else { throw WireError("a message ends early (needs \(n) more bytes)") }
        defer { at += n }
        return at..<(at + n)
    }

    package mutating func u8() throws -> UInt8 { bytes[try take(1).lowerBound] }
    package mutating func bool() throws -> Bool { try u8() != 0 }
    package mutating func u32() throws -> UInt32 {
        let r = try take(4)
        var v: UInt32 = 0
        for i in (0..<4).reversed() { v = v << 8 | UInt32(bytes[r.lowerBound + i]) }
        return v
    }
    package mutating func u64() throws -> UInt64 {
        let r = try take(8)
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(bytes[r.lowerBound + i]) }
        return v
    }
    package mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }
    package mutating func int() throws -> Int {
        let v = try i64()
        guard let i = Int(exactly: v) else { throw WireError("an integer field is out of range") }
        return i
    }
    package mutating func double() throws -> Double { Double(bitPattern: try u64()) }
    package mutating func string() throws -> String {
        let n = Int(try u32())
        let r = try take(n)
        guard let s = bytes.withUnsafeBufferPointer({ String(validating: $0[r], as: UTF8.self) }) else {
            throw WireError("a string field is not UTF-8")
        }
        return s
    }
    package mutating func optionalString() throws -> String? { try bool() ? try string() : nil }
    package mutating func strings() throws -> [String] {
        let n = Int(try u32())
        // Every string takes at least its 4-byte length.
        guard n <= (bytes.count - at) / 4 else { throw WireError("a list is longer than its message") }
        return try (0..<n).map { _ in try string() }
    }
    package mutating func blob() throws -> [UInt8] {
        let n = Int(try u32())
        return Array(bytes[try take(n)])
    }

    package mutating func value() throws -> Value {
        switch try u8() {
        case 0: return .void
        case 1: return .bool(try bool())
        case 2: return .int(try i64())
        case 3: return .uint(try u64())
        case 4: return .double(try double())
        case 5: return .string(try string())
        case 6: return .buffer(try blob())
        case 7:
            let p = try u64()
            guard let u = UInt(exactly: p) else { throw WireError("a pointer value is out of range") }
            return .pointer(u)
        case let tag: throw WireError("unknown value tag \(tag)")
        }
    }
}

/// A malformed message on a worker channel.
package struct WireError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
