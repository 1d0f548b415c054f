// swift-tools-version: 6.0
// An agent that embeds plughost as a Swift library (see README.md).
import PackageDescription

let package = Package(
    name: "embed-swift",
    platforms: [.macOS(.v15)],
    dependencies: [
        // This repository, two folders up.
        .package(name: "plughost", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "embed-agent",
            dependencies: [.product(name: "PlugHost", package: "plughost")]
        )
    ],
    swiftLanguageModes: [.v6]
)
