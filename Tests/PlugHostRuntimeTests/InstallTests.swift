import CPlugHostABI
import Foundation
import PlugHost
import PlugHostPostgres
import PlugHostTestSupport
import XCTest

/// `make install` into a temporary prefix, then the installed tree used the way a user, a plugin
/// author and an embedder use it: from another folder, with no Swift toolchain on PATH or the
/// library path.
final class InstallTests: XCTestCase {
    /// The only environment the installed programs get.
    private func bareEnvironment(home: URL, _ extra: [String: String] = [:]) -> [String: String] {
        ["PATH": "/usr/bin:/bin", "HOME": home.path].merging(extra) { $1 }
    }

    func testMakeInstallRunsWithoutTheToolchain() throws {
        guard let make = TestSupport.resolveExecutable("make") else { throw XCTSkip("make is not installed") }
        let built = try TestSupport.requireBinaryDirectory()
        let tmp = try TestSupport.makeTempDirectory(for: self, "ph-install")
        let prefix = tmp.appendingPathComponent("prefix")
        let home = tmp.appendingPathComponent("home")
        let work = tmp.appendingPathComponent("work")
        for dir in [home, work] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }

        // Installs what `swift build` built (the test run holds SwiftPM's lock on .build, so no
        // second `swift build` may run): the debug products, with the shared Swift runtime
        // copied into the prefix (STATIC_STDLIB=no: relinking .build/debug statically in place
        // would change the binaries the other tests run).
        let scratch = URL(fileURLWithPath: PluginHost.realPath(built)).deletingLastPathComponent().deletingLastPathComponent()
        var argumentParser = scratch.appendingPathComponent("checkouts/swift-argument-parser").path
        if !FileManager.default.fileExists(atPath: argumentParser) {
            argumentParser = TestSupport.repoRoot.appendingPathComponent(".build/checkouts/swift-argument-parser").path
        }
        let variables = [
            "PREFIX=\(prefix.path)", "CONFIGURATION=debug", "STATIC_STDLIB=no", "NO_BUILD=1", "BUILD_DIR=\(built)",
            "STAGE=\(tmp.appendingPathComponent("stage").path)", "ARGUMENT_PARSER=\(argumentParser)",
        ]
        let started = Date()
        let install = try TestSupport.run(make, ["-C", TestSupport.repoRoot.path, "install"] + variables, timeout: 900)
        XCTAssertEqual(install.status, 0, "make install: \(install)")
        guard install.status == 0 else { return }
        print("make install (debug, NO_BUILD) took \(String(format: "%.1f", Date().timeIntervalSince(started))) s")

        let p = prefix.path
        for file in [
            "bin/plughost", "libexec/plughost/plughost-worker", "lib/libplughost_embed.so", "lib/plughost/plugins/libtext.so",
            "lib/plughost/plugins/libsig.so", "include/plughost/plughost.h", "include/plughost/embed.h", "lib/pkgconfig/plughost.pc",
            "share/man/man1/plughost.1", "share/bash-completion/completions/plughost", "share/zsh/site-functions/_plughost",
            "share/fish/vendor_completions.d/plughost.fish",
        ] {
            let size = (try? FileManager.default.attributesOfItem(atPath: "\(p)/\(file)")[.size] as? Int) ?? nil
            XCTAssertGreaterThan(size ?? 0, 0, "\(file) is missing or empty")
        }
        let man = try String(contentsOfFile: "\(p)/share/man/man1/plughost.1", encoding: .utf8)
        XCTAssertTrue(man.contains(".Dt PLUGHOST 1"), "not an mdoc page: \(man.prefix(200))")
        XCTAssertTrue(man.contains("inspect"), "the man page lists the subcommands")
        XCTAssertTrue(try String(contentsOfFile: "\(p)/share/bash-completion/completions/plughost", encoding: .utf8).contains("complete"))

        try checkNothingNeedsTheToolchain(prefix: prefix, home: home)

