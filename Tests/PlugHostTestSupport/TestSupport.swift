import Foundation
import Synchronization
import XCTest

import PlugHost
import PlugHostCore
import PlugHostMemory
import PlugHostSQLite
import PlugHostPostgres
import PlugHostPipeline
import PlugHostTools

/// Shared helpers of the loader, call-path, CLI and example-plugin tests: the repository
/// root, fixture plugins compiled once per test run, the folder holding the built `plughost`
/// executable and the bundled plugins, and running processes.
package enum TestSupport {
    // MARK: - Paths

    /// The repository root (this file is Tests/PlugHostTestSupport/TestSupport.swift).
    package static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // PlugHostTestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // root

    /// `<root>/include`, the folder of `plughost/plughost.h`.
    package static var includeDirectory: String { repoRoot.appendingPathComponent("include").path }

    /// `<root>/Tests/Fixtures/plugins`.
    package static var fixturesDirectory: URL { repoRoot.appendingPathComponent("Tests/Fixtures/plugins") }

    /// The running test binary, with symbolic links resolved (`/proc/self/exe`).
    package static var runningBinary: String? {
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return exe }
        return CommandLine.arguments.first
    }

    /// The folder that holds the `plughost` executable and `libtext.so` / `libsig.so`: the
    /// folder of the running test binary (SwiftPM puts the test bundle next to the products),
    /// else other places a build may have put them. `PLUGHOST_TEST_BUILD_DIR` overrides.
    package static let binaryDirectory: String? = {
        let fm = FileManager.default
        func complete(_ dir: String) -> Bool {
            fm.isExecutableFile(atPath: (dir as NSString).appendingPathComponent("plughost"))
                && fm.fileExists(atPath: (dir as NSString).appendingPathComponent("libtext.so"))
                && fm.fileExists(atPath: (dir as NSString).appendingPathComponent("libsig.so"))
        }
        var candidates: [String] = []
        if let forced = ProcessInfo.processInfo.environment["PLUGHOST_TEST_BUILD_DIR"] { candidates.append(forced) }
        if let exe = runningBinary {
            // On Linux the test binary is `<dir>/plughostPackageTests.xctest`; elsewhere it may
            // be inside a bundle (`…/X.xctest/Contents/MacOS/X`): walk up a few levels.
            var dir = (exe as NSString).deletingLastPathComponent
            for _ in 0..<4 {
                candidates.append(dir)
                dir = (dir as NSString).deletingLastPathComponent
            }
        }
        candidates.append(PluginSearchPath.bundledDirectory)
        candidates.append(Bundle.main.bundlePath)
        candidates.append((Bundle.main.bundlePath as NSString).deletingLastPathComponent)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append((bundle.bundlePath as NSString).deletingLastPathComponent)
        }
        // Scratch paths: <root>/.build/*/debug and the shared /tmp/build-* ones.
        var scratchRoots = [repoRoot.appendingPathComponent(".build").path]
        if let tmp = try? fm.contentsOfDirectory(atPath: "/tmp") {
            scratchRoots += tmp.filter { $0.hasPrefix("build") }.sorted().map { "/tmp/\($0)" }
        }
        for root in scratchRoots {
            candidates.append((root as NSString).appendingPathComponent("debug"))
            for sub in (try? fm.contentsOfDirectory(atPath: root)) ?? [] {
                candidates.append(((root as NSString).appendingPathComponent(sub) as NSString).appendingPathComponent("debug"))
            }
        }
        return candidates.first(where: complete)
    }()

    /// The folder of the built products, or a test failure that says where it looked.
    package static func requireBinaryDirectory(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try XCTUnwrap(
            binaryDirectory,
            "cannot find the folder holding plughost, libtext.so and libsig.so (test binary: \(runningBinary ?? "?")); run `swift build` first",
            file: file, line: line)
    }

    /// The built `plughost` executable.
    package static func plughostExecutable(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        (try requireBinaryDirectory(file: file, line: line) as NSString).appendingPathComponent("plughost")
    }

    // MARK: - Temp folders

    /// A fresh temp folder, removed when the test ends.
    package static func makeTempDirectory(for test: XCTestCase, _ label: String = "plughost-tests") throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Writes `text` to `dir/name` and returns the path.
    @discardableResult
    package static func write(_ text: String, to dir: URL, _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    // MARK: - Fixture plugins

    /// Where this test run's compiled fixtures go (one folder per process).
    package static let fixtureBuildDirectory: URL = {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("plughost-fixtures-\(getpid())-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // Removed when the test process exits.
        atexit { try? FileManager.default.removeItem(at: TestSupport.fixtureBuildDirectory) }
        return dir
    }()

    private static let compiled = Mutex<[String: String]>([:])

    /// The fixture `NAME.c` of Tests/Fixtures/plugins compiled to `NAME.so` (once per test
    /// run) with the strict flags the fixtures' README promises; `not_elf` is the file kept as is.
    package static func fixture(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        if name == "not_elf" { return fixturesDirectory.appendingPathComponent("not_elf.so").path }
        return try compiled.withLock { cache -> String in
            if let path = cache[name] { return path }
            let source = fixturesDirectory.appendingPathComponent("\(name).c").path
            guard FileManager.default.fileExists(atPath: source) else {
                throw TestSupportError("fixture \(source) does not exist")
            }
            let output = fixtureBuildDirectory.appendingPathComponent("\(name).so").path
            try compileC(source: source, output: output)
            cache[name] = output
            return output
        }
    }

    /// Compiles one C plugin source with `cc -std=c11 -Wall -Wextra -pedantic -Werror -shared -fPIC` (fields a later ABI
    /// minor appended may be left out of positional initialisers: -Wno-missing-field-initializers).
    package static func compileC(source: String, output: String, extraArguments: [String] = []) throws {
        let args =
            [
                "-std=c11", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "-pedantic", "-Werror", "-shared", "-fPIC",
                "-I\(includeDirectory)", "-o", output, source,
            ] + extraArguments
        let r = try run("cc", args)
        guard r.status == 0 else {
            throw TestSupportError("cc \(args.joined(separator: " ")) failed (\(r.status)):\n\(r.stderr)\(r.stdout)")
        }
    }

    // MARK: - Hosts

    /// A host over `MemoryService(engine: InMemoryEngine())` whose search path is the folder
    /// of the built products only (no environment), with `plugins` loaded by bare name.
    package static func makeHost(loading plugins: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> PluginHost {
        let dir = try requireBinaryDirectory(file: file, line: line)
        let host = PluginHost(
            memory: try MemoryService(engine: InMemoryEngine()),
            searchPath: PluginSearchPath(extra: [dir], environment: [:]))
        for p in plugins { try host.load(p) }
        return host
    }

    // MARK: - Processes

    package struct ProcessResult: CustomStringConvertible {
        package var status: Int32
        package var stdout: String
        package var stderr: String
        package var timedOut = false
        package var description: String { "exit \(status)\(timedOut ? " (timed out)" : "")\nstdout: \(stdout)\nstderr: \(stderr)" }
    }

    /// Runs the real `plughost` with `arguments` in `cwd` (a fresh temp folder when nil, so
    /// that a default SQLite file never lands in the repository).
    package static func runPlughost(
        _ arguments: [String], cwd: URL? = nil, environment: [String: String]? = nil,
        timeout: TimeInterval = 120, file: StaticString = #filePath, line: UInt = #line
    ) throws -> ProcessResult {
        let exe = try plughostExecutable(file: file, line: line)
        var dir = cwd
        var cleanup: URL?
        if dir == nil {
            let d = FileManager.default.temporaryDirectory.appendingPathComponent("plughost-cwd-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            dir = d
            cleanup = d
        }
        defer { if let cleanup { try? FileManager.default.removeItem(at: cleanup) } }
        return try run(exe, arguments, cwd: dir, environment: environment, timeout: timeout)
    }

    /// Runs `executable` (a path, or a name looked up in PATH) and collects its output; stdout
    /// and stderr go to files, so neither is a terminal and neither pipe can fill up.
    package static func run(
        _ executable: String, _ arguments: [String], cwd: URL? = nil, environment: [String: String]? = nil,
        timeout: TimeInterval = 600
    ) throws -> ProcessResult {
        guard let exe = resolveExecutable(executable) else {
            throw TestSupportError("\(executable) not found in PATH (\(ProcessInfo.processInfo.environment["PATH"] ?? ""))")
        }
        let io = FileManager.default.temporaryDirectory.appendingPathComponent("plughost-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: io, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: io) }
        let outURL = io.appendingPathComponent("stdout"), errURL = io.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = arguments
        if let cwd { p.currentDirectoryURL = cwd }
        p.environment = hermetic(environment ?? ProcessInfo.processInfo.environment)
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        try p.run()
        var timedOut = false
        if done.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            p.terminate()
            _ = done.wait(timeout: .now() + 10)
        }
        try? out.close()
        try? err.close()
        return ProcessResult(
            status: timedOut ? -1 : p.terminationStatus,
            stdout: String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self),
            stderr: String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self),
            timedOut: timedOut)
    }

    /// `name` if it is a path, else its first match in PATH (plus ~/.cargo/bin), or nil.
    package static func resolveExecutable(_ name: String) -> String? {
        let fm = FileManager.default
        if name.contains("/") { return fm.isExecutableFile(atPath: name) ? name : nil }
        var dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
            .split(separator: ":").map(String.init)
        dirs.append(NSHomeDirectory() + "/.cargo/bin")
        for d in dirs {
            let p = (d as NSString).appendingPathComponent(name)
            if fm.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// A per-test-process folder for the per-user memory store (`XDG_DATA_HOME`), so that a
    /// `plughost` started by a test never writes to the real `~/.local/share/plughost/`.
    package static let testDataHome: String = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("plughost-xdg-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    /// `environment` with `XDG_DATA_HOME` set to ``testDataHome`` and the memory's upward
    /// `.plughost/` search stopped at the temporary folder (`PLUGHOST_CEILING_DIRECTORIES`),
    /// unless the caller set them: tests stay apart from each other and from the machine.
    package static func hermetic(_ environment: [String: String]) -> [String: String] {
        var env = environment
        if env["XDG_DATA_HOME"] == nil { env["XDG_DATA_HOME"] = testDataHome }
        if env["PLUGHOST_CEILING_DIRECTORIES"] == nil {
            env["PLUGHOST_CEILING_DIRECTORIES"] = FileManager.default.temporaryDirectory.standardizedFileURL.path
        }
        return env
    }

    /// The environment of this process with some keys changed (nil values removed).
    package static func environment(_ changes: [String: String?]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in changes { env[k] = v }
        return env
    }

    // MARK: - Errors

    /// Runs `body`, which must throw a `T`; returns it (or fails the test and returns nil).
    package static func expectError<T: Error, R>(
        _ type: T.Type, _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line,
        _ body: () throws -> R
    ) -> T? {
        do {
            let r = try body()
            XCTFail("expected \(T.self) but got \(r) \(message())", file: file, line: line)
            return nil
        } catch let e as T {
            return e
        } catch {
            XCTFail("expected \(T.self) but got \(Swift.type(of: error)): \(error) \(message())", file: file, line: line)
            return nil
        }
    }
}

package struct TestSupportError: Error, CustomStringConvertible {
    package let description: String
    package init(_ d: String) { description = d }
}
