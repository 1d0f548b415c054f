// swift-tools-version: 6.1
import PackageDescription

// The targets are the layers. Data flows one way, and the dependency lists below are what the
// compiler enforces:
//
//   PlugHostCLI ─┬─ PlugHostPipeline ─ PlugHost ─┬─ PlugHostSQLite ──┐
//                ├─ PlugHostPostgres ────────────┼───────────────────┴─ PlugHostMemory ─ PlugHostCore
//                │                               └─ PlugHostIsolation ──────────────────────┘
//                └─ PlugHostTools (benchmarks, workload tools; no public API)
//   plughost-worker (PlugHostWorker) ─ PlugHostCore: runs one plugin for a host, in a process of its own
//
// PlugHostCore: values, loading, calling, the host API and the memory vocabulary; two API-only
//   packages: swift-log's Logging and swift-metrics' CoreMetrics (the CLI, or the embedding
//   program, bootstraps their backends; until then logs go to stderr, metrics nowhere).
// PlugHostMemory: context cache, dependency batching, lazy clustering, the engine protocol,
//   the engine registry and the in-memory engine.
// PlugHostSQLite (GRDB), PlugHostPostgres (postgres-nio): one target per durable engine.
// PlugHostIsolation: the host's side of process isolation (workers, deadlines, quarantine).
// PlugHost: the embedding runtime; re-exports Core, Memory and SQLite.
// See docs/architecture.md.
let testDependencies: [Target.Dependency] = [
    "PlugHostTestSupport", "PlugHost", "PlugHostPipeline", "PlugHostPostgres", "PlugHostTools", "CPlugHostABI", "CPlugHostRuntime",
    "PlugHostIsolation",
]