        // The CLI, from another folder.
        func plughost(_ args: [String], _ extra: [String: String] = [:]) throws -> TestSupport.ProcessResult {
            try TestSupport.run("\(p)/bin/plughost", args, cwd: work, environment: bareEnvironment(home: home, extra))
        }
        let version = try plughost(["--version"])
        XCTAssertEqual(version.status, 0, "\(version)")
        XCTAssertEqual(
            version.stdout,
            """
            plughost \(PlugHostVersion.current)
            plugin ABI \(PLUGHOST_ABI_MAJOR).\(PLUGHOST_ABI_MINOR) (plughost/plughost.h)
            C embedding API \(PLUGHOST_EMBED_VERSION_MAJOR).\(PLUGHOST_EMBED_VERSION_MINOR) (plughost/embed.h)
            memory schema: SQLite \(SQLiteSchema.version), PostgreSQL \(PostgresSchema.version)
            \(try MemoryLocation.resolve(engine: nil, db: nil, environment: TestSupport.hermetic(bareEnvironment(home: home)), currentDirectory: work.path).summary)

            """)

        // A bundled plugin by bare name, read in a worker (inspect's default): both found
        // relative to the binary.
        let inspect = try plughost(["inspect", "text", "--json"])
        XCTAssertEqual(inspect.status, 0, "\(inspect)")
        let info = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(
            PluginHost.realPath(info["path"] as? String ?? ""), PluginHost.realPath("\(p)/lib/plughost/plugins/libtext.so"))
        XCTAssertEqual(info["isolation"] as? String, "process")

        // A bundled plugin is called in this process: no worker needed, even a broken one.
        let call = try plughost(["call", "text", "word_count", "one two three"], ["PLUGHOST_WORKER": "/nonexistent"])
        XCTAssertEqual(call.status, 0, "\(call)")
        XCTAssertEqual(call.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "3")

