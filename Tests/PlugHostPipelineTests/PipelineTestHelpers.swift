import Foundation
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostPipeline

/// More shared support for the pipeline tests of issue 17 (parallel runs, resilience, resume,
/// operating the CLI): generated input files, cluster digests, processes started in the
/// background and runs under a pseudo-terminal.
extension PipelineTestCase {
    /// `n` distinct lines over five topics of eight words each, the same every time, so that
    /// keywords and summaries build several clusters.
    static func generatedLines(_ n: Int) -> String {
        let topics = [
            ["basil", "tomato", "seedlings", "soil", "greenhouse", "watering", "leaves", "compost"],
            ["espresso", "coffee", "grinder", "crema", "beans", "water", "roast", "tamper"],
            ["sqlite", "database", "index", "query", "table", "column", "journal", "write"],
            ["bees", "honey", "hive", "pollen", "lavender", "nectar", "swarm", "clover"],
            ["bicycle", "chain", "gears", "saddle", "brakes", "tyres", "pedals", "frame"],
        ]
        return (0..<n).map { i in
            let t = topics[i % topics.count]
            let w = [1, 2, 3, 5].map { t[(i * $0 + i / 5) % t.count] }
            return "Note \(i): the \(w[0]) and the \(w[1]) need the \(w[2]), while the \(w[3]) waits."
        }.joined(separator: "\n") + "\n"
    }

    /// The digest `plughost memory clusters --db FILE` prints (all goals' clusters, canonical).
    func clusterDigest(_ db: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try runPlughost(["memory", "clusters", "--db", db], file: file, line: line)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let digest = r.stdout.split(separator: "\n").last { $0.hasPrefix("digest ") }.map { String($0.dropFirst(7)) }
        return try XCTUnwrap(digest, "no digest line in \(r.stdout)", file: file, line: line)
    }

    /// The compiled `flaky` fixture plugin (Tests/Fixtures/plugins/flaky.c).
    func flakyPlugin() throws -> String { try TestSupport.fixture("flaky") }

    /// A `plughost` started in the background; stdout and stderr go to files.
    struct Background {
        var process: Process
        var stdoutURL: URL
        var stderrURL: URL

        /// Waits for the process to end (at most `timeout` seconds, then kills it) and returns
        /// its status and output.
        func finish(timeout: Double = 120) -> ProcessResult {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            return ProcessResult(
                status: process.terminationStatus,
                stdout: (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "",
                stderr: (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "")
        }
    }

    /// Starts the real `plughost` with `arguments` in `cwd` without waiting for it.
    func startPlughost(_ arguments: [String], cwd: URL? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> Background {
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
        try out.close()
        try err.close()
        let pid = p.processIdentifier
        addTeardownBlock { if p.isRunning { kill(pid, SIGKILL) } }
        return Background(process: p, stdoutURL: outURL, stderrURL: errURL)
    }

    /// Polls until `path` has more than `lines` lines (true), or `timeout` seconds pass or
    /// `while` turns false (false).
    func waitForLines(
        _ path: String, moreThan lines: Int, timeout: Double = 60, while alive: () -> Bool = { true }
    ) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && alive() {
            if let data = FileManager.default.contents(atPath: path), data.filter({ $0 == UInt8(ascii: "\n") }).count > lines {
                return true
            }
            usleep(2_000)
        }
        return false
    }

    /// The one run journal in `dir/runs` (where `plughost run --db dir/F` keeps them).
    func journalFile(in dir: URL, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let runs = dir.appendingPathComponent("runs")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: runs.path))?.filter { $0.hasSuffix(".journal") } ?? []
        XCTAssertEqual(files.count, 1, "journals in \(runs.path): \(files)", file: file, line: line)
        return runs.appendingPathComponent(try XCTUnwrap(files.first, file: file, line: line)).path
    }

    /// util-linux `script`, which runs a command on a pseudo-terminal; nil when missing.
    static var scriptPath: String? {
        ["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `plughost ARGUMENTS` on a pseudo-terminal under `script -qfec`, with `environment`
    /// added; returns what the terminal showed (stdout and stderr together).
    func runOnTerminal(
        _ arguments: [String], cwd: URL, environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line
    ) throws -> ProcessResult {
        let script = try XCTUnwrap(Self.scriptPath, file: file, line: line)
        let exe = try XCTUnwrap(Self.executablePath, "cannot find the plughost executable", file: file, line: line)
        func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let command = ([exe] + arguments).map(quote).joined(separator: " ")
        let io = try makeTempDirectory()
        let outURL = io.appendingPathComponent("terminal")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: script)
        p.arguments = ["-qfec", command, "/dev/null"]
        p.currentDirectoryURL = cwd
        var env = ProcessInfo.processInfo.environment
        env["SHELL"] = "/bin/sh"
        for (k, v) in environment { env[k] = v }
        p.environment = TestSupport.hermetic(env)
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try out.close()
        return ProcessResult(
            status: p.terminationStatus, stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "", stderr: "")
    }

    /// `text` with every occurrence of `needle` counted.
    func occurrences(of needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }
}
