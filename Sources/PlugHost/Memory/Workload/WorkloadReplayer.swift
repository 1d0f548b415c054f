import Foundation

/// Applies a workload to a memory service in submission chunks, preserving order, then flushes.
public enum WorkloadReplayer {
    /// What a replay did.
    public struct Report: Sendable, Codable {
        public var ops: Int
        public var writes: Int
        public var forgets: Int
        public var forgetsOfUnknownIDs: Int
        public var seconds: Double
        public var usPerOp: Double
        public var stats: MemoryStats
        public var digest: String
    }

    /// Reads and parses a JSONL file; a bad line throws with its number, and nothing is applied.
    public static func load(path: String) throws -> [WorkloadOp] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WorkloadError(message: "cannot read the file", file: path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw WorkloadError(message: "the file is not valid UTF-8", file: path)
        }
        var ops: [WorkloadOp] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do {
                ops.append(try WorkloadOp.parse(Substring(trimmed)))
            } catch var e as WorkloadError {
                e.line = i + 1
                e.file = path
                throw e
            }
        }
        return ops
    }

    /// Applies `ops` (each op's line number is its index + 1 when `lines` is nil) and flushes.
    /// A write the write path rejects stops the replay with its line number; what came before
    /// stays applied and flushed.
    public static func replay(_ ops: [WorkloadOp], into service: MemoryService, chunk: Int = 512, source: String? = nil) throws -> Report {
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
                for (k, r) in service.write(batch).enumerated() {
                    if case .failure(let e) = r {
                        try? service.flush()
                        var err = WorkloadError(message: "write rejected: \(e.message)", file: source)
                        err.line = i + k + 1
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
                for (k, r) in service.forget(ids: ids).enumerated() {
                    switch r {
                    case .success(true): forgets += 1
                    case .success(false): unknown += 1
                    case .failure(let e):
                        var err = WorkloadError(message: "forget failed: \(e.message)", file: source)
                        err.line = i + k + 1
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
