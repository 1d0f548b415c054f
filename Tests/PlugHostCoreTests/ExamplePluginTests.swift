import Foundation
import CPlugHostABI
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPostgres
@testable import PlugHostPipeline
@testable import PlugHostTools

/// The third-party example plugins of examples/plugins/{c,swift,rust}, built with their own
/// build commands, loaded through the loader and called; and a plugin written in the test from
/// the header alone.
final class ExamplePluginTests: XCTestCase {
    private var examples: URL { TestSupport.repoRoot.appendingPathComponent("examples/plugins") }

    /// Runs a build command and fails with its output when it fails.
    private func build(
        _ tool: String, _ args: [String], in dir: URL, environment: [String: String]? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let r = try TestSupport.run(tool, args, cwd: dir, environment: environment, timeout: 900)
        guard r.status == 0 else {
            throw TestSupportError("\(tool) \(args.joined(separator: " ")) in \(dir.path) failed: \(r)")
        }
    }

    /// Loads the plugin at `path` through the loader and checks add, shout and remember.
    private func exercise(_ path: String, name: String, source: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "\(path) was not built", file: file, line: line)
        let memory = try MemoryService(engine: InMemoryEngine())
        let p = try PluginLoader.load(path: path, services: memory)
        defer { p.shutdown() }
        XCTAssertEqual(p.name, name, file: file, line: line)
        XCTAssertEqual(p.version, "1.0.0", file: file, line: line)
        XCTAssertEqual(p.abiMajor, 1, file: file, line: line)
        XCTAssertEqual(p.functions.map(\.name), ["add", "shout", "remember"], file: file, line: line)
        XCTAssertEqual(p.function(named: "add")?.signature, "int64_t add(int64_t a, int64_t b)", file: file, line: line)
        XCTAssertEqual(p.function(named: "add")?.threadSafe, true, file: file, line: line)
        XCTAssertEqual(
            p.function(named: "shout")?.signature, "const char *shout(const ph_call_context *ctx, const char *text)", file: file, line: line
        )
        XCTAssertEqual(
            p.function(named: "remember")?.signature, "int32_t remember(const ph_call_context *ctx, const char *text)", file: file,
            line: line)

        // Parameter metadata (ABI 1.1), the same in the three languages.
        XCTAssertEqual(
            p.function(named: "add")?.parameters.map(\.description), ["the first addend", "the second addend"], file: file, line: line)
        XCTAssertEqual(p.function(named: "add")?.resultDoc, "the sum, wrapped to int64", file: file, line: line)
        XCTAssertEqual(p.function(named: "shout")?.parameters.first?.description, "the text to upper-case", file: file, line: line)
        XCTAssertEqual(p.function(named: "shout")?.resultDoc, "the text with its ASCII letters upper-cased", file: file, line: line)
        XCTAssertEqual(
            p.function(named: "remember")?.parameters.first?.description,
            "a note; its distinct words of 4 or more characters (the first 8) become its concepts", file: file, line: line)
        XCTAssertEqual(p.function(named: "remember")?.resultDoc, "how many concepts the stored memory has (0 to 8)", file: file, line: line)

        XCTAssertEqual(try p.call("add", [.int(40), .int(2)]), .int(42), file: file, line: line)
        XCTAssertEqual(try p.call("add", [.int(-40), .int(-2)]), .int(-42), file: file, line: line)
        XCTAssertEqual(try p.call("add", [.int(Int64.max), .int(1)]), .int(Int64.min), "wraps", file: file, line: line)

        XCTAssertEqual(try p.call("shout", [.string("hello, world")]), .string("HELLO, WORLD"), file: file, line: line)
        XCTAssertEqual(try p.call("shout", [.string("")]), .string(""), file: file, line: line)
        XCTAssertEqual(
            try p.call("shout", [.string("grüße, café 42")]), .string("GRüßE, CAFé 42"), "only ASCII letters change", file: file, line: line
        )
        let long = String(repeating: "abc", count: 100_000)
        XCTAssertEqual(try p.call("shout", [.string(long)]), .string(long.uppercased()), file: file, line: line)

