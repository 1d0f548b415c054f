import Foundation
import XCTest

import PlugHostTestSupport

/// plughost's logs through swift-log, seen from the built `plughost`: the level (default
/// warning, -v, --log-level, PLUGHOST_LOG), the text and JSON formats, and the metadata plugin
/// log lines carry (plugin; step and item in a pipeline), in-process and in process isolation.
final class LoggingTests: XCTestCase {
    private static let isolations = ["in-process", "process"]

    /// `plughost ARGS` with PLUGHOST_LOG and PLUGHOST_LOG_FORMAT unset unless `env` sets them.
    private func plughost(_ args: [String], env: [String: String?] = [:], cwd: URL? = nil) throws -> TestSupport.ProcessResult {
        var changes: [String: String?] = ["PLUGHOST_LOG": nil, "PLUGHOST_LOG_FORMAT": nil]
        changes.merge(env) { _, new in new }
        let r = try TestSupport.runPlughost(args, cwd: cwd, environment: TestSupport.environment(changes))
        XCTAssertFalse(r.timedOut, "plughost \(args) timed out")
        return r
    }

    /// `plughost call loud.so say TEXT` in `isolation` with `extra` options.
    private func say(
        _ text: String, isolation: String, _ extra: [String] = [], env: [String: String?] = [:]
    ) throws
        -> TestSupport.ProcessResult
    {
        let r = try plughost(
            ["call", try TestSupport.fixture("loud"), "say", text, "--engine", "memory", "--isolation", isolation] + extra, env: env)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout, "\(text.utf8.count)\n")
        return r
    }

    private func lines(_ stderr: String) -> [String] { stderr.split(separator: "\n").map(String.init) }

    func testDefaultLevelIsWarning() throws {
        for isolation in Self.isolations {
            let r = try say("hi", isolation: isolation)
            let shown = lines(r.stderr)
            XCTAssertTrue(shown.contains("plughost[warning] loud: warn hi"), "\(isolation): \(r.stderr)")
            XCTAssertTrue(shown.contains("plughost[error] loud: error hi"), "\(isolation): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("info hi"), "\(isolation): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("loud ready"), "\(isolation): \(r.stderr)")
        }
    }

    func testVerboseShowsInfoTaggedWithThePlugin() throws {
        for isolation in Self.isolations {
            let r = try say("hi", isolation: isolation, ["-v"])
            let shown = lines(r.stderr)
            XCTAssertTrue(shown.contains("plughost[info] loud: info hi"), "\(isolation): \(r.stderr)")
            // What init logs (a NULL context) is the plugin's too.
            XCTAssertTrue(shown.contains("plughost[info] loud: loud ready"), "\(isolation): \(r.stderr)")
            XCTAssertTrue(shown.contains("plughost[warning] loud: warn hi"), "\(isolation): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("debug hi"), "\(isolation): \(r.stderr)")

            let debug = try say("hi", isolation: isolation, ["-vv"])
            XCTAssertTrue(lines(debug.stderr).contains("plughost[debug] loud: debug hi"), "\(isolation): \(debug.stderr)")
        }
    }

    func testLogLevelOptionAndItsEnvironmentDefault() throws {
        for isolation in Self.isolations {
            let debug = try say("hi", isolation: isolation, ["--log-level", "debug"])
            XCTAssertTrue(lines(debug.stderr).contains("plughost[debug] loud: debug hi"), "\(isolation): \(debug.stderr)")

            let error = try say("hi", isolation: isolation, ["--log-level", "error"])
            XCTAssertEqual(lines(error.stderr), ["plughost[error] loud: error hi"], "\(isolation)")

            // PLUGHOST_LOG (with its old name warn, too) is the default; the option wins over it.
            let env = try say("hi", isolation: isolation, env: ["PLUGHOST_LOG": "info"])
            XCTAssertTrue(lines(env.stderr).contains("plughost[info] loud: info hi"), "\(isolation): \(env.stderr)")
            XCTAssertFalse(env.stderr.contains("debug hi"), "\(isolation): \(env.stderr)")
            let warn = try say("hi", isolation: isolation, env: ["PLUGHOST_LOG": "warn"])
            XCTAssertFalse(warn.stderr.contains("info hi"), "\(isolation): \(warn.stderr)")
            let over = try say("hi", isolation: isolation, ["--log-level", "error"], env: ["PLUGHOST_LOG": "debug"])
            XCTAssertFalse(over.stderr.contains("warn hi"), "\(isolation): \(over.stderr)")
        }
    }

    func testBadLevelsAndFormatsAreRefused() throws {
        let loud = try TestSupport.fixture("loud")
        let bad = try plughost(["call", loud, "say", "x", "--engine", "memory", "--log-level", "loud"])
        XCTAssertNotEqual(bad.status, 0)
        for level in ["trace", "debug", "info", "notice", "warning", "error", "critical"] {
            XCTAssertTrue(bad.stderr.contains("- \(level)\n"), "\(level) not offered: \(bad.stderr)")
        }
        let env = try plughost(["call", loud, "say", "x", "--engine", "memory"], env: ["PLUGHOST_LOG": "loud"])
        XCTAssertNotEqual(env.status, 0)
        XCTAssertTrue(env.stderr.contains("PLUGHOST_LOG=loud is not a log level"), env.stderr)
        let format = try plughost(["call", loud, "say", "x", "--engine", "memory"], env: ["PLUGHOST_LOG_FORMAT": "xml"])
        XCTAssertNotEqual(format.status, 0)
        XCTAssertTrue(format.stderr.contains("PLUGHOST_LOG_FORMAT=xml is not a log format"), format.stderr)
        let help = try plughost(["call", "--help"])
        for text in ["--log-level", "--log-format", "-v, --verbose", "PLUGHOST_LOG", "PLUGHOST_LOG_FORMAT"] {
            XCTAssertTrue(help.stdout.contains(text), "help lacks \(text): \(help.stdout)")
        }
    }

    /// What a process-isolated plugin prints on standard output is logged at info, tagged.
    func testWorkerOutputIsLoggedAsThePlugins() throws {
        let loud = try TestSupport.fixture("loud")
        let r = try plughost(["call", loud, "print", "hey", "--engine", "memory", "--isolation", "process", "-v"])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout, "3\n")
        XCTAssertTrue(lines(r.stderr).contains("plughost[info] loud: stdout hey"), r.stderr)
    }

    /// `--log-format json` (and PLUGHOST_LOG_FORMAT=json): every stderr line is a JSON object;
    /// in a pipeline foreach with parallel items, each plugin line names its plugin, step and item.
    func testJSONLinesCarryPluginStepAndItemInAParallelForeach() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let loud = try TestSupport.fixture("loud")
        let count = 12
        try (1...count).map { "word\($0)\n" }.joined().write(to: dir.appendingPathComponent("words.txt"), atomically: true, encoding: .utf8)
        for isolation in Self.isolations {
            let pipeline = dir.appendingPathComponent("loud-\(isolation).yaml")
            try """
            name: loud
            goal: loud
            plugins: {loud: {path: "\(loud)", isolation: \(isolation)}}
            steps:
              - id: shout
                call: loud.say
                foreach: {lines: words.txt}
                parallel: 4
                args: {text: "${item}"}
            outputs:
              lengths: ${steps.shout}
            """.write(to: pipeline, atomically: true, encoding: .utf8)
            for (options, env) in [(["--log-format", "json", "-v"], [:]), (["-v"], ["PLUGHOST_LOG_FORMAT": "json"])]
                as [([String], [String: String?])]
            {
                let r = try plughost(["run", pipeline.path, "--engine", "memory", "--quiet", "--no-journal"] + options, env: env, cwd: dir)
                XCTAssertEqual(r.status, 0, "\(isolation) \(options): \(r)")
                var items: [Int: String] = [:]
                for line in lines(r.stderr) {
                    let object = try XCTUnwrap(
                        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
                    for key in ["time", "level", "label", "message"] {
                        XCTAssertNotNil(object[key] as? String, "\(key) missing: \(line)")
                    }
                    let time = try XCTUnwrap(object["time"] as? String)
                    XCTAssertNotNil(try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(time), "time \(time)")
                    XCTAssertTrue(time.hasSuffix("Z"), time)
                    guard let message = object["message"] as? String, message.hasPrefix("info word") else { continue }
                    XCTAssertEqual(object["level"] as? String, "info", line)
                    XCTAssertEqual(object["label"] as? String, "plughost.plugin", line)
                    XCTAssertEqual(object["plugin"] as? String, "loud", line)
                    XCTAssertEqual(object["step"] as? String, "shout", line)
                    let item = try XCTUnwrap(object["item"] as? Int, "item is not a number: \(line)")
                    XCTAssertNil(items[item], "item \(item) logged twice")
                    items[item] = String(message.dropFirst("info ".count))
                }
                // Item N (from 1) logged the Nth line of words.txt, whichever thread ran it.
                XCTAssertEqual(items, Dictionary(uniqueKeysWithValues: (1...count).map { ($0, "word\($0)") }), "\(isolation): \(r.stderr)")
            }
        }
    }
}
