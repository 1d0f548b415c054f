import Foundation
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPostgres
@testable import PlugHostPipeline
@testable import PlugHostTools

// MARK: - Shared support for the pipeline tests (PipelineRunTests, PipelineValidationTests)

/// Base class of the pipeline tests: temp folders, in-process hosts over the in-memory engine,
/// and the real `plughost` executable.
class PipelineTestCase: XCTestCase {
    /// The repository root (this file is Tests/PlugHostPipelineTests/PipelineRunTests.swift).
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var examplesDirectory: URL { repoRoot.appendingPathComponent("examples/pipelines") }
    static var quickstartPath: String { examplesDirectory.appendingPathComponent("quickstart.yaml").path }
    static var journalPath: String { examplesDirectory.appendingPathComponent("journal.yaml").path }

    /// The folder holding libtext.so / libsig.so: next to the test binary, or found in the build
    /// folder.
    static let pluginDirectory: String? = {
        let fm = FileManager.default
        func has(_ dir: String) -> Bool { fm.fileExists(atPath: (dir as NSString).appendingPathComponent("libtext.so")) }
        var candidates = [PluginSearchPath.bundledDirectory]
        if let first = CommandLine.arguments.first { candidates.append((first as NSString).deletingLastPathComponent) }
        candidates.append(Bundle.main.bundlePath)
        candidates.append((Bundle.main.bundlePath as NSString).deletingLastPathComponent)
        candidates += ["/tmp/build-pipeline/debug", repoRoot.appendingPathComponent(".build/debug").path]
        if let dir = candidates.first(where: has) { return dir }
        // Search the scratch paths for a debug folder with libtext.so.
        for root in ["/tmp/build-pipeline", repoRoot.appendingPathComponent(".build").path] {
            guard let e = fm.enumerator(atPath: root) else { continue }
            while let rel = e.nextObject() as? String {
                if rel.hasSuffix("/libtext.so") || rel == "libtext.so" {
                    return (root as NSString).appendingPathComponent((rel as NSString).deletingLastPathComponent)
                }
            }
        }
        return nil
    }()

