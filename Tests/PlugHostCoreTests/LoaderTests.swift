import CPlugHostABI
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

/// The loader against the fixture plugins of Tests/Fixtures/plugins (one defect each), and
/// the plugin search path.
final class LoaderTests: XCTestCase {
    private func services() throws -> MemoryService { try MemoryService(engine: InMemoryEngine()) }

    /// Loads `path` and returns the LoadError it must throw.
    private func loadError(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> LoadError? {
        let memory = try services()
        return TestSupport.expectError(LoadError.self, "loading \(path)", file: file, line: line) {
            try PluginLoader.load(path: path, services: memory)
        }
    }

    /// Checks the code, the path and that the message (and the description) says what is wrong.
    private func check(
        _ error: LoadError?, code: LoadError.Code, path: String, contains parts: [String],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        guard let error else { return }
        XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
        XCTAssertEqual(error.path, path, file: file, line: line)
        XCTAssertEqual(error.description, "cannot load plugin \(path): \(error.message)", file: file, line: line)
        XCTAssertTrue(error.description.contains(path), "the error must name the file: \(error)", file: file, line: line)
        for part in parts {
            XCTAssertTrue(
                error.message.contains(part), "message \(error.message.debugDescription) lacks \(part.debugDescription)", file: file,
                line: line)
        }
    }

    // MARK: - Every fixture's own defect

    /// (fixture, code, substrings of the message). Mirrors the fixtures' README table.
    private static let refused: [(String, LoadError.Code, [String])] = [
        ("no_entry", .noEntryPoint, ["does not export plughost_plugin_entry", "(dlsym: ", "undefined symbol: plughost_plugin_entry"]),
        ("entry_null", .entryReturnedNull, ["plughost_plugin_entry returned NULL"]),
        (
            "small_struct", .descriptorTooSmall,
            ["descriptor struct_size is 8, smaller than ph_plugin", "ABI 1.0", "(\(MemoryLayout<ph_plugin>.size) bytes)"]
        ),
        (
            "abi_major_new", .abiMajorMismatch,
            ["built for plugin ABI 2.\(PLUGHOST_ABI_MINOR)", "this host speaks ABI 1.\(PLUGHOST_ABI_MINOR)"]
        ),
        (
            "needs_newer_host", .needsNewerHost,
            ["needs a host with ABI 1.\(PLUGHOST_ABI_MINOR + 1) or newer", "this host is 1.\(PLUGHOST_ABI_MINOR)"]
        ),
        ("null_name", .invalidDescriptor, ["descriptor name is NULL"]),
        ("empty_name", .invalidDescriptor, ["descriptor name is empty"]),
        ("null_function_entry", .invalidFunction, ["functions[1] is NULL"]),
        ("bad_utf8_name", .invalidFunction, ["functions[0]'s name is not valid UTF-8"]),
        ("dup_functions", .invalidFunction, ["repeats the name \"f\""]),
        ("null_fn", .invalidFunction, ["function f: function pointer is NULL"]),
        ("unknown_type", .invalidFunction, ["function f: parameter 1 has unknown type code 99"]),
        ("void_param", .invalidFunction, ["function f: parameter 1 is declared void"]),
        ("too_many_params", .invalidFunction, ["function f: 40 parameters, over PH_MAX_PARAMS (32)"]),
        ("unknown_flag", .invalidFunction, ["function f: unknown flag bits 0x100000"]),
        (
            "plugin_free_missing", .invalidFunction,
            ["function f: PH_FN_RETURNS_PLUGIN_ALLOC is set but the descriptor's free_value is NULL"]
        ),
        ("null_param_names", .invalidFunction, ["function f: param_names is NULL but param_count is 1"]),
        ("dup_param_names", .invalidFunction, ["function f: parameter name x is used twice"]),
        ("init_fails", .initFailed, ["init returned false: init_fails: the required resource is missing"]),
    ]

    func testEveryFixtureIsRefusedWithItsOwnError() throws {
        for (name, code, parts) in Self.refused {
            let path = try TestSupport.fixture(name)
            check(try loadError(path), code: code, path: path, contains: parts)
        }
    }

    /// Every fixture file is covered: each `.c` in Tests/Fixtures/plugins is either refused
    /// above or one of the fixtures that load, so a fixture added later cannot go untested.
    func testEveryFixtureFileIsCovered() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: TestSupport.fixturesDirectory.path)
        let sources = Set(files.filter { $0.hasSuffix(".c") }.map { String($0.dropLast(2)) })
        // crashy: ProcessIsolationTests; recaller: RecallRelatedHostAPITests; sleepy: IsolatedPoolTests;
        // flaky: the pipeline ResilienceTests; loud: LoggingTests.
        let known = Set(Self.refused.map(\.0) + ["good", "abi_minor_new", "crashy", "recaller", "sleepy", "flaky", "loud"])
        XCTAssertEqual(sources.subtracting(known).sorted(), [], "fixtures without a test")
        XCTAssertEqual(known.subtracting(sources).sorted(), [], "tests without a fixture")
        XCTAssertTrue(files.contains("not_elf.so"))
    }

    /// The fixtures' README table (fixture, code, "message contains") agrees with the loader.
    func testReadmeTableMatchesTheLoader() throws {
        let readme = try String(contentsOf: TestSupport.fixturesDirectory.appendingPathComponent("README.md"), encoding: .utf8)
        var rows = 0
        for line in readme.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.replacingOccurrences(of: "\\|", with: "\u{1}").split(separator: "|").map {
                $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\u{1}", with: "|")
            }
            guard cells.count >= 4 else { continue }
            func unquote(_ s: String) -> String {
                s.hasPrefix("`") && s.hasSuffix("`") && s.count >= 2 ? String(s.dropFirst().dropLast()) : s
            }
            let file = unquote(cells[0])
            let name = file.hasSuffix(".c") ? String(file.dropLast(2)) : String(file.dropLast(3))
            let code = unquote(cells[2])
            rows += 1
            let path = try TestSupport.fixture(name)
            if code.hasPrefix("—") {
                XCTAssertNoThrow(try PluginLoader.load(path: path, services: try services()), "\(file) should load")
                continue
            }
            guard let e = try loadError(path) else { continue }
            XCTAssertEqual(e.code.description, code, file)
            let contains = unquote(cells[3])
            XCTAssertTrue(e.message.contains(contains), "\(file): \(e.message.debugDescription) lacks \(contains.debugDescription)")
        }
        XCTAssertEqual(
            rows, Self.refused.count + 8,
            "README rows: every refused fixture, not_elf.so, good.c, abi_minor_new.c, crashy.c, flaky.c, loud.c, recaller.c and sleepy.c"
        )
    }

    /// One test per fixture too, so that a report names the failing fixture.
    func testNoEntryPointKeepsDlsymText() throws {
        let path = try TestSupport.fixture("no_entry")
        let e = try loadError(path)
        check(e, code: .noEntryPoint, path: path, contains: ["does not export plughost_plugin_entry"])
        // dlerror() names the file and the symbol.
        XCTAssertTrue(e?.message.contains("dlsym: \(path): undefined symbol: plughost_plugin_entry") ?? false, e?.message ?? "")
    }

    func testAbiMajorMismatchNamesBothVersions() throws {
        let path = try TestSupport.fixture("abi_major_new")
        check(
            try loadError(path), code: .abiMajorMismatch, path: path,
            contains: [
                "built for plugin ABI 2.\(PLUGHOST_ABI_MINOR)", "this host speaks ABI \(PLUGHOST_ABI_MAJOR).\(PLUGHOST_ABI_MINOR)",
                "rebuild",
            ])
    }

    func testNeedsNewerHostNamesTheMinor() throws {
        let path = try TestSupport.fixture("needs_newer_host")
        check(
            try loadError(path), code: .needsNewerHost, path: path,
            contains: ["ABI 1.\(PLUGHOST_ABI_MINOR + 1) or newer", "this host is 1.\(PLUGHOST_ABI_MINOR)"])
    }

    func testInitFailureReportsWhatThePluginLogged() throws {
        let path = try TestSupport.fixture("init_fails")
        // Twice: the second report must be its own, not a stale or empty log.
        for _ in 0..<2 {
            let e = try loadError(path)
            check(e, code: .initFailed, path: path, contains: ["init returned false", "init_fails: the required resource is missing"])
            XCTAssertFalse(e?.message.contains("logged nothing") ?? true)
        }
    }

    func testMissingFile() throws {
        let path = TestSupport.fixtureBuildDirectory.appendingPathComponent("does_not_exist_\(UUID().uuidString).so").path
        check(try loadError(path), code: .fileNotFound, path: path, contains: ["no such file"])
    }

    func testNotELFIsNamedBeforeDlopen() throws {
        // The file is checked before dlopen sees it: a text file has no ELF header.
        let path = try TestSupport.fixture("not_elf")
        let e = try loadError(path)
        check(e, code: .notSharedObject, path: path, contains: ["not an ELF shared object", "no ELF header"])
    }

    func testDirectoryIsNotASharedObject() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        check(try loadError(dir.path), code: .notSharedObject, path: dir.path, contains: ["directory"])
    }

    func testELFWithMissingDependencyIsOpenFailed() throws {
        // An ELF plugin linked against a library that is gone by load time: dlopen fails for a
        // reason other than the format, and the dlerror text (the missing library) is kept.
        let dir = try TestSupport.makeTempDirectory(for: self)
        let depSource = try TestSupport.write("int plughost_test_dep(void) { return 1; }\n", to: dir, "dep.c")
        let dep = dir.appendingPathComponent("libphmissingdep.so").path
        try TestSupport.compileC(source: depSource, output: dep)
        let pluginSource = try TestSupport.write(
            """
            #include "plughost/plughost.h"
            int plughost_test_dep(void);
            static int32_t one(void) { return (int32_t)plughost_test_dep(); }
            static const ph_function f = { sizeof(ph_function), "one", NULL, (void (*)(void))one, PH_TYPE_INT32, 0, NULL, NULL, 0, 0 };
            static const ph_function *const fs[] = { &f };
            static const ph_plugin p = { sizeof(ph_plugin), PLUGHOST_ABI_MAJOR, PLUGHOST_ABI_MINOR, 0, "needs_dep", "1.0.0", NULL, 1, fs, NULL, NULL, NULL };
            PLUGHOST_DECLARE_ENTRY() { return &p; }

            """, to: dir, "needs_dep.c")
        let plugin = dir.appendingPathComponent("needs_dep.so").path
        try TestSupport.compileC(source: pluginSource, output: plugin, extraArguments: ["-L\(dir.path)", "-lphmissingdep"])
        try FileManager.default.removeItem(atPath: dep)
        check(try loadError(plugin), code: .openFailed, path: plugin, contains: ["dlopen failed: ", "libphmissingdep.so"])
    }

    // MARK: - Fixtures that load

    func testGoodFixtureLoadsAndWorks() throws {
        let path = try TestSupport.fixture("good")
        let p = try PluginLoader.load(path: path, services: try services())
        defer { p.shutdown() }
        XCTAssertEqual(p.name, "good")
        XCTAssertEqual(p.descriptorName, "good")
        XCTAssertEqual(p.version, "1.0.0")
        XCTAssertEqual(p.description, "a valid test plugin")
        XCTAssertEqual(p.path, path)
        XCTAssertEqual(p.functions.map(\.name), ["add", "greet"])
        let add = try XCTUnwrap(p.function(named: "add"))
        XCTAssertEqual(add.parameters, [Parameter(name: "a", type: .int32), Parameter(name: "b", type: .int32)])
        XCTAssertEqual(add.returnType, .int32)
        XCTAssertTrue(add.threadSafe)
        XCTAssertFalse(add.takesContext)
        XCTAssertEqual(add.doc, "a + b (wraps on overflow)")
        XCTAssertEqual(try p.call("add", [.int(2), .int(40)]), .int(42))
        XCTAssertEqual(try p.call("add", [.int(Int64(Int32.max)), .int(1)]), .int(Int64(Int32.min)))
        let greet = try XCTUnwrap(p.function(named: "greet"))
        XCTAssertTrue(greet.takesContext)
        XCTAssertEqual(greet.signature, "const char *greet(const ph_call_context *ctx, const char *name)")
        XCTAssertEqual(try p.call("greet", [.string("world")]), .string("hello, world"))
    }

    func testNewerMinorFixtureLoadsAndItsFunctionWorks() throws {
        let path = try TestSupport.fixture("abi_minor_new")
        let p = try PluginLoader.load(path: path, services: try services())
        XCTAssertEqual(p.name, "abi_minor_new")
        XCTAssertEqual(p.abiMajor, 1)
        XCTAssertEqual(p.abiMinor, UInt32(PLUGHOST_ABI_MINOR) + 5)
        XCTAssertEqual(p.functions.map(\.name), ["answer"])
        XCTAssertEqual(p.functions.first?.doc, "returns 42")
        XCTAssertEqual(try p.call("answer", []), .int(42))
    }

    func testHostSurvivesEveryFailureAndStillLoadsAndCalls() throws {
        // Every refusal in a row, each twice, in one host; then a good plugin still works.
        let host = PluginHost(memory: try services(), searchPath: PluginSearchPath(extra: [], environment: [:]))
        for _ in 0..<2 {
            for (name, code, _) in Self.refused {
                let path = try TestSupport.fixture(name)
                let e = TestSupport.expectError(LoadError.self, name) { try host.load(path) }
                XCTAssertEqual(e?.code, code, name)
            }
            _ = TestSupport.expectError(LoadError.self) { try host.load(try TestSupport.fixture("not_elf")) }
        }
        XCTAssertTrue(host.loadedPlugins.isEmpty, "a refused plugin must not be registered: \(host.loadedPlugins.map(\.name))")
        try host.load(try TestSupport.fixture("good"))
        try host.load(try TestSupport.fixture("abi_minor_new"))
        XCTAssertEqual(host.loadedPlugins.map(\.name), ["abi_minor_new", "good"])
        XCTAssertEqual(try host.call("good", "add", [.int(-2), .int(-40)]), .int(-42))
        XCTAssertEqual(try host.call("abi_minor_new", "answer", []), .int(42))
        try host.close()
    }

    func testSameNameFromAnotherFileIsDuplicate() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let copy = dir.appendingPathComponent("good_copy.so").path
        try FileManager.default.copyItem(atPath: try TestSupport.fixture("good"), toPath: copy)
        let host = PluginHost(memory: try services(), searchPath: PluginSearchPath(extra: [], environment: [:]))
        let first = try host.load(try TestSupport.fixture("good"))
        XCTAssertTrue(first === (try host.load(try TestSupport.fixture("good"))), "the same file twice is the same plugin")
        let e = TestSupport.expectError(LoadError.self) { try host.load(copy) }
        XCTAssertEqual(e?.code, .duplicatePlugin)
        XCTAssertTrue(e?.message.contains(try TestSupport.fixture("good")) ?? false, e?.message ?? "")
        // Under an alias it loads.
        let aliased = try host.load(copy, as: "good2")
        XCTAssertEqual(aliased.name, "good2")
        XCTAssertEqual(aliased.descriptorName, "good")
        XCTAssertEqual(try host.call("good2", "add", [.int(1), .int(2)]), .int(3))
        try host.close()
    }

    // MARK: - Search path

    func testBundledPluginsLoadByBareNameFromTheExecutableFolder() throws {
        let dir = try TestSupport.requireBinaryDirectory()
        // No extra folders and no environment: only the bundled folder (next to the running binary).
        let searchPath = PluginSearchPath(extra: [], environment: [:])
        XCTAssertEqual(searchPath.directories, [PluginSearchPath.bundledDirectory])
        XCTAssertEqual(
            URL(fileURLWithPath: PluginSearchPath.bundledDirectory).resolvingSymlinksInPath().path,
            URL(fileURLWithPath: dir).resolvingSymlinksInPath().path,
            "the test binary sits next to the bundled plugins")
        for name in ["text", "sig"] {
            let path = try searchPath.resolve(name)
            XCTAssertEqual(path, (PluginSearchPath.bundledDirectory as NSString).appendingPathComponent("lib\(name).so"))
        }
        let host = PluginHost(memory: try services(), searchPath: searchPath)
        let text = try host.load("text")
        let sig = try host.load("sig")
        XCTAssertEqual(text.name, "text")
        XCTAssertEqual(sig.name, "sig")
        XCTAssertEqual(text.functions.map(\.name), ["word_count", "keywords", "summarize", "tally", "recall_count"])
        XCTAssertEqual(try host.call("text", "word_count", [.string("one two three")]), .int(3))
        XCTAssertEqual(try host.call("sig", "add3", [.int(1), .int(2), .int(3)]), .int(6))
        try host.close()
    }

    func testEnvironmentPathAndExtraFolders() throws {
        let extra = try TestSupport.makeTempDirectory(for: self, "ph-extra")
        let env1 = try TestSupport.makeTempDirectory(for: self, "ph-env1")
        let env2 = try TestSupport.makeTempDirectory(for: self, "ph-env2")
        let good = try TestSupport.fixture("good")
        let minor = try TestSupport.fixture("abi_minor_new")
        // good only in the second PLUGHOST_PLUGIN_PATH folder, as libgood.so.
        try FileManager.default.copyItem(atPath: good, toPath: env2.appendingPathComponent("libgood.so").path)
        // abi_minor_new in both env folders; the first wins.
        try FileManager.default.copyItem(atPath: minor, toPath: env1.appendingPathComponent("abi_minor_new.so").path)
        try FileManager.default.copyItem(atPath: minor, toPath: env2.appendingPathComponent("abi_minor_new.so").path)

        let environment = ["PLUGHOST_PLUGIN_PATH": "\(env1.path)::\(env2.path):"]
        let envOnly = PluginSearchPath(extra: [], environment: environment)
        XCTAssertEqual(envOnly.directories, [env1.path, env2.path, PluginSearchPath.bundledDirectory], "empty entries are dropped")
        XCTAssertEqual(try envOnly.resolve("good"), env2.appendingPathComponent("libgood.so").path)
        XCTAssertEqual(try envOnly.resolve("abi_minor_new"), env1.appendingPathComponent("abi_minor_new.so").path)
        XCTAssertEqual(try envOnly.resolve("sig"), (PluginSearchPath.bundledDirectory as NSString).appendingPathComponent("libsig.so"))

        // An explicit folder comes before the environment's; NAME.so before libNAME.so.
        try FileManager.default.copyItem(atPath: good, toPath: extra.appendingPathComponent("good.so").path)
        try FileManager.default.copyItem(atPath: good, toPath: extra.appendingPathComponent("libgood.so").path)
        let both = PluginSearchPath(extra: [extra.path], environment: environment)
        XCTAssertEqual(both.directories.first, extra.path)
        XCTAssertEqual(try both.resolve("good"), extra.appendingPathComponent("good.so").path)

        // And they load and run through a host.
        let host = PluginHost(memory: try services(), searchPath: both)
        let p = try host.load("good")
        XCTAssertEqual(p.path, extra.appendingPathComponent("good.so").path)
        XCTAssertEqual(try host.call("good", "add", [.int(20), .int(22)]), .int(42))
        let m = try host.load("abi_minor_new")
        XCTAssertEqual(m.path, env1.appendingPathComponent("abi_minor_new.so").path)
        try host.close()

        // The default initialiser reads the real environment variable.
        let saved = ProcessInfo.processInfo.environment["PLUGHOST_PLUGIN_PATH"]
        setenv("PLUGHOST_PLUGIN_PATH", env2.path, 1)
        defer {
            if let saved { setenv("PLUGHOST_PLUGIN_PATH", saved, 1) } else { unsetenv("PLUGHOST_PLUGIN_PATH") }
        }
        XCTAssertEqual(try PluginSearchPath().resolve("good"), env2.appendingPathComponent("libgood.so").path)
    }

    func testPathReferencesAreNotSearched() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        try FileManager.default.copyItem(atPath: try TestSupport.fixture("good"), toPath: dir.appendingPathComponent("good.so").path)
        let sp = PluginSearchPath(extra: [], environment: [:])
        XCTAssertEqual(try sp.resolve("good.so", relativeTo: dir.path), dir.appendingPathComponent("good.so").path)
        XCTAssertEqual(try sp.resolve("./sub/../good.so", relativeTo: dir.path), dir.appendingPathComponent("good.so").path)
        XCTAssertEqual(try sp.resolve("/abs/x.so"), "/abs/x.so")
        // A path that does not exist is the loader's fileNotFound, not pluginNotFound.
        let host = PluginHost(memory: try services(), searchPath: sp)
        let e = TestSupport.expectError(LoadError.self) { try host.load("missing.so", relativeTo: dir.path) }
        XCTAssertEqual(e?.code, .fileNotFound)
        XCTAssertEqual(e?.path, dir.appendingPathComponent("missing.so").path)
        try host.close()
    }

    func testBareNameNowhereListsTheSearchedFolders() throws {
        let extra = try TestSupport.makeTempDirectory(for: self, "ph-extra")
        let env = try TestSupport.makeTempDirectory(for: self, "ph-env")
        let sp = PluginSearchPath(extra: [extra.path], environment: ["PLUGHOST_PLUGIN_PATH": env.path])
        let e = TestSupport.expectError(LoadError.self) { try sp.resolve("no_such_plugin_anywhere") }
        XCTAssertEqual(e?.code, .pluginNotFound)
        XCTAssertEqual(e?.path, "no_such_plugin_anywhere")
        let message = e?.message ?? ""
        for part in [
            "no_such_plugin_anywhere.so", "libno_such_plugin_anywhere.so", extra.path, env.path, PluginSearchPath.bundledDirectory,
        ] {
            XCTAssertTrue(message.contains(part), "\(message.debugDescription) lacks \(part)")
        }
        // The folders are listed in search order.
        let order = [extra.path, env.path, PluginSearchPath.bundledDirectory].compactMap { message.range(of: $0)?.lowerBound }
        XCTAssertEqual(order, order.sorted())
        // Through a host too.
        let host = PluginHost(memory: try services(), searchPath: sp)
        let e2 = TestSupport.expectError(LoadError.self) { try host.load("no_such_plugin_anywhere") }
        XCTAssertEqual(e2?.code, .pluginNotFound)
        try host.close()
    }
}