        XCTAssertEqual(try p.call("remember", [.string("Plugins remember useful things")], goal: "demo"), .int(4), file: file, line: line)
        let recalled = try memory.recall(goal: "demo", .concept("useful"))
        XCTAssertEqual(recalled.count, 1, file: file, line: line)
        let m = try XCTUnwrap(recalled.first?.memory, file: file, line: line)
        XCTAssertEqual(m.content, "Plugins remember useful things", file: file, line: line)
        XCTAssertEqual(m.plugin, name, file: file, line: line)
        XCTAssertEqual(Set(m.concepts), ["plugins", "remember", "useful", "things"], file: file, line: line)
        XCTAssertEqual(
            m.metadata.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }, ["source": source],
            file: file, line: line)
        // Distinct words of 4+ characters (counted in characters), first 8.
        XCTAssertEqual(
            try p.call(
                "remember", [.string("The quick brown Fox jumps over the lazy dog; the QUICK fox sleeps. Straße café naïve extra")],
                goal: "demo"),
            .int(8), file: file, line: line)
        XCTAssertEqual(try memory.recall(goal: "demo", .concept("straße")).count, 1, file: file, line: line)
        XCTAssertEqual(try memory.recall(goal: "demo", .concept("naïve")).count, 0, "the 9th word is not kept", file: file, line: line)
        XCTAssertEqual(try p.call("remember", [.string("a bb ccc")], goal: "demo"), .int(0), file: file, line: line)
        XCTAssertTrue(try memory.recall(goal: "other", .concept("useful")).isEmpty, file: file, line: line)
        try memory.close()
    }

    func testCExample() throws {
        let dir = examples.appendingPathComponent("c")
        // -B: always rebuild, so the test checks today's source.
        try build("make", ["-B"], in: dir)
        try exercise(dir.appendingPathComponent("libhello_c.so").path, name: "hello_c", source: "hello_c")
        // The README's CLI lines work too.
        let so = dir.appendingPathComponent("libhello_c.so").path
        XCTAssertEqual(try TestSupport.runPlughost(["call", so, "add", "40", "2", "--engine", "memory"]).stdout, "42\n")
        XCTAssertEqual(try TestSupport.runPlughost(["call", so, "shout", "hello, world", "--engine", "memory"]).stdout, "HELLO, WORLD\n")
        XCTAssertEqual(
            try TestSupport.runPlughost(["call", so, "remember", "Plugins remember useful things", "--goal", "demo", "--engine", "memory"])
                .stdout, "4\n")
    }

    func testSwiftExample() throws {
        let dir = examples.appendingPathComponent("swift")
        let so = dir.appendingPathComponent("libhello_swift.so")
        try? FileManager.default.removeItem(at: so)
        try build("sh", [dir.appendingPathComponent("build.sh").path], in: dir)
        try exercise(so.path, name: "hello_swift", source: "hello_swift")
    }

    func testRustExample() throws {
        guard let cargo = TestSupport.resolveExecutable("cargo") else {
            throw XCTSkip("cargo not found: neither in PATH (\(ProcessInfo.processInfo.environment["PATH"] ?? "")) nor in ~/.cargo/bin")
        }
        let dir = examples.appendingPathComponent("rust")
        // Make sure cargo's own tools (rustc) are found when cargo came from ~/.cargo/bin.
        let path = ((cargo as NSString).deletingLastPathComponent) + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        try build(cargo, ["build", "--release", "--offline"], in: dir, environment: TestSupport.environment(["PATH": path]))
        try exercise(dir.appendingPathComponent("target/release/libhello_rust.so").path, name: "hello_rust", source: "hello_rust")
    }

    /// A plugin written here from nothing but plughost.h, compiled with `cc -shared -fPIC`, run
    /// through `plughost call`.
    func testPluginFromTheHeaderAloneThroughTheCLI() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let source = try TestSupport.write(
            """
            #include "plughost/plughost.h"
            #include <string.h>

            static int64_t mul(int32_t a, int32_t b) { return (int64_t)a * (int64_t)b; }
            static double avg3(double a, double b, double c) { return (a + b + c) / 3.0; }
            static const char *echo(const ph_call_context *ctx, const char *s) {
                size_t n = strlen(s);
                char *out = ctx->host->alloc(n + 3);
                if (!out) { ctx->host->set_error(ctx, "echo: out of memory"); return NULL; }
                out[0] = '[';
                memcpy(out + 1, s, n);
                out[n + 1] = ']';
                out[n + 2] = '\\0';
                return out;
            }
            static int32_t refuse(const ph_call_context *ctx, int32_t code) {
                ctx->host->set_error(ctx, code == 7 ? "tiny: seven is not allowed" : "tiny: refused");
                return -1;
            }

            static const uint32_t mul_t[] = {PH_TYPE_INT32, PH_TYPE_INT32};
            static const char *const mul_n[] = {"a", "b"};
            static const uint32_t avg_t[] = {PH_TYPE_DOUBLE, PH_TYPE_DOUBLE, PH_TYPE_DOUBLE};
            static const char *const avg_n[] = {"a", "b", "c"};
            static const uint32_t echo_t[] = {PH_TYPE_STRING};
            static const char *const echo_n[] = {"s"};
            static const uint32_t refuse_t[] = {PH_TYPE_INT32};
            static const char *const refuse_n[] = {"code"};

            static const ph_function f_mul = {sizeof(ph_function), "mul", "a * b", (void (*)(void))mul,
                PH_TYPE_INT64, 2, mul_t, mul_n, PH_FN_THREAD_SAFE, 0};
            static const ph_function f_avg = {sizeof(ph_function), "avg3", "mean of three", (void (*)(void))avg3,
                PH_TYPE_DOUBLE, 3, avg_t, avg_n, PH_FN_THREAD_SAFE, 0};
            static const ph_function f_echo = {sizeof(ph_function), "echo", "[s]", (void (*)(void))echo,
                PH_TYPE_STRING, 1, echo_t, echo_n, PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC, 0};
            static const ph_function f_refuse = {sizeof(ph_function), "refuse", "always fails", (void (*)(void))refuse,
                PH_TYPE_INT32, 1, refuse_t, refuse_n, PH_FN_TAKES_CONTEXT, 0};
            static const ph_function *const fns[] = {&f_mul, &f_avg, &f_echo, &f_refuse};
            static const ph_plugin plugin = {sizeof(ph_plugin), PLUGHOST_ABI_MAJOR, PLUGHOST_ABI_MINOR, 0,
                "tiny", "0.1.0", "written in a test", 4, fns, NULL, NULL, NULL};
            PLUGHOST_DECLARE_ENTRY() { return &plugin; }

            """, to: dir, "tiny.c")
        let so = dir.appendingPathComponent("libtiny.so").path
        let cc = try TestSupport.run("cc", ["-shared", "-fPIC", "-I\(TestSupport.includeDirectory)", "-o", so, source])
        XCTAssertEqual(cc.status, 0, "\(cc)")

        func call(_ args: [String], cwd: URL? = nil) throws -> TestSupport.ProcessResult {
            try TestSupport.runPlughost(["call"] + args + ["--engine", "memory"], cwd: cwd)
        }
        var r = try call([so, "mul", "6", "7"])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout, "42\n")
        r = try call([so, "mul", "-2147483648", "2147483647"])
        XCTAssertEqual(r.stdout, "-4611686016279904256\n", "\(r)")
        r = try call([so, "avg3", "1", "2", "4.5"])
        XCTAssertEqual(r.stdout, "2.5\n", "\(r)")
        r = try call([so, "echo", "snow ☃"])
        XCTAssertEqual(r.stdout, "[snow ☃]\n", "\(r)")
        // By bare name from --plugin-dir, and as a path relative to the working folder.
        r = try TestSupport.runPlughost(["call", "tiny", "mul", "3", "5", "--engine", "memory", "--plugin-dir", dir.path])
        XCTAssertEqual(r.stdout, "15\n", "\(r)")
        r = try call(["./libtiny.so", "mul", "3", "4"], cwd: dir)
        XCTAssertEqual(r.stdout, "12\n", "\(r)")
        // Its own error, and a range error before the call.
        r = try call([so, "refuse", "7"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("tiny.refuse: tiny: seven is not allowed"), "\(r)")
        r = try call([so, "mul", "2147483648", "1"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("out of range for int32"), "\(r)")
        // inspect shows what the header declared.
        let inspect = try TestSupport.runPlughost(["inspect", so])
        XCTAssertTrue(inspect.stdout.hasPrefix("tiny 0.1.0 (plugin ABI 1.\(PLUGHOST_ABI_MINOR))\nwritten in a test\n"), "\(inspect)")
        XCTAssertTrue(inspect.stdout.contains("  double avg3(double a, double b, double c);  [thread-safe]"), "\(inspect)")
    }
}
