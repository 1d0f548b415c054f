import Foundation
import PlugHostTestSupport
import XCTest

/// Runs the Python client tests in Tests/MCPClient against the built `plughost`: the official
/// MCP Python SDK over stdio and HTTP, `jsonschema` over `plughost tools`' output, and
/// prometheus_client's parser over `plughost stats --prometheus` and `/metrics`.
/// They are skipped where the `mcp` package is missing, unless PLUGHOST_REQUIRE_MCP=1 (CI).
final class MCPClientTests: XCTestCase {
    func testOfficialPythonClientAndSchemaValidators() throws {
        let plughost = try TestSupport.plughostExecutable()
        guard let python = TestSupport.resolveExecutable("python3") else { throw XCTSkip("no python3") }
        let probe = try TestSupport.run(python, ["-c", "import mcp, jsonschema, pytest, prometheus_client"])
        if probe.status != 0 {
            if ProcessInfo.processInfo.environment["PLUGHOST_REQUIRE_MCP"] == "1" {
                XCTFail("PLUGHOST_REQUIRE_MCP=1 but python3 cannot import mcp, jsonschema, pytest and prometheus_client: \(probe.stderr)")
                return
            }
            throw XCTSkip(
                "python3 lacks mcp, jsonschema, pytest or prometheus_client (pip install mcp jsonschema pytest prometheus_client)")
        }
        let dir = TestSupport.repoRoot.appendingPathComponent("Tests/MCPClient").path
        let r = try TestSupport.run(
            python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", dir],
            environment: TestSupport.environment(["PLUGHOST_BIN": plughost]), timeout: 900)
        XCTAssertEqual(r.status, 0, "pytest failed:\n\(r.stdout.suffix(20000))\n\(r.stderr.suffix(5000))")
        XCTAssertFalse(r.stdout.contains(" skipped"), "no client test may be skipped:\n\(r.stdout.suffix(3000))")
    }
}
