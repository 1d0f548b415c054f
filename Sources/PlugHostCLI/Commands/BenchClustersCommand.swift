import ArgumentParser
import Foundation
import PlugHost
import PlugHostTools

/// `plughost bench clusters`: the labelled-topic benchmark of issue 16. For each K, notes of K
/// topics sharing filler words are written through the default (SQLite, optimized) engine into
/// a fresh file, flushed, and the clusters are scored against the topics by NMI.
struct BenchClustersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clusters",
        abstract: "Cluster quality on labelled topics: notes, concepts, clusters, NMI with the true topics and time per K.")

    @Option(help: "Topic counts K, comma-separated.") var topics: String = "6,10,20"
    @Option(name: .customLong("notes-per-topic"), help: "Notes per topic.") var notesPerTopic: Int = 40
    @Option(name: .customLong("words-per-topic"), help: "Distinct words per topic.") var wordsPerTopic: Int = 8
    @Option(help: "Workload seed.") var seed: UInt64 = 42
    @Flag(help: "Print JSON.") var json = false

    /// The figures of one K.
    struct Row {
        var topics: Int
        var notes: Int
        var concepts: Int
        var clusters: Int
        var nmi: Double
        var milliseconds: Double
    }

    func validate() throws {
        _ = try topicCounts()
        guard notesPerTopic > 0 else { throw ValidationError("--notes-per-topic: \(notesPerTopic) is not a positive number") }
        guard wordsPerTopic > 0 else { throw ValidationError("--words-per-topic: \(wordsPerTopic) is not a positive number") }
    }

    private func topicCounts() throws -> [Int] {
        try topics.split(separator: ",", omittingEmptySubsequences: false).map { s in
            guard let k = Int(s.trimmingCharacters(in: .whitespaces)), k > 0 else {
                throw ValidationError("--topics: \(s.debugDescription) is not a positive number")
            }
            return k
        }
    }

    @OptionGroup var log: LogOptions

    func run() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("plughost-bench-clusters-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        var rows: [Row] = []
        for k in try topicCounts() {
            var w = TopicWorkload(topics: k, seed: seed)
            w.notesPerTopic = notesPerTopic
            w.wordsPerTopic = wordsPerTopic
            let notes = w.notes()
            let start = DispatchTime.now().uptimeNanoseconds
            let service = try MemoryService(
                engine: try SQLiteEngine(path: dir.appendingPathComponent("topics-\(k).sqlite").path), configuration: MemoryConfiguration())
            for (i, r) in service.write(notes).enumerated() {
                if case .failure(let e) = r { throw ValidationError("writing note \(i) of K = \(k): \(e)") }
            }
            try service.flush()
            let clusters = try service.clusters(goal: w.goal).first?.clusters ?? []
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            try service.close()
            rows.append(
                Row(
                    topics: k, notes: notes.count, concepts: clusters.reduce(0) { $0 + $1.concepts.count }, clusters: clusters.count,
                    nmi: NormalizedMutualInformation.score(truth: w.truth, clusters: clusters), milliseconds: ms))
        }
        if json {
            print(
                JSONText.encode([
                    "engine": "sqlite", "seed": Int(seed), "notes_per_topic": notesPerTopic, "words_per_topic": wordsPerTopic,
                    "results": rows.map { r in
                        [
                            "topics": r.topics, "notes": r.notes, "concepts": r.concepts, "clusters": r.clusters, "nmi": r.nmi,
                            "ms": r.milliseconds,
                        ] as [String: Any]
                    },
                ]))
            return
        }
        print("engine: sqlite (optimized, flushed); seed \(seed); \(notesPerTopic) notes and \(wordsPerTopic) words per topic")
        print("NMI of the clusters with the true topics over the topic words (target ≥ 0.95)")
        print("   K | notes | concepts | clusters |    NMI |  time ms")
        for r in rows {
            print(
                String(
                    format: "%4d | %5d | %8d | %8d | %6.4f | %8.1f", r.topics, r.notes, r.concepts, r.clusters, r.nmi, r.milliseconds))
        }
    }
}