    /// The `plughost` executable built next to the bundled plugins.
    static var executablePath: String? {
        var dirs = [PluginSearchPath.bundledDirectory]
        if let p = pluginDirectory { dirs.append(p) }
        return dirs.map { ($0 as NSString).appendingPathComponent("plughost") }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A fresh temp folder, removed after the test.
    func makeTempDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("plughost-pipeline-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Writes `text` to `dir/name` (creating folders) and returns the path.
    @discardableResult
    func write(_ text: String, to dir: URL, _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// A host over the in-memory engine (or `engine`); bundled plugins are found by bare name.
    func makeHost(engine: (any MemoryEngine)? = nil, configuration: MemoryConfiguration = MemoryConfiguration()) throws -> PluginHost {
        let memory = try MemoryService(engine: engine ?? InMemoryEngine(), configuration: configuration)
        let bundled = PluginSearchPath.bundledDirectory
        if FileManager.default.fileExists(atPath: (bundled as NSString).appendingPathComponent("libtext.so")) {
            return PluginHost(memory: memory)
        }
        let dir = try XCTUnwrap(Self.pluginDirectory, "cannot find the folder holding libtext.so (build the package first)")
        return PluginHost(memory: memory, searchPath: PluginSearchPath(extra: [dir]))
    }

    /// Parses, validates and runs the pipeline at `path` in `host`.
    func runInProcess(_ path: String, host: PluginHost, goal: String? = nil, inputs: [String] = []) throws -> PipelineReport {
        let definition = try PipelineParser.parse(path: path)
        let runner = try PipelineRunner(definition: definition, host: host, goal: goal, inputOverrides: inputs)
        return try runner.run()
    }

    /// The output named `name` of a report.
    func output(_ report: PipelineReport, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> PipelineValue {
        try XCTUnwrap(
            report.outputs.first { $0.name == name }?.value, "no output \(name) in \(report.outputs.map(\.name))", file: file, line: line)
    }

    /// The items of a list value (a one-element list for a single value).
    func items(_ v: PipelineValue) -> [PipelineValue] {
        if case .list(let l) = v { return l }
        return [v]
    }

    struct ProcessResult {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the real `plughost` with `arguments` in `cwd`; stdout and stderr go to files (so
    /// neither is a terminal).
    func runPlughost(_ arguments: [String], cwd: URL? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let exe = try XCTUnwrap(Self.executablePath, "cannot find the plughost executable next to the test binary", file: file, line: line)
        let io = try makeTempDirectory()
        let outURL = io.appendingPathComponent("stdout"), errURL = io.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let p = Process()
        p.environment = TestSupport.hermetic(ProcessInfo.processInfo.environment)
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = arguments
        if let cwd { p.currentDirectoryURL = cwd }
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try out.close()
        try err.close()
        return ProcessResult(
            status: p.terminationStatus,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    /// Parses the JSON object `plughost run --json` printed.
    func jsonObject(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let data = Data(text.utf8)
        let obj = try JSONSerialization.jsonObject(with: data)
        return try XCTUnwrap(obj as? [String: Any], "not a JSON object: \(text)", file: file, line: line)
    }
}

// MARK: - Running pipelines

final class PipelineRunTests: PipelineTestCase {

    // MARK: quickstart and journal, in process

    /// True when some cluster holds all of `all` and at least one of `any`.
    private func hasCluster(_ clusters: [[String]], all: [String], any: [String] = []) -> Bool {
        clusters.contains { c in all.allSatisfy(c.contains) && (any.isEmpty || any.contains(where: c.contains)) }
    }

    /// The quickstart's clusters are the topics of its notes (issue 16): databases, the garden
    /// and coffee, each in one cluster, none mixing two topics, no one-word clusters, and no
    /// filler word the text plugin used to pick (`keeps`, `gives`, `want`, `lets`, `ahead`).
    private func checkQuickstartClusters(_ clusters: [[String]], file: StaticString = #filePath, line: UInt = #line) {
        let topics: [[String]] = [
            ["database", "sqlite", "index", "column"], ["basil", "tomato", "soil"], ["coffee", "espresso", "grinder"],
        ]
        for t in topics {
            XCTAssertTrue(hasCluster(clusters, all: t), "no cluster holds all of \(t): \(clusters)", file: file, line: line)
        }
        for (i, t) in topics.enumerated() {
            for u in topics[(i + 1)...] {
                XCTAssertFalse(
                    hasCluster(clusters, all: [t[0], u[0]]), "\(t[0]) and \(u[0]) share a cluster: \(clusters)", file: file, line: line)
            }
        }
        XCTAssertEqual(clusters.filter { $0.count < 2 }, [], "one-word clusters: \(clusters)", file: file, line: line)
        let filler: Set<String> = ["keeps", "gives", "want", "lets", "ahead", "plenty"]
        XCTAssertEqual(clusters.flatMap { $0 }.filter(filler.contains), [], "filler words: \(clusters)", file: file, line: line)
    }

    func testQuickstartRunsInProcess() throws {
        let host = try makeHost()
        defer { try? host.close() }
        let report = try runInProcess(Self.quickstartPath, host: host)
        XCTAssertEqual(report.name, "quickstart")
        XCTAssertEqual(report.goal, "quickstart")
        XCTAssertEqual(report.steps.map(\.id), ["keywords", "summaries"])
        XCTAssertEqual(report.steps.map(\.calls), [6, 6])
        XCTAssertEqual(report.calls, 12)
        let summaries = items(try output(report, "summaries")).map(\.text)
        XCTAssertEqual(summaries.count, 6)
        XCTAssertEqual(summaries.first, "SQLite keeps the whole database in one file.")
        let clusterLines = items(try output(report, "clusters")).map(\.text)
        XCTAssertFalse(clusterLines.isEmpty)
        let clusters = report.clusters.map(\.concepts)
        XCTAssertEqual(clusterLines, clusters.map { $0.joined(separator: ", ") })
        checkQuickstartClusters(clusters)
        XCTAssertEqual(report.memory.writes, 12)
        print("quickstart summaries:\n  " + summaries.joined(separator: "\n  "))
        print("quickstart clusters:\n  " + clusterLines.joined(separator: "\n  "))
    }

    func testJournalRunsInProcess() throws {
        let host = try makeHost()
        defer { try? host.close() }
        let report = try runInProcess(Self.journalPath, host: host)
        XCTAssertEqual(try output(report, "run"), .value(.string("run number 1 of goal garden-journal")))
        let keywords = items(try output(report, "keywords")).map(\.text)
        XCTAssertEqual(keywords.count, 3)
        XCTAssertTrue(keywords[0].contains("basil"), "\(keywords)")
        XCTAssertTrue(try output(report, "digest").text.hasPrefix("Keywords of this run: "))
        // Two keywords memories (entries 1 and 3) and the digest's memory carry "basil".
        XCTAssertEqual(try output(report, "topic_memories"), .value(.int(3)))
        XCTAssertEqual(try output(report, "summaries_so_far"), .value(.string("1")))
        XCTAssertEqual(report.steps.map(\.calls), [1, 3, 1, 1])
        XCTAssertFalse(report.clusters.isEmpty)
        print("journal outputs: \(report.outputs.map { "\($0.name)=\($0.value.text)" })")
        print("journal clusters: \(report.clusters.map(\.concepts))")
    }

    // MARK: quickstart and journal, through the executable

    func testQuickstartExecutableMemoryEngine() throws {
        let cwd = try makeTempDirectory()
        let r = try runPlughost(["run", Self.quickstartPath, "--engine", "memory"], cwd: cwd)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("summaries:\n  - SQLite keeps the whole database in one file."), r.stdout)
        XCTAssertTrue(r.stdout.contains("clusters:\n"), r.stdout)
        let clusterLines = r.stdout.components(separatedBy: "clusters:\n").last!
            .split(separator: "\n").prefix { $0.hasPrefix("  - ") }.map { $0.dropFirst(4).components(separatedBy: ", ") }
        checkQuickstartClusters(clusterLines)
        XCTAssertTrue(r.stdout.contains("quickstart: 2 steps, 12 calls"), r.stdout)
        XCTAssertTrue(r.stdout.contains("memory: 12 writes"), r.stdout)
        print(r.stdout)
    }

    func testJournalExecutableMemoryEngine() throws {
        let cwd = try makeTempDirectory()
        let r = try runPlughost(["run", Self.journalPath, "--engine", "memory"], cwd: cwd)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("run: run number 1 of goal garden-journal\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("keywords:\n  - "), r.stdout)
        XCTAssertTrue(r.stdout.contains("summaries_so_far: 1\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("journal: 4 steps, 6 calls"), r.stdout)
        print(r.stdout)
    }

    func testQuickstartExecutableSQLite() throws {
        let dir = try makeTempDirectory()
        let db = dir.appendingPathComponent("m.sqlite").path
        let r = try runPlughost(["run", Self.quickstartPath, "--db", db], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("summaries:\n  - SQLite keeps the whole database in one file."), r.stdout)
        let clusterLines = r.stdout.components(separatedBy: "clusters:\n").last!
            .split(separator: "\n").prefix { $0.hasPrefix("  - ") }.map { $0.dropFirst(4).components(separatedBy: ", ") }
        checkQuickstartClusters(clusterLines)
        XCTAssertTrue(FileManager.default.fileExists(atPath: db))
        print(r.stdout)
    }

    func testJournalExecutableSQLite() throws {
        let dir = try makeTempDirectory()
        let db = dir.appendingPathComponent("m.sqlite").path
        let r = try runPlughost(["run", Self.journalPath, "--db", db], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("run: run number 1 of goal garden-journal\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("summaries_so_far: 1\n"), r.stdout)
        print(r.stdout)
    }

    // MARK: paths

    /// Plugin paths and `foreach: {lines: …}` resolve against the pipeline file's folder, not the
    /// working directory.
    func testRelativePathsResolveAgainstTheFileFolder() throws {
        let dir = try makeTempDirectory()
        let pluginDir = try XCTUnwrap(Self.pluginDirectory)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("project/plugins"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: dir.appendingPathComponent("project/plugins/libtext.so").path,
            withDestinationPath: (pluginDir as NSString).appendingPathComponent("libtext.so"))
        try write("alpha beta gamma\n\none two\n   \nthree\n", to: dir, "project/data/lines.txt")
        let path = try write(
            """
            goal: paths
            plugins:
              words: ../plugins/libtext.so
            steps:
              - id: counts
                call: words.word_count
                foreach: {lines: ../data/lines.txt}
                args: [\"${item}\"]
            outputs:
              counts: ${steps.counts}
            """, to: dir, "project/pipelines/p.yaml")

        // In process; the test's working directory is not the file's folder.
        XCTAssertNotEqual(FileManager.default.currentDirectoryPath, dir.appendingPathComponent("project/pipelines").path)
        let host = try makeHost()
        defer { try? host.close() }
        let report = try runInProcess(path, host: host)
        XCTAssertEqual(try output(report, "counts"), .list([.value(.int(3)), .value(.int(2)), .value(.int(1))]))

        // Through the executable, from another working directory, with an absolute and a
        // relative pipeline path.
        let elsewhere = dir.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let r1 = try runPlughost(["run", path, "--engine", "memory"], cwd: elsewhere)
        XCTAssertEqual(r1.status, 0, r1.stderr)
        XCTAssertTrue(r1.stdout.contains("counts:\n  - 3\n  - 2\n  - 1\n"), r1.stdout)
        let r2 = try runPlughost(["run", "project/pipelines/p.yaml", "--engine", "memory"], cwd: dir)
        XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertTrue(r2.stdout.contains("counts:\n  - 3\n  - 2\n  - 1\n"), r2.stdout)
        // The examples too, run from a folder that is not the repository.
        let r3 = try runPlughost(["run", Self.quickstartPath, "--engine", "memory", "--quiet"], cwd: elsewhere)
        XCTAssertEqual(r3.status, 0, r3.stderr)
    }

    // MARK: foreach

    func testForeachOverAListInput() throws {
        let dir = try makeTempDirectory()
        let path = try write(
            """
            goal: fe
            plugins: {text: text}
            inputs:
              notes:
                - "Basil basil wants light."
                - "Coffee coffee needs an even grind."
                - "One two three four five"
            steps:
              - id: counts
                call: text.word_count
                foreach: ${inputs.notes}
                args: {text: "${item}"}
              - id: kw
                call: text.keywords
                foreach: ${inputs.notes}
                args: {text: "${item}", k: 1}
            outputs:
              counts: ${steps.counts}
              kw: ${steps.kw}
            """, to: dir, "p.yaml")
        let host = try makeHost()
        defer { try? host.close() }
        let report = try runInProcess(path, host: host)
        XCTAssertEqual(try output(report, "counts"), .list([.value(.int(4)), .value(.int(6)), .value(.int(5))]))
        // Number words are stop words (issue 16): the third note has no keyword.
        XCTAssertEqual(try output(report, "kw"), .list([.value(.string("basil")), .value(.string("coffee")), .value(.string(""))]))
        XCTAssertEqual(report.steps.map(\.calls), [3, 3])
    }

    func testForeachOverLinesOfAFile() throws {
        let dir = try makeTempDirectory()
        try write("first line here\n\n  \nsecond line\r\nthird\n", to: dir, "data/in.txt")
        let path = try write(
            """
            goal: fe
            plugins: {text: text}
            steps:
              - id: counts
                call: text.word_count
                foreach: {lines: data/in.txt}
                args: ["${item}"]
            outputs:
              counts: ${steps.counts}
            """, to: dir, "p.yaml")
        let host = try makeHost()
        defer { try? host.close() }
        let report = try runInProcess(path, host: host)
        XCTAssertEqual(try output(report, "counts"), .list([.value(.int(3)), .value(.int(2)), .value(.int(1))]))
        XCTAssertEqual(report.steps.first?.calls, 3, "blank lines are not items")
    }

    func testForeachOverAnEarlierForeachStep() throws {
        let dir = try makeTempDirectory()
        let path = try write(
            """
            goal: fe
            plugins: {text: text}
            inputs:
              notes:
                - "Basil wants light. The basil likes a warm greenhouse."
                - "Coffee grinder. Coffee grind. Espresso."
            steps:
              - id: kw
                call: text.keywords
                foreach: ${inputs.notes}
                args: {text: "${item}", k: 3}
              - id: kwcounts
                call: text.word_count
                foreach: ${steps.kw}
                args: {text: "${item}"}
              - id: again
                call: text.keywords
                foreach: ${steps.kw}
                args: {text: "${item}", k: 1}
            outputs:
              kw: ${steps.kw}
              kwcounts: ${steps.kwcounts}
              again: ${steps.again}
            """, to: dir, "p.yaml")
        let host = try makeHost()
        defer { try? host.close() }
        let report = try runInProcess(path, host: host)
        XCTAssertEqual(
            // "wants" and "likes" are stop words (issue 16).
            try output(report, "kw"), .list([.value(.string("basil, light, warm")), .value(.string("coffee, grinder, grind"))]))
        XCTAssertEqual(try output(report, "kwcounts"), .list([.value(.int(3)), .value(.int(3))]))
        XCTAssertEqual(try output(report, "again"), .list([.value(.string("basil")), .value(.string("coffee"))]))
        XCTAssertEqual(report.steps.map(\.calls), [2, 2, 2])
    }

    // MARK: values

    /// `${steps.ID}` alone keeps the integer type into an integer parameter; mixed with text it
    /// is parsed.
    func testStepReferenceKeepsIntegerType() throws {
        let dir = try makeTempDirectory()
        let path = try write(
            """
            goal: types
            plugins: {text: text, sig: sig}
            steps:
              - id: n
                call: text.tally
                args: [counter]
              - id: same
                call: sig.id_i64
                args: ["${steps.n}"]
              - id: small
                call: sig.id_i8
                args: {v: "${steps.same}"}
              - id: mixed
                call: sig.id_i32
                args: ["${steps.n}0"]
              - id: sum
                call: sig.add3
                args: ["${steps.n}", "${steps.small}", 40]
              - id: kw
                call: text.keywords
                args: {text: "Basil tomato coffee espresso", k: "${steps.n}"}
            outputs:
              n: ${steps.n}
              same: ${steps.same}
              small: ${steps.small}
              mixed: ${steps.mixed}
              sum: ${steps.sum}
              kw: ${steps.kw}
              text: "n is ${steps.n}"
            """, to: dir, "p.yaml")
        let host = try makeHost()
        defer { try? host.close() }
        let report = try runInProcess(path, host: host)
        XCTAssertEqual(try output(report, "n"), .value(.int(1)))
        XCTAssertEqual(try output(report, "same"), .value(.int(1)))
        XCTAssertEqual(try output(report, "small"), .value(.int(1)))
        XCTAssertEqual(try output(report, "mixed"), .value(.int(10)))
        XCTAssertEqual(try output(report, "sum"), .value(.int(42)))
        XCTAssertEqual(try output(report, "kw"), .value(.string("basil")))
        XCTAssertEqual(try output(report, "text"), .value(.string("n is 1")))
    }

    /// Lists interpolated into text are joined with "; ".
    func testListInterpolation() throws {
        let dir = try makeTempDirectory()
        let path = try write(
            """
            goal: lists
            plugins: {text: text, sig: sig}
            inputs:
              names: [ann, bob, cyd]
              notes:
                - "Basil wants light."
                - "Coffee needs grind."
            steps:
              - id: kw
                call: text.keywords
                foreach: ${inputs.notes}
                args: {text: "${item}", k: 2}
              - id: echo
                call: sig.id_str
                args: ["Keywords: ${steps.kw}."]
              - id: names
                call: sig.id_str
                args: ["names=${inputs.names} goal=${goal}"]
              - id: literal
                call: sig.id_str
                args: ["cost $${not.a.reference} ${goal}"]
            outputs:
              echo: ${steps.echo}
              names: ${steps.names}
              literal: ${steps.literal}
              joined: "all: ${steps.kw}"
              list: ${steps.kw}
            """, to: dir, "p.yaml")
        let host = try makeHost()
        defer { try? host.close() }
        let report = try runInProcess(path, host: host)
        // "wants" and "needs" are stop words (issue 16).
        XCTAssertEqual(try output(report, "echo"), .value(.string("Keywords: basil, light; coffee, grind.")))
        XCTAssertEqual(try output(report, "names"), .value(.string("names=ann; bob; cyd goal=lists")))
        XCTAssertEqual(try output(report, "literal"), .value(.string("cost ${not.a.reference} lists")))
        XCTAssertEqual(try output(report, "joined"), .value(.string("all: basil, light; coffee, grind")))
        XCTAssertEqual(try output(report, "list"), .list([.value(.string("basil, light")), .value(.string("coffee, grind"))]))
    }

    /// `${memory.recall…}` in args, foreach and outputs: the contents of the goal's memories
    /// holding the concept (with `related`, any concept of its cluster), newest first, exact
    /// while the goal's clustering is still pending.
    func testMemoryRecallReferences() throws {
        let dir = try makeTempDirectory()
        let path = try write(
            """
            goal: rec
            plugins: {sig: sig}
            steps:
              - id: echo
                call: sig.id_str
                args: ["related: ${memory.recall.related:A}"]
              - id: each
                call: sig.id_str
                foreach: ${memory.recall.related.2:c}
                args: ["<${item}>"]
              - id: plain
                call: sig.id_str
                args: ["${memory.recall:a}"]
            outputs:
              related: ${memory.recall.related:a}
              plain: ${memory.recall:a}
              each: ${steps.each}
              echo: ${steps.echo}
              one: "${memory.recall.related.1: X }"
            """, to: dir, "p.yaml")
        let host = try makeHost()
        defer { try? host.close() }
        // a–b: co 2; b–c: a dependency (four holds b and c); x alone.
        for (content, concepts, deps) in [
            ("one", ["a", "b"], [Dependency]()), ("two", ["x"], []), ("three", ["A", "B"], []), ("four", ["c"], [Dependency("b", "c")]),
        ] {
            _ = try host.memory.write(MemoryWrite(goal: "rec", plugin: "agent", content: content, concepts: concepts, dependsOn: deps))
        }
        let report = try runInProcess(path, host: host)
        XCTAssertEqual(try output(report, "echo"), .value(.string("related: four; three; one")))
        XCTAssertEqual(try output(report, "each"), .list([.value(.string("<four>")), .value(.string("<three>"))]))
        XCTAssertEqual(try output(report, "related"), .list(["four", "three", "one"].map { .value(.string($0)) }))
        XCTAssertEqual(try output(report, "plain"), .list(["three", "one"].map { .value(.string($0)) }))
        XCTAssertEqual(try output(report, "one"), .list([.value(.string("two"))]))
        let plain = try XCTUnwrap(report.outputs.first { $0.name == "plain" })
        XCTAssertEqual(plain.value, .list(try host.memory.recall(goal: "rec", .concept("a")).map { .value(.string($0.memory.content)) }))
    }

    /// `${context.KEY}` in args reads the step's plugin's goal context at the time the step runs.
    func testContextReadInArgs() throws {
        let dir = try makeTempDirectory()
        let path = try write(
            """
            goal: ctx
            plugins: {text: text}
            steps:
              - id: summary
                call: text.summarize
                args: {text: "Basil loves light.", sentences: 1}
              - id: fromcontext
                call: text.keywords
                args: {text: "${context.last_summary}", k: "${context.k}"}
              - id: unset
                call: text.word_count
                args: ["${context.never_set}"]
              - id: mixed
                call: text.keywords
                args: {text: "Greeting: ${context.greeting}", k: 5}
            outputs:
              fromcontext: ${steps.fromcontext}
              unset: ${steps.unset}
              mixed: ${steps.mixed}
              summaries: ${context.text.summaries}
              last: ${context.text.last_summary}
            """, to: dir, "p.yaml")
        let host = try makeHost()
        defer { try? host.close() }
        try host.memory.setContextValue(goal: "ctx", plugin: "text", key: "k", value: "2")
        try host.memory.setContextValue(goal: "ctx", plugin: "text", key: "greeting", value: "hello espresso")
        let report = try runInProcess(path, host: host)
        XCTAssertEqual(try output(report, "fromcontext"), .value(.string("basil, loves")))
        XCTAssertEqual(try output(report, "unset"), .value(.int(0)))
        XCTAssertEqual(try output(report, "mixed"), .value(.string("greeting, hello, espresso")))
        XCTAssertEqual(try output(report, "summaries"), .value(.string("1")))
        XCTAssertEqual(try output(report, "last"), .value(.string("Basil loves light.")))
    }

    // MARK: goal contexts across runs

    /// Two runs of journal.yaml with one engine (two hosts): the run number and the summaries
    /// go up.
    func testJournalTwiceContinuesContextInProcess() throws {
        let engine = InMemoryEngine()
        let host1 = try makeHost(engine: engine)
        let first = try runInProcess(Self.journalPath, host: host1)
        try host1.memory.flush()
        // host1 is not closed: closing it would close the shared engine.
        let host2 = try makeHost(engine: engine)
        defer { try? host2.close() }
        let second = try runInProcess(Self.journalPath, host: host2)
        XCTAssertEqual(try output(first, "run"), .value(.string("run number 1 of goal garden-journal")))
        XCTAssertEqual(try output(second, "run"), .value(.string("run number 2 of goal garden-journal")))
        XCTAssertEqual(try output(first, "summaries_so_far"), .value(.string("1")))
        XCTAssertEqual(try output(second, "summaries_so_far"), .value(.string("2")))
        // Memories of the first run are still there, and the second run's equal writes are
        // those memories (idempotent writes): the topic's memories do not double.
        XCTAssertEqual(try output(first, "topic_memories"), .value(.int(3)))
        XCTAssertEqual(try output(second, "topic_memories"), .value(.int(3)))
        // The second run's digest saw the first run's summary through ${context.last_summary}.
        XCTAssertEqual(try host2.memory.contextValue(goal: "garden-journal", plugin: "text", key: "runs"), "2")
    }

    func testJournalTwiceAcrossProcessesWithOneSQLiteFile() throws {
        let dir = try makeTempDirectory()
        let db = dir.appendingPathComponent("m.sqlite").path
        let r1 = try runPlughost(["run", Self.journalPath, "--db", db], cwd: dir)
        XCTAssertEqual(r1.status, 0, r1.stderr)
        let r2 = try runPlughost(["run", Self.journalPath, "--db", db], cwd: dir)
        XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertTrue(r1.stdout.contains("run: run number 1 of goal garden-journal\n"), r1.stdout)
        XCTAssertTrue(r2.stdout.contains("run: run number 2 of goal garden-journal\n"), r2.stdout)
        XCTAssertTrue(r1.stdout.contains("summaries_so_far: 1\n"), r1.stdout)
        XCTAssertTrue(r2.stdout.contains("summaries_so_far: 2\n"), r2.stdout)
    }

    /// `--goal` runs the same file in another goal: its context starts from scratch and does not
    /// touch the file's goal.
    func testGoalOverrideIsolatesContexts() throws {
        let engine = InMemoryEngine()
        let host = try makeHost(engine: engine)
        defer { try? host.close() }
        let a1 = try runInProcess(Self.journalPath, host: host)
        let b1 = try runInProcess(Self.journalPath, host: host, goal: "other-garden")
        let a2 = try runInProcess(Self.journalPath, host: host)
        let b2 = try runInProcess(Self.journalPath, host: host, goal: "other-garden")
        XCTAssertEqual(try output(a1, "run"), .value(.string("run number 1 of goal garden-journal")))
        XCTAssertEqual(try output(b1, "run"), .value(.string("run number 1 of goal other-garden")))
        XCTAssertEqual(try output(a2, "run"), .value(.string("run number 2 of goal garden-journal")))
        XCTAssertEqual(try output(b2, "run"), .value(.string("run number 2 of goal other-garden")))
        XCTAssertEqual(b1.goal, "other-garden")
        XCTAssertEqual(try output(b1, "topic_memories"), .value(.int(3)), "memories of the other goal are not recalled")
        XCTAssertEqual(try host.memory.contextValue(goal: "other-garden", plugin: "text", key: "summaries"), "2")

        let cwd = try makeTempDirectory()
        let r = try runPlughost(["run", Self.journalPath, "--engine", "memory", "--goal", "my-goal"], cwd: cwd)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("run: run number 1 of goal my-goal\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("(goal my-goal)"), r.stdout)
    }

    /// Across processes with one SQLite file: an override goal starts at 1 after a run of the
    /// file's goal, and the file's goal continues at 2 afterwards.
    func testGoalOverrideIsolatesContextsInOneSQLiteFile() throws {
        let cwd = try makeTempDirectory()
        let db = cwd.appendingPathComponent("m.sqlite").path
        let s1 = try runPlughost(["run", Self.journalPath, "--db", db], cwd: cwd)
        XCTAssertEqual(s1.status, 0, s1.stderr)
        let s2 = try runPlughost(["run", Self.journalPath, "--db", db, "--goal", "fresh"], cwd: cwd)
        XCTAssertEqual(s2.status, 0, s2.stderr)
        XCTAssertTrue(s2.stdout.contains("run: run number 1 of goal fresh\n"), s2.stdout)
        let s3 = try runPlughost(["run", Self.journalPath, "--db", db], cwd: cwd)
        XCTAssertEqual(s3.status, 0, s3.stderr)
        XCTAssertTrue(s3.stdout.contains("run: run number 2 of goal garden-journal\n"), s3.stdout)
    }

    // MARK: inputs

    func testInputOverrides() throws {
        let dir = try makeTempDirectory()
        let entries = try write("Coffee espresso grinder.\n\nEspresso shots need coffee.\n", to: dir, "entries.txt")
        let topicFile = try write("espresso", to: dir, "topic.txt")

        let host = try makeHost()
        defer { try? host.close() }
        let report = try runInProcess(Self.journalPath, host: host, inputs: ["entries=@\(entries)", "topic=coffee"])
        XCTAssertEqual(
            try output(report, "keywords"),
            .list([.value(.string("coffee, espresso, grinder")), .value(.string("espresso, shots, coffee"))]))
        // "coffee": both entries' keywords memories and the digest's memory ("need" is a stop
        // word, so the second entry's third keyword is "coffee").
        XCTAssertEqual(try output(report, "topic_memories"), .value(.int(3)))
        XCTAssertEqual(report.steps.map(\.calls), [1, 2, 1, 1])

        let host2 = try makeHost()
        defer { try? host2.close() }
        let r2 = try runInProcess(Self.journalPath, host: host2, inputs: ["topic=@\(topicFile)", "entries=Espresso only."])
        XCTAssertEqual(try output(r2, "keywords"), .list([.value(.string("espresso"))]))
        // "espresso": the entry's keywords memory and the digest's memory.
        XCTAssertEqual(try output(r2, "topic_memories"), .value(.int(2)))

        let r = try runPlughost(
            [
                "run", Self.journalPath, "--engine", "memory", "--input", "entries=@\(entries)", "--input", "topic=coffee",
            ], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("keywords:\n  - coffee, espresso, grinder\n  - espresso, shots, coffee\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("topic_memories: 3\n"), r.stdout)
    }

    /// An `--input` string for an input used as an integer argument is parsed as one.
    func testInputOverrideOfAnIntegerInput() throws {
        let dir = try makeTempDirectory()
        let path = try write(
            """
            goal: ints
            plugins: {text: text}
            inputs:
              k: 1
            steps:
              - id: kw
                call: text.keywords
                args: {text: "basil tomato coffee espresso", k: "${inputs.k}"}
            outputs:
              kw: ${steps.kw}
              k: ${inputs.k}
            """, to: dir, "p.yaml")
        let h1 = try makeHost()
        defer { try? h1.close() }
        XCTAssertEqual(try output(try runInProcess(path, host: h1), "kw"), .value(.string("basil")))
        let h2 = try makeHost()
        defer { try? h2.close() }
        let r = try runInProcess(path, host: h2, inputs: ["k=3"])
        XCTAssertEqual(try output(r, "kw"), .value(.string("basil, tomato, coffee")))
        XCTAssertEqual(try output(r, "k"), .value(.string("3")))
    }

    // MARK: failures

    private func failingPipeline(in dir: URL) throws -> String {
        try write(
            """
            goal: fails
            plugins: {text: text, sig: sig}
            steps:
              - id: count
                call: text.tally
                args: [runs]
              - id: remember
                call: text.keywords
                args: {text: "Espresso espresso coffee grinder", k: 3}
              - id: boom
                call: sig.fail
                args: ["the grinder jammed"]
                needs: [remember]   # another plugin: without needs it would start at once
              - id: after
                call: text.tally
                args: [after]
                needs: [boom]
            outputs:
              count: ${steps.count}
            """, to: dir, "fail.yaml")
    }

    private func failingForeachPipeline(in dir: URL) throws -> String {
        try write(
            """
            goal: fails
            plugins: {text: text}
            inputs:
              ks: [2, 0, 3]
            steps:
              - id: count
                call: text.tally
                args: [runs]
              - id: kw
                call: text.keywords
                foreach: ${inputs.ks}
                args: {text: "Espresso espresso coffee grinder number ${item}", k: "${item}"}
              - id: after
                call: text.tally
                args: [after]
            """, to: dir, "fail-foreach.yaml")
    }

    func testFailingStepStopsTheRunAndKeepsMemory() throws {
        let dir = try makeTempDirectory()
        let path = try failingPipeline(in: dir)
        let host = try makeHost()
        defer { try? host.close() }
        let definition = try PipelineParser.parse(path: path)
        let runner = try PipelineRunner(definition: definition, host: host)
        XCTAssertThrowsError(try runner.run()) { error in
            guard let e = error as? PipelineError else { return XCTFail("not a PipelineError: \(error)") }
            XCTAssertEqual(e.code, .stepFailed)
            XCTAssertEqual(e.step, "boom")
            XCTAssertNil(e.item)
            XCTAssertEqual(e.file, path)
            XCTAssertEqual(e.line, 10, "the line of the failing step")
            XCTAssertTrue(e.message.contains("the grinder jammed"), e.message)
            XCTAssertTrue(e.description.contains("step boom"), e.description)
        }
        // Earlier steps' context and memory are kept; the step after the failure did not run.
        XCTAssertEqual(try host.memory.contextValue(goal: "fails", plugin: "text", key: "runs"), "1")
        XCTAssertNil(try host.memory.contextValue(goal: "fails", plugin: "text", key: "after"))
        let recalled = try host.memory.recall(goal: "fails", .concept("espresso"))
        XCTAssertEqual(recalled.count, 1)
        XCTAssertEqual(recalled.first?.memory.content, "Espresso espresso coffee grinder")
        XCTAssertEqual(try host.memory.clusters(goal: "fails").first?.clusters.isEmpty, false, "memory was flushed into clusters")

        let r = try runPlughost(["run", path, "--engine", "memory"], cwd: dir)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("step boom"), r.stderr)
        XCTAssertTrue(r.stderr.contains("the grinder jammed"), r.stderr)
        XCTAssertFalse(r.stdout.contains("count:"), "no outputs after a failed run: \(r.stdout)")
    }

    func testFailingForeachItemNamesTheItemAndKeepsEarlierItems() throws {
        let dir = try makeTempDirectory()
        let path = try failingForeachPipeline(in: dir)
        let host = try makeHost()
        defer { try? host.close() }
        let runner = try PipelineRunner(definition: try PipelineParser.parse(path: path), host: host)
        XCTAssertThrowsError(try runner.run()) { error in
            guard let e = error as? PipelineError else { return XCTFail("not a PipelineError: \(error)") }
            XCTAssertEqual(e.code, .stepFailed)
            XCTAssertEqual(e.step, "kw")
            let item = e.item ?? ""
            XCTAssertTrue(item.hasPrefix("2 of 3"), "item: \(item)")
            XCTAssertTrue(item.contains("0"), "item: \(item)")
            XCTAssertTrue(e.message.contains("argument k is 0, below its minimum 1"), e.message)
            XCTAssertTrue(e.description.contains("step kw, item 2 of 3"), e.description)
        }
        XCTAssertEqual(try host.memory.contextValue(goal: "fails", plugin: "text", key: "runs"), "1")
        XCTAssertNil(try host.memory.contextValue(goal: "fails", plugin: "text", key: "after"))
        // Item 1 wrote its memory; item 3 never ran.
        let recalled = try host.memory.recall(goal: "fails", .concept("espresso"))
        XCTAssertEqual(recalled.map(\.memory.content), ["Espresso espresso coffee grinder number 2"])

        let r = try runPlughost(["run", path, "--engine", "memory"], cwd: dir)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("step kw, item 2 of 3"), r.stderr)
        XCTAssertTrue(r.stderr.contains("argument k is 0, below its minimum 1"), r.stderr)
    }

    /// An argument that is out of range only at run time (a step result passed on) stops the run
    /// at that step; what ran before is kept.
    func testRuntimeOutOfRangeArgumentStopsTheRun() throws {
        let dir = try makeTempDirectory()
        let path = try write(
            """
            goal: range
            plugins: {text: text, sig: sig}
            steps:
              - id: count
                call: text.tally
                args: [runs]
              - id: big
                call: sig.id_i64
                args: [300]
              - id: small
                call: sig.id_i8
                args: ["${steps.big}"]
              - id: after
                call: text.tally
                args: [after]
                needs: [count, small]
            """, to: dir, "p.yaml")
        let host = try makeHost()
        defer { try? host.close() }
        let runner = try PipelineRunner(definition: try PipelineParser.parse(path: path), host: host)
        XCTAssertThrowsError(try runner.run()) { error in
            guard let e = error as? PipelineError else { return XCTFail("not a PipelineError: \(error)") }
            XCTAssertEqual(e.code, .stepFailed)
            XCTAssertEqual(e.step, "small")
            XCTAssertNil(e.item)
            XCTAssertTrue(e.message.contains("out of range"), e.message)
        }
        XCTAssertEqual(try host.memory.contextValue(goal: "range", plugin: "text", key: "runs"), "1")
        XCTAssertNil(try host.memory.contextValue(goal: "range", plugin: "text", key: "after"))
    }

    /// With SQLite, what the failed run wrote is in the file afterwards.
    func testFailingRunKeepsMemoryInTheSQLiteFile() throws {
        let dir = try makeTempDirectory()
        let path = try failingForeachPipeline(in: dir)
        let db = dir.appendingPathComponent("m.sqlite").path
        let r = try runPlughost(["run", path, "--db", db], cwd: dir)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("step kw, item 2 of 3"), r.stderr)
        let memory = try MemoryService(engine: EngineFactory.open(.sqlite, location: db))
        defer { try? memory.close() }
        XCTAssertEqual(try memory.contextValue(goal: "fails", plugin: "text", key: "runs"), "1")
        XCTAssertEqual(
            try memory.recall(goal: "fails", .concept("espresso")).map(\.memory.content), ["Espresso espresso coffee grinder number 2"])
    }

    // MARK: output formats

    func testJSONOutput() throws {
        let cwd = try makeTempDirectory()
        let r = try runPlughost(["run", Self.journalPath, "--engine", "memory", "--json"], cwd: cwd)
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try jsonObject(r.stdout)
        XCTAssertEqual(obj["name"] as? String, "journal")
        XCTAssertEqual(obj["goal"] as? String, "garden-journal")
        let outputs = try XCTUnwrap(obj["outputs"] as? [String: Any])
        XCTAssertEqual(Set(outputs.keys), ["run", "keywords", "digest", "topic_memories", "summaries_so_far"])
        XCTAssertEqual(outputs["run"] as? String, "run number 1 of goal garden-journal")
        XCTAssertEqual((outputs["keywords"] as? [Any])?.count, 3)
        XCTAssertEqual(outputs["topic_memories"] as? Int, 3)
        let steps = try XCTUnwrap(obj["steps"] as? [[String: Any]])
        XCTAssertEqual(steps.compactMap { $0["id"] as? String }, ["run", "keywords", "digest", "mentions"])
        XCTAssertEqual(steps.compactMap { $0["calls"] as? Int }, [1, 3, 1, 1])
        for s in steps {
            let seconds = try XCTUnwrap(s["seconds"] as? Double, "\(s)")
            XCTAssertGreaterThanOrEqual(seconds, 0)
        }
        let memory = try XCTUnwrap(obj["memory"] as? [String: Any])
        for key in [
            "writes", "forgets", "cache_hits", "cache_misses", "cache_hit_ratio", "edge_ops", "edge_ops_saved",
            "clustering_runs", "clustering_runs_saved", "batches", "commits",
        ] {
            XCTAssertNotNil(memory[key], "memory has no \(key): \(memory.keys.sorted())")
        }
        XCTAssertEqual(memory["writes"] as? Int, 4)
        XCTAssertNotNil(obj["clusters"] as? [Any])
        XCTAssertNotNil(obj["seconds"] as? Double)
        XCTAssertEqual(obj["baseline"] as? Bool, false)
        XCTAssertFalse(r.stdout.contains("\u{1B}"))
    }

    func testNoProgressEscapeCodesWhenNotATerminal() throws {
        let cwd = try makeTempDirectory()
        let r = try runPlughost(["run", Self.quickstartPath, "--engine", "memory"], cwd: cwd)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("\u{1B}"), "escape codes on stderr: \(r.stderr.debugDescription)")
        XCTAssertFalse(r.stdout.contains("\u{1B}"), "escape codes on stdout")
        XCTAssertFalse(r.stderr.contains("\r"), "carriage returns on stderr: \(r.stderr.debugDescription)")
        XCTAssertFalse(r.stderr.contains("[1/2]"), "a progress line on stderr: \(r.stderr.debugDescription)")
    }

    func testBaselineGivesTheSameClusters() throws {
        let cwd = try makeTempDirectory()
        func clusters(_ extra: [String]) throws -> [[String]] {
            let r = try runPlughost(["run", Self.quickstartPath, "--engine", "memory", "--json"] + extra, cwd: cwd)
            XCTAssertEqual(r.status, 0, r.stderr)
            let obj = try jsonObject(r.stdout)
            XCTAssertEqual(obj["baseline"] as? Bool, extra.contains("--baseline"))
            let list = try XCTUnwrap(obj["clusters"] as? [[String: Any]])
            return list.compactMap { $0["concepts"] as? [String] }.map { $0.sorted() }.sorted { $0.lexicographicallyPrecedes($1) }
        }
        let optimized = try clusters([]), baseline = try clusters(["--baseline"])
        XCTAssertFalse(optimized.isEmpty)
        XCTAssertEqual(optimized, baseline)
        checkQuickstartClusters(baseline)

        // In process too.
        let h1 = try makeHost()
        defer { try? h1.close() }
        let h2 = try makeHost(configuration: .baseline)
        defer { try? h2.close() }
        let a = try runInProcess(Self.quickstartPath, host: h1), b = try runInProcess(Self.quickstartPath, host: h2)
        XCTAssertFalse(a.baseline)
        XCTAssertTrue(b.baseline)
        XCTAssertEqual(a.clusters.map(\.concepts), b.clusters.map(\.concepts))
        XCTAssertEqual(try output(a, "summaries"), try output(b, "summaries"))
    }
}
