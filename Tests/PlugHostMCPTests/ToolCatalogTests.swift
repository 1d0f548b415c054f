import PlugHost
import PlugHostTestSupport
import XCTest

@testable import PlugHostMCP

final class ToolCatalogTests: XCTestCase {
    func testNamesAreValidForEveryFormat() {
        XCTAssertEqual(ToolCatalog.sanitize("my plugin.do-it"), "my_plugin_do-it")
        XCTAssertEqual(ToolCatalog.sanitize(String(repeating: "a", count: 80)).count, 64)
        XCTAssertEqual(ToolCatalog.sanitize("é"), "_")
        XCTAssertEqual(ResourceURI.parse(ResourceURI.clusters(goal: "a b/c")), .clusters(goal: "a b/c"))
        XCTAssertEqual(ResourceURI.parse(ResourceURI.context(goal: "g", plugin: "text")), .context(goal: "g", plugin: "text"))
        XCTAssertNil(ResourceURI.parse("plughost://goals//clusters"))
    }
}
