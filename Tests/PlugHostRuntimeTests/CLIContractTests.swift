import Foundation
import PlugHostTestSupport
import XCTest

/// The CLI's contract with scripts and people: one exit-status table, a JSON error object for
/// every command with `--json`, "did you mean", POSIX `--`, `@file`, `-` and `--args`, and where
/// the memory lives by convention.
final class CLIContractTests: XCTestCase {
    private var dir: URL!
    private var env: [String: String] = [:]

    override func setUpWithError() throws {
        dir = try TestSupport.makeTempDirectory(for: self)
        env = TestSupport.environment(["XDG_DATA_HOME": dir.appendingPathComponent("xdg").path, "PLUGHOST_DB": nil])
    }

    private func plughost(_ args: [String], in cwd: URL? = nil, env extra: [String: String] = [:]) throws -> TestSupport.ProcessResult {
        try TestSupport.runPlughost(args, cwd: cwd ?? dir, environment: env.merging(extra) { $1 })
    }

    private func json(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let data = Data(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any], text, file: file, line: line)
    }

    private var userStore: String { dir.appendingPathComponent("xdg/plughost/memory.sqlite").path }

    // MARK: - Exit statuses

    func testEachExitStatusClass() throws {
        let db = dir.appendingPathComponent("m.sqlite").path
        // 0: success.
        XCTAssertEqual(try plughost(["call", "text", "word_count", "a b c"]).status, 0)
        // 1: the plugin reported an error (sig.fail reports its message as the error).
        let failed = try plughost(["call", "sig", "fail", "boom", "--db", db])
        XCTAssertEqual(failed.status, 1, failed.description)
        // 2: invalid arguments, an unknown command, an unknown option, an invalid pipeline.
        for args in [["call", "text", "word_count"], ["insepct", "text"], ["stats", "--jsno"], ["run", "/nonexistent.yaml"]] {
            let r = try plughost(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r)")
        }
        // 3: storage: no memory yet for a reading command; a server that does not answer.
        XCTAssertEqual(try plughost(["memory", "clusters"]).status, 3)
        let pg = try plughost(["stats"], env: ["PLUGHOST_DB": "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"])
        XCTAssertEqual(pg.status, 3, pg.description)
        // 4: a plugin that is not there.
        XCTAssertEqual(try plughost(["inspect", "no_such_plugin"]).status, 4)
        // 5: what the command names does not exist.
        XCTAssertEqual(try plughost(["call", "text", "keywords", "alpha alpha beta", "1", "--db", db]).status, 0)
        let forget = try plughost(["memory", "forget", "no-such-id", "--db", db])
        XCTAssertEqual(forget.status, 5, forget.description)
        XCTAssertTrue(forget.stderr.contains("no memory with id no-such-id"), forget.stderr)
        XCTAssertFalse(forget.stderr.contains("Usage:"), "a runtime condition prints no usage: \(forget.stderr)")
    }

    func testValidationErrorsShowTheSubcommandsUsage() throws {
        let r = try plughost(["memory", "recall", "--goal", "g"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("Usage: plughost memory recall"), r.stderr)
        XCTAssertTrue(r.stderr.contains("See 'plughost memory recall --help'"), r.stderr)
        let call = try plughost(["call", "text", "keywords", "--args", "{}", "extra"])
        XCTAssertEqual(call.status, 2)
        XCTAssertTrue(call.stderr.contains("Usage: plughost call"), call.stderr)
    }

    func testDidYouMean() throws {
        let r = try plughost(["insepct", "text"])
        XCTAssertTrue(r.stderr.contains("'insepct' is not a plughost command. Did you mean 'inspect'?"), r.stderr)
        let m = try plughost(["memory", "forgt", "x"])
        XCTAssertEqual(m.status, 2)
        XCTAssertTrue(m.stderr.contains("Did you mean 'forget'?"), m.stderr)
        let f = try plughost(["call", "text", "keyword", "x", "1"])
        XCTAssertEqual(f.status, 2)
        XCTAssertTrue(f.stderr.contains("Did you mean keywords?"), f.stderr)
    }

    // MARK: - --json failures

    func testEveryCommandPrintsAJSONErrorObjectWithJSON() throws {
        let missing = dir.appendingPathComponent("none.sqlite").path
        let cases: [(args: [String], status: Int, command: String)] = [
            (["run", "/nonexistent.yaml"], 2, "run"),
            (["inspect", "no_such_plugin"], 4, "inspect"),
            (["call", "text", "word_count"], 2, "call"),
            (["stats", "--db", missing], 3, "stats"),
            (["init", "/nonexistent/dir"], 2, "init"),
            (["memory", "clusters", "--db", missing], 3, "memory clusters"),
            (["memory", "recall", "--goal", "g", "--concept", "c", "--db", missing], 3, "memory recall"),
            (["memory", "forget", "x", "--db", missing], 5, "memory forget"),
            (["memory", "graph", "--goal", "g", "--db", missing], 3, "memory graph"),
            (["memory", "export", "--db", missing], 3, "memory export"),
            (["memory", "backup", "b.sqlite", "--db", missing], 3, "memory backup"),
            (["memory", "replay", "/nonexistent.jsonl", "--engine", "memory"], 2, "memory replay"),
            (["memory", "release-context", "--goal", "g", "--plugin", "p", "--engine", "memory"], 5, "memory release-context"),
            (["quarantine", "release", "0123456789abcdef"], 5, "quarantine release"),
            (["tools", "no_such_plugin"], 4, "tools"),
            (["mcp", "no_such_plugin", "--engine", "memory"], 4, "mcp"),
        ]
        for c in cases {
            let r = try plughost(c.args + ["--json"], env: ["PLUGHOST_STATE_DIR": dir.appendingPathComponent("state").path])
            XCTAssertEqual(Int(r.status), c.status, "\(c.args): \(r)")
            let o = try json(r.stdout)
            XCTAssertEqual(o["exit_code"] as? Int, c.status, "\(c.args)")
            XCTAssertEqual(o["command"] as? String, c.command, "\(c.args)")
            let error = try XCTUnwrap(o["error"] as? [String: Any], "\(c.args): \(r.stdout)")
            XCTAssertFalse((error["message"] as? String ?? "").isEmpty, "\(c.args)")
            XCTAssertNotNil(error["kind"] as? String, "\(c.args)")
            XCTAssertTrue(r.stderr.contains("Error: "), "people still get the message on stderr: \(c.args)")
        }
    }

    // MARK: - Arguments

    func testDoubleDashAtFileStdinAndArgs() throws {
        // After --, a word starting with '-' is an argument; -- itself is not one.
        let dash = try plughost(["call", "text", "word_count", "--", "--json counts as text"])
        XCTAssertEqual(dash.status, 0, dash.description)
        XCTAssertEqual(dash.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "4")
        // @file and @@.
        let file = dir.appendingPathComponent("words.txt")
        try "one two three four five".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(try plughost(["call", "text", "word_count", "@\(file.path)"]).stdout, "5\n")
        XCTAssertEqual(try plughost(["call", "text", "word_count", "@@not a file"]).stdout, "3\n")
        let none = try plughost(["call", "text", "word_count", "@/nonexistent/x.txt"])
        XCTAssertEqual(none.status, 2)
        XCTAssertTrue(none.stderr.contains("cannot read /nonexistent/x.txt"), none.stderr)
        // - is standard input.
        let exe = try TestSupport.plughostExecutable()
        let piped = try TestSupport.run(
            "/bin/sh", ["-c", "printf 'six seven' | '\(exe)' call text word_count -"], cwd: dir, environment: env)
        XCTAssertEqual(piped.stdout, "2\n", piped.description)
        // --args: named, positional array, and errors naming the parameter.
        let named = try plughost(["call", "text", "word_count", "--args", #"{"text": "a b"}"#, "--json"])
        XCTAssertEqual(try json(named.stdout)["result"] as? Int, 2, named.description)
        XCTAssertEqual(try plughost(["call", "text", "word_count", "--args", #"["x y z"]"#]).stdout, "3\n")
        let unknown = try plughost(["call", "text", "word_count", "--args", #"{"txt": "a"}"#])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("no parameter txt") && unknown.stderr.contains("Did you mean text?"), unknown.stderr)
    }

    // MARK: - Where the memory lives

    func testPureCallsAndReadsCreateNoMemory() throws {
        XCTAssertEqual(try plughost(["call", "text", "word_count", "a b"]).status, 0)
        XCTAssertEqual(try plughost(["stats"]).status, 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("xdg").path), "nothing created")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent(".plughost").path))
        // A call that writes creates the per-user store.
        XCTAssertEqual(try plughost(["call", "text", "keywords", "garden tomato garden", "1"]).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: userStore))
    }

    func testTheNearestProjectFolderUpFromHereElseThePerUserStore() throws {
        let project = dir.appendingPathComponent("project")
        let deep = project.appendingPathComponent("a/b/c")
        try FileManager.default.createDirectory(at: deep, withIntermediateDirectories: true)
        let initResult = try plughost(["init", "--json"], in: project)
        XCTAssertEqual(initResult.status, 0, initResult.description)
        let projectDB = project.appendingPathComponent(".plughost/memory.sqlite").path
        XCTAssertEqual(try json(initResult.stdout)["database_path"] as? String, projectDB)
        // A write three folders down lands in the project's memory…
        XCTAssertEqual(try plughost(["call", "text", "keywords", "orchard apple orchard", "1", "--goal", "g"], in: deep).status, 0)
        let stats = try plughost(["stats", "--json"], in: deep)
        XCTAssertEqual(try json(stats.stdout)["database_path"] as? String, projectDB, stats.stdout)
        // …and a write outside the project in the per-user store, after a cd.
        XCTAssertEqual(try plughost(["call", "text", "keywords", "harbour boat harbour", "1", "--goal", "g"]).status, 0)
        let user = try plughost(["stats", "--json"])
        XCTAssertEqual(try json(user.stdout)["database_path"] as? String, userStore, user.stdout)
        // Each holds its own goal context: the project's keyword is not in the user store.
        let recall = try plughost(["memory", "recall", "--goal", "g", "--concept", "orchard", "--json"], in: deep)
        XCTAssertTrue(recall.stdout.contains("orchard apple orchard"), recall.description)
        let elsewhere = try plughost(["memory", "recall", "--goal", "g", "--concept", "orchard", "--json"])
        XCTAssertFalse(elsewhere.stdout.contains("orchard apple orchard"), elsewhere.description)
        // init again changes nothing.
        XCTAssertEqual(try json(try plughost(["init", "--json"], in: project).stdout)["created"] as? Bool, false)
    }

    func testTheEngineIsInferredFromTheLocationAndAContradictionIsAnError() throws {
        let url = "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"
        // PLUGHOST_DB alone selects PostgreSQL (it fails to connect: storage), never a local file.
        let viaEnv = try plughost(["call", "text", "keywords", "a b", "1"], env: ["PLUGHOST_DB": url])
        XCTAssertEqual(viaEnv.status, 3, viaEnv.description)
        XCTAssertTrue(viaEnv.stderr.contains("PostgreSQL"), viaEnv.stderr)
        // --db URL without --engine: PostgreSQL, and no folder named "postgres:".
        let viaFlag = try plughost(["stats", "--db", url])
        XCTAssertEqual(viaFlag.status, 3, viaFlag.description)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("postgres:").path))
        // Contradictions name both sides.
        let a = try plughost(["stats", "--engine", "sqlite", "--db", url])
        XCTAssertEqual(a.status, 2)
        XCTAssertTrue(a.stderr.contains("--engine sqlite contradicts --db"), a.stderr)
        let secret = try plughost(["stats", "--engine", "sqlite", "--db", "postgres://me:hunter2@127.0.0.1:1/none"])
        XCTAssertEqual(secret.status, 2)
        XCTAssertFalse(secret.stderr.contains("hunter2"), "a password is never printed: \(secret.stderr)")
        let b = try plughost(["stats", "--engine", "postgres"], env: ["PLUGHOST_DB": dir.appendingPathComponent("x.sqlite").path])
        XCTAssertEqual(b.status, 2)
        XCTAssertTrue(b.stderr.contains("contradicts PLUGHOST_DB"), b.stderr)
        let c = try plughost(["stats", "--engine", "memory", "--db", "x.sqlite"])
        XCTAssertEqual(c.status, 2)
        // An unknown engine is refused by the option's enumeration, with the values.
        let d = try plughost(["stats", "--engine", "mongo"])
        XCTAssertEqual(d.status, 2)
        XCTAssertTrue(d.stderr.contains("sqlite") && d.stderr.contains("postgres"), d.stderr)
    }

    func testHelpListsTheExitStatusesAndCompletionListsValues() throws {
        let help = try plughost(["--help"])
        XCTAssertTrue(help.stdout.contains("Exit status:"), help.stdout)
        XCTAssertTrue(help.stdout.contains("3   the memory could not be opened"), help.stdout)
        let bash = try plughost(["--generate-completion-script", "bash"])
        XCTAssertEqual(bash.status, 0)
        XCTAssertTrue(bash.stdout.contains("'sqlite'$'\\n''postgres'$'\\n''memory'"), "engines completed by value")
        // What the script runs to complete a plugin name (bash's words: plughost inspect te).
        let names = try plughost(["---completion", "inspect", "--", "positional@0", "2", "2", "plughost", "inspect", "te"])
        XCTAssertTrue(names.stdout.contains("text"), "plugin names completed: \(names)")
    }
}