        // A plugin author's plugin, built against the installed header through pkg-config.
        let pkgEnvironment = ["PKG_CONFIG_PATH": "\(p)/lib/pkgconfig", "PATH": "/usr/bin:/bin"]
        let cflags = try TestSupport.run("pkg-config", ["--cflags", "plughost"], environment: pkgEnvironment)
        XCTAssertEqual(cflags.status, 0, "\(cflags)")
        XCTAssertEqual(cflags.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "-I\(p)/include")
        let libs = try TestSupport.run("pkg-config", ["--cflags", "--libs", "plughost"], environment: pkgEnvironment)
        XCTAssertEqual(libs.status, 0, "\(libs)")
        let good = tmp.appendingPathComponent("plugins/libgood.so").path
        try FileManager.default.createDirectory(atPath: (good as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let source = TestSupport.fixturesDirectory.appendingPathComponent("good.c").path
        let cc = try TestSupport.run(
            "cc", ["-std=c11", "-Wall", "-Werror"] + words(cflags.stdout) + ["-shared", "-fPIC", "-o", good, source], cwd: work)
        XCTAssertEqual(cc.status, 0, "\(cc)")

        // Not bundled: it runs in process isolation, in the installed worker.
        let isolated = try plughost(["call", good, "add", "40", "2"])
        XCTAssertEqual(isolated.status, 0, "\(isolated)")
        XCTAssertEqual(isolated.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "42")
        let noWorker = try plughost(["call", good, "add", "40", "2"], ["PLUGHOST_WORKER": "/nonexistent"])
        XCTAssertNotEqual(noWorker.status, 0, "a non-bundled plugin must need the worker: \(noWorker)")
        XCTAssertTrue(noWorker.stderr.contains("PLUGHOST_WORKER"), "\(noWorker)")

        try checkEmbedding(prefix: prefix, home: home, work: work, libs: words(libs.stdout), good: good)

        let uninstall = try TestSupport.run(make, ["-C", TestSupport.repoRoot.path, "uninstall"] + variables)
        XCTAssertEqual(uninstall.status, 0, "\(uninstall)")
        let left = FileManager.default.enumerator(atPath: p)?.compactMap { $0 as? String }.filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: "\(p)/\($0)", isDirectory: &isDirectory) && !isDirectory.boolValue
        }
        XCTAssertEqual(left ?? [], [], "make uninstall leaves files behind")
    }

    /// Every installed ELF file: its RUNPATH is relative to itself, and `ldd` with a bare
    /// environment resolves every library, none from the Swift toolchain.
    private func checkNothingNeedsTheToolchain(prefix: URL, home: URL) throws {
        let toolchain = TestSupport.resolveExecutable("swiftc").map {
            URL(fileURLWithPath: PluginHost.realPath($0)).deletingLastPathComponent().deletingLastPathComponent().path
        }
        let files = (FileManager.default.enumerator(atPath: prefix.path)?.compactMap { $0 as? String } ?? [])
            .map { "\(prefix.path)/\($0)" }
            .filter { (try? FileHandle(forReadingFrom: URL(fileURLWithPath: $0)).read(upToCount: 4)) == Data([0x7F, 0x45, 0x4C, 0x46]) }
        XCTAssertGreaterThanOrEqual(files.count, 5, "plughost, the worker, the library, two plugins (and the runtime)")
        for file in files {
            let dynamic = try TestSupport.run("readelf", ["-d", file])
            XCTAssertEqual(dynamic.status, 0, "\(dynamic)")
            for line in dynamic.stdout.split(separator: "\n") where line.contains("RUNPATH") || line.contains("(RPATH)") {
                let value = line.split(separator: "[").last.map { String($0.dropLast()) } ?? ""
                for entry in value.split(separator: ":") {
                    XCTAssertTrue(entry.hasPrefix("$ORIGIN"), "\(file): RUNPATH entry \(entry) is not relative to the file")
                }
            }
            let ldd = try TestSupport.run("/usr/bin/ldd", [file], environment: bareEnvironment(home: home))
            XCTAssertEqual(ldd.status, 0, "ldd \(file): \(ldd)")
            XCTAssertFalse(ldd.stdout.contains("not found"), "\(file):\n\(ldd.stdout)")
            if let toolchain {
                XCTAssertFalse(ldd.stdout.contains(toolchain), "\(file) loads from the toolchain \(toolchain):\n\(ldd.stdout)")
            }
        }
    }

    /// A C program against the installed libplughost_embed.so, built with pkg-config: the
    /// bundled `sig` by bare name (in-process), `good` by path (in the installed worker).
    private func checkEmbedding(prefix: URL, home: URL, work: URL, libs: [String], good: String) throws {
        let source = try TestSupport.write(
            #"""
            #include <plughost/embed.h>
            #include <stdio.h>
            int main(int argc, char **argv) {
                if (argc != 2) return 2;
                plughost_host *h = plughost_create("{\"engine\":\"memory\"}");
                if (!h) { fprintf(stderr, "create: %s\n", plughost_last_error(NULL)); return 1; }
                printf("version=%s api=%u\n", plughost_version(), (unsigned)plughost_api_version());
                if (plughost_load(h, "sig", NULL) != 0) { fprintf(stderr, "load sig: %s\n", plughost_last_error(h)); return 1; }
                char *r = plughost_invoke(h, "sig", "add3", "[20, 20, 2]", NULL);
                if (!r) { fprintf(stderr, "invoke sig: %s\n", plughost_last_error(h)); return 1; }
                printf("add3=%s\n", r);
                plughost_free(r);
                if (plughost_load(h, argv[1], NULL) != 0) { printf("load good: %s\n", plughost_last_error(h)); return 3; }
                r = plughost_invoke(h, "good", "add", "[40, 2]", NULL);
                if (!r) { fprintf(stderr, "invoke good: %s\n", plughost_last_error(h)); return 1; }
                printf("add=%s\n", r);
                plughost_free(r);
                if (plughost_close(h) != 0) return 1;
                plughost_destroy(h);
                return 0;
            }
            """#, to: work, "embed.c")
        let exe = work.appendingPathComponent("embed").path
        let link = try TestSupport.run(
            "cc", ["-std=c11", "-Wall", "-Werror", source] + libs + ["-Wl,-rpath,\(prefix.path)/lib", "-o", exe], cwd: work)
        XCTAssertEqual(link.status, 0, "\(link)")
        let api = PLUGHOST_EMBED_VERSION_MAJOR << 16 | PLUGHOST_EMBED_VERSION_MINOR
        let run = try TestSupport.run(exe, [good], cwd: work, environment: bareEnvironment(home: home))
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stdout, "version=\(PlugHostVersion.current) api=\(api)\nadd3=42\nadd=42\n")
        // The bundled plugin ran in this process; `good` needs the worker.
        let noWorker = try TestSupport.run(
            exe, [good], cwd: work, environment: bareEnvironment(home: home, ["PLUGHOST_WORKER": "/nonexistent"]))
        XCTAssertEqual(noWorker.status, 3, "\(noWorker)")
        XCTAssertTrue(noWorker.stdout.hasPrefix("version=\(PlugHostVersion.current) api=\(api)\nadd3=42\nload good: "), "\(noWorker)")
        XCTAssertTrue(noWorker.stdout.contains("PLUGHOST_WORKER"), "\(noWorker)")
    }

    /// `text` split on whitespace (pkg-config output).
    private func words(_ text: String) -> [String] {
        text.split(whereSeparator: \.isWhitespace).map(String.init)
    }
}
