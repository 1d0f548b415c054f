import PlugHost

/// A labelled-topic workload (issue 16's clustering benchmark): `topics` topics, each with its
/// own topic words; every note holds a few words of one topic plus one or two filler words
/// shared by all topics (the words that chain topics into one connected component). The truth
/// is each topic word's topic; filler words have none. The same parameters and seed give the
/// same notes.
package struct TopicWorkload: Sendable {
    /// Number of topics (K).
    package var topics: Int
    /// Distinct words per topic.
    package var wordsPerTopic: Int = 8
    /// Notes per topic.
    package var notesPerTopic: Int = 40
    /// Topic words per note (distinct, all from the note's topic).
    package var topicWordsPerNote: ClosedRange<Int> = 3...5
    /// Shared filler words per note.
    package var fillerWordsPerNote: ClosedRange<Int> = 1...2
    /// The shared filler words.
    package var fillers: [String] = ["gives", "keeps", "often", "makes", "shows", "uses"]
    /// The goal every note is written to.
    package var goal: String = "topics"
    /// Seed.
    package var seed: UInt64

    /// Creates a workload of `topics` topics.
    package init(topics: Int, seed: UInt64 = 42) {
        self.topics = max(1, topics)
        self.seed = seed
    }

    /// The `index`th word of topic `topic` (already a normalised concept key).
    package func word(topic: Int, index: Int) -> String { "topic\(topic)-word\(index)" }

    /// Each topic word's topic: the truth the clusters are scored against.
    package var truth: [String: Int] {
        var t: [String: Int] = [:]
        for k in 0..<topics {
            for w in 0..<wordsPerTopic { t[word(topic: k, index: w)] = k }
        }
        return t
    }

    /// The notes, topics interleaved at random, with ids `note-0`, `note-1`, …; every topic word
    /// occurs in at least one note (when a topic has at least `wordsPerTopic` notes).
    package func notes() -> [MemoryWrite] {
        var rng = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(rng.next() % UInt64(n)) }
        func count(_ r: ClosedRange<Int>) -> Int { r.lowerBound + below(r.count) }
        var order: [Int] = []
        for k in 0..<topics { order += Array(repeating: k, count: notesPerTopic) }
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, below(i + 1)) }
        var written = Array(repeating: 0, count: topics)
        var out: [MemoryWrite] = []
        out.reserveCapacity(order.count)
        for (n, k) in order.enumerated() {
            // The first word cycles through the topic's words; the others are random.
            var words = [word(topic: k, index: written[k] % wordsPerTopic)]
            written[k] += 1
            let wanted = min(wordsPerTopic, count(topicWordsPerNote))
            while words.count < wanted {
                let w = word(topic: k, index: below(wordsPerTopic))
                if !words.contains(w) { words.append(w) }
            }
            var filler: [String] = []
            let fillerCount = min(fillers.count, count(fillerWordsPerNote))
            while filler.count < fillerCount {
                let f = fillers[below(fillers.count)]
                if !filler.contains(f) { filler.append(f) }
            }
            let concepts = words + filler
            out.append(
                MemoryWrite(
                    goal: goal, plugin: "notes", id: "note-\(n)", content: "note \(n): " + concepts.joined(separator: " "),
                    concepts: concepts))
        }
        return out
    }
}
