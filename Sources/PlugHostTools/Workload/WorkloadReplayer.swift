import Foundation
import PlugHost
import PlugHostPostgres

/// Applies a workload to a memory service in submission chunks, preserving order, then flushes.
package enum WorkloadReplayer {
    /// What a replay did.
    package struct Report: Sendable, Codable {
        package var ops: Int
        package var writes: Int
        package var forgets: Int
        package var forgetsOfUnknownIDs: Int
        package var seconds: Double
        package var usPerOp: Double
        package var stats: MemoryStats
        package var digest: String
    }

    /// Reads and parses a JSONL file; a bad line throws with its number, and nothing is applied.
    /// Lines end with LF or CRLF; blank lines (white space only) are skipped but counted.
    package static func load(path: String) throws -> [WorkloadOp] {
        try loadNumbered(path: path).ops
    }

    /// ``load(path:)``, with the 1-based file line of each operation (blank lines are counted
    /// but hold no operation), for ``replay(_:into:chunk:source:lines:)``'s messages.
    package static func loadNumbered(path: String) throws -> (ops: [WorkloadOp], lines: [Int]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WorkloadError(message: "cannot read the file", file: path)
        }
        return try parse(data, source: path)
    }

    /// Parses JSONL `data` (see ``load(path:)``); errors name `source` and the line. Returns
    /// the operations and the line of each.
    package static func parse(_ data: Data, source: String?) throws -> (ops: [WorkloadOp], lines: [Int]) {
        var ops: [WorkloadOp] = []
        var lines: [Int] = []
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let all = raw.bindMemory(to: UInt8.self)
            var start = 0
            var lineNumber = 0
            while start < all.count {
                lineNumber += 1
                var end = start
                while end < all.count && all[end] != 0x0A { end += 1 }
                let next = end + 1
                if end > start && all[end - 1] == 0x0D { end -= 1 }  // CRLF
                let line = UnsafeBufferPointer(rebasing: all[start..<end])
                start = next
                func fail(_ e: WorkloadError) -> WorkloadError {
                    var e = e
                    e.line = lineNumber
                    e.file = source
                    return e
                }
                guard String(validating: line, as: UTF8.self) != nil else {
                    throw fail(WorkloadError("the line is not valid UTF-8"))
                }
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                do {
                    ops.append(try WorkloadOp.parse(bytes: line))
                    lines.append(lineNumber)
                } catch let e as WorkloadError {
                    throw fail(e)
                }
            }
        }
        return (ops, lines)
    }

    /// Applies `ops` in chunks of up to `chunk` writes (or forgets), then flushes. Each op's line
    /// number is `lines[i]`, or its index + 1 when `lines` is nil.
    ///
    /// A write the write path rejects (or a forget whose commit fails) stops the replay with
    /// its line number: everything before it stays applied and is flushed, and **nothing after
    /// it is applied**, although its chunk was submitted whole. Each chunk is submitted with
    /// ``MemoryService/write(_:stopAtFirstFailure:)``: a write the normaliser rejects cuts the
    /// chunk before anything of it after that write is queued, and a rejection only the commit
    /// can find (a caller id already stored, or used earlier in the chunk) makes the commit
    /// skip the rest of the chunk, wherever the group-commit queue put it. Writes of other
    /// callers sharing those commits are not affected.
    package static func replay(
        _ ops: [WorkloadOp], into service: MemoryService, chunk: Int = 512, source: String? = nil, lines: [Int]? = nil
    ) throws -> Report {
        precondition(lines == nil || lines!.count == ops.count, "one line number per op")
        let chunk = max(1, chunk)
        func line(_ index: Int) -> Int { lines?[index] ?? index + 1 }
        let start = monotonicNanos()
        var writes = 0, forgets = 0, unknown = 0
        var i = 0
        while i < ops.count {
            var j = i
            if case .write = ops[i] {
                var batch: [MemoryWrite] = []
                while j < ops.count, batch.count < chunk, case .write(let w) = ops[j] {
                    batch.append(w)
                    j += 1
                }
                for (k, r) in service.write(batch, stopAtFirstFailure: true).enumerated() {
                    if case .failure(let e) = r {
                        try? service.flush()
                        var err = WorkloadError(message: "write rejected: \(e.message)", file: source)
                        err.line = line(i + k)
                        throw err
                    }
                }
                writes += batch.count
            } else {
                var ids: [String] = []
                while j < ops.count, ids.count < chunk, case .forget(let id) = ops[j] {
                    ids.append(id)
                    j += 1
                }
                for (k, r) in service.forget(ids: ids, stopAtFirstFailure: true).enumerated() {
                    switch r {
                    case .success(true): forgets += 1
                    case .success(false): unknown += 1
                    case .failure(let e):
                        try? service.flush()
                        var err = WorkloadError(message: "forget failed: \(e.message)", file: source)
                        err.line = line(i + k)
                        throw err
                    }
                }
            }
            i = j
        }
        try service.flush()
        let seconds = Double(monotonicNanos() - start) / 1e9
        let digest = CanonicalClusters.digest(try service.clusters())
        return Report(
            ops: ops.count, writes: writes, forgets: forgets, forgetsOfUnknownIDs: unknown, seconds: seconds,
            usPerOp: ops.isEmpty ? 0 : seconds * 1e6 / Double(ops.count), stats: service.stats, digest: digest)
    }
}

extension WorkloadError {
    init(message: String, file: String?) {
        self.init(message)
        self.file = file
    }
}