let package = Package(
    name: "plughost",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "plughost", targets: ["PlugHostCLI"]),
        // Runs one plugin in a supervised process of its own (process isolation); the host
        // finds it beside itself.
        .executable(name: "plughost-worker", targets: ["PlugHostWorker"]),
        // The Swift library: the runtime with the embedded engines, and pipelines.
        .library(name: "PlugHost", targets: ["PlugHost", "PlugHostPipeline"]),
        // The PostgreSQL engine, for hosts that share one memory. Call
        // `PostgresEngine.register()` once at start-up.
        .library(name: "PlugHostPostgres", targets: ["PlugHostPostgres"]),
        // Bundled plugins, built as shared objects: libtext.so, libsig.so.
        .library(name: "text", type: .dynamic, targets: ["PluginText"]),
        .library(name: "sig", type: .dynamic, targets: ["PluginSig"]),
        // The C embedding API (include/plughost/embed.h) as a shared object: libplughost_embed.so.
        // (Not "plughost": that name is the executable's, and SwiftPM drops a second product
        // of the same name.) With the PostgreSQL trait it also opens `postgres` engines.
        .library(name: "plughost_embed", type: .dynamic, targets: ["PlugHostEmbed"]),
    ],
    traits: [
        .trait(
            name: "PostgreSQL",
            description: "libplughost_embed.so opens PostgreSQL engines too (links swift-nio, swift-nio-ssl and postgres-nio)."
        )
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // Only for `plughost bench mcp`'s baseline: the same tool served with the SDK's stdio transport.
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
        // Metrics: the libraries use swift-metrics' API only; the CLI bootstraps the Prometheus backend.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // libffi, with static inline accessors for its type globals.
        .systemLibrary(
            name: "CFFI",
            pkgConfig: "libffi",
            providers: [.apt(["libffi-dev"])]
        ),
        // The public plugin ABI header (include/plughost/plughost.h) as a module.
        .systemLibrary(name: "CPlugHostABI"),

        // What the runtime does in C: the per-thread live call context, the fork guard,
        // spawning workers, pidfds, resource limits and the Landlock sandbox.
        .target(name: "CPlugHostRuntime"),

        // Values, loading, calling, the host API, the memory vocabulary and the worker wire
        // format. Only the Logging and CoreMetrics APIs: the CLI (or the embedding app) picks backends.
        .target(
            name: "PlugHostCore",
            dependencies: [
                "CFFI", "CPlugHostABI", "CPlugHostRuntime", .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Process isolation, the host's side: supervised workers, deadlines, crash quarantine.
        .target(
            name: "PlugHostIsolation",
            dependencies: [
                "PlugHostCore",
                "CPlugHostRuntime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // plughost-worker: runs one plugin in a process of its own for a host.
        .executableTarget(
            name: "PlugHostWorker",
            dependencies: ["PlugHostCore", "CPlugHostRuntime", .product(name: "Logging", package: "swift-log")]
        ),
        // Context cache → dependency batching → engine → lazy clustering; the engine protocol,
        // the engine registry and the in-memory engine.
        .target(
            name: "PlugHostMemory",
            dependencies: [
                "PlugHostCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The embedded default engine.
        .target(
            name: "PlugHostSQLite",
            dependencies: [
                "PlugHostMemory",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // One memory shared by many hosts.
        .target(
            name: "PlugHostPostgres",
            dependencies: [
                "PlugHostMemory",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The embedding runtime and the plugin host: what `import PlugHost` gives.
        .target(
            name: "PlugHost",
            dependencies: ["PlugHostCore", "PlugHostMemory", "PlugHostSQLite", "PlugHostIsolation"]
        ),
        // `plughost run`: pipeline files over a host.
        .target(
            name: "PlugHostPipeline",
            dependencies: [
                "PlugHost",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The MCP server (stdio and Streamable HTTP) and tool schemas generated from the ABI.
        .target(
            name: "PlugHostMCP",
            dependencies: [
                "PlugHost",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Benchmarks and workload tools (generator, replayer, export): the CLI's, not the library's.
        .target(
            name: "PlugHostTools",
            dependencies: [
                "PlugHost",
                "PlugHostPipeline",
                "PlugHostPostgres",
                "CFFI",
                "CPlugHostRuntime",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "MCP", package: "swift-sdk"),
            ]
        ),
        .executableTarget(
            name: "PlugHostCLI",
            dependencies: [
                "PlugHost",
                "PlugHostPipeline",
                "PlugHostPostgres",
                "PlugHostTools",
                "PlugHostIsolation",
                "PlugHostMCP",
                "CPlugHostABI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "PlugHostEmbed",
            dependencies: [
                "PlugHost",
                "PlugHostPipeline",
                .target(name: "PlugHostPostgres", condition: .when(traits: ["PostgreSQL"])),
            ]
        ),
        .target(
            name: "PluginText",
            path: "Plugins/text",
            publicHeadersPath: ".",
            cSettings: [.headerSearchPath("../../include")]
        ),
        .target(
            name: "PluginSig",
            path: "Plugins/sig",
            publicHeadersPath: ".",
            cSettings: [.headerSearchPath("../../include")]
        ),
        // Tests, split by layer, over one support target (temporary directories, the built
        // binaries, the independent oracle, engine stores, a PostgreSQL test server).
        .target(
            name: "PlugHostTestSupport",
            dependencies: ["PlugHost", "PlugHostPipeline", "PlugHostPostgres", "PlugHostTools"],
            path: "Tests/PlugHostTestSupport"
        ),
        .testTarget(name: "PlugHostCoreTests", dependencies: testDependencies),
        .testTarget(name: "PlugHostMemoryTests", dependencies: testDependencies),
        .testTarget(name: "PlugHostEngineTests", dependencies: testDependencies),
        .testTarget(name: "PlugHostPipelineTests", dependencies: testDependencies),
        .testTarget(name: "PlugHostRuntimeTests", dependencies: testDependencies),
        .testTarget(name: "PlugHostMCPTests", dependencies: testDependencies + ["PlugHostMCP"]),
    ],
    swiftLanguageModes: [.v6]
)
