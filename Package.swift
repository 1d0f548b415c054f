// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "plughost",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "plughost", targets: ["PlugHostCLI"]),
        .library(name: "PlugHost", targets: ["PlugHost"]),
        // Bundled plugins, built as shared objects: libtext.so, libsig.so.
        .library(name: "text", type: .dynamic, targets: ["PluginText"]),
        .library(name: "sig", type: .dynamic, targets: ["PluginSig"]),
        // The C embedding API (include/plughost/embed.h) as a shared object: libplughost_embed.so.
        // (Not "plughost": that name is the executable's, and SwiftPM drops a second product
        // of the same name.)
        .library(name: "plughost_embed", type: .dynamic, targets: ["PlugHostEmbed"]),
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
        .target(
            name: "PlugHost",
            dependencies: [
                "CFFI",
                "CPlugHostABI",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "PlugHostCLI",
            dependencies: [
                "PlugHost",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "PlugHostEmbed",
            dependencies: ["PlugHost"]
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
        .testTarget(
            name: "PlugHostTests",
            dependencies: ["PlugHost", "CPlugHostABI"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
