import CPlugHostABI
import PlugHost
@testable import PlugHostCore
import PlugHostTestSupport
import XCTest

/// ABI minor 1: parameter metadata is read, checked at load, enforced on calls, and a
/// minor-0 plugin (a smaller ph_function) still loads.
final class ParameterMetadataTests: XCTestCase {
    private func build(_ name: String, _ body: String) throws -> String {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let src = try TestSupport.write(
            "#include \"plughost/plughost.h\"\n#include <stddef.h>\n#include <string.h>\n" + body, to: dir, "\(name).c")
        let out = dir.appendingPathComponent("\(name).so").path
        try TestSupport.compileC(source: src, output: out)
        return out
    }

    private func plugin(_ name: String, info: String, size: String = "sizeof(ph_function)", type: String = "PH_TYPE_INT32") -> String {
        """
        __attribute__((unused)) static int32_t echo(int32_t v) { return v; }
        __attribute__((unused)) static const char *pick(const char *v) { return v; }
        __attribute__((unused)) static const char *const allowed[] = {"en", "fr"};
        \(info)
        static const ph_param_info *const infos[] = {&info};
        static const uint32_t types[] = {\(type)};
        static const char *const names[] = {"v"};
        static const ph_function f = { \(size), "f", NULL, \(type == "PH_TYPE_STRING" ? "(void (*)(void))pick" : "(void (*)(void))echo"), \(type), 1, types, names, 0, 0, infos, "the value", NULL };
        static const ph_function *const fs[] = { &f };
        static const ph_plugin p = { sizeof(ph_plugin), PLUGHOST_ABI_MAJOR, PLUGHOST_ABI_MINOR, 0, "\(name)", "1.0.0", NULL, 1, fs, NULL, NULL, NULL };
        PLUGHOST_DECLARE_ENTRY() { return &p; }

        """
    }

    func testRangeDefaultAndAllowedValuesAreReadAndEnforced() throws {
        let ranged = try build(
            "ranged",
            plugin(
                "ranged",
                info:
                    #"static const ph_param_info info = { sizeof(ph_param_info), PH_PARAM_HAS_MINIMUM | PH_PARAM_HAS_MAXIMUM | PH_PARAM_OPTIONAL, "a small number", -3, 7, "5", NULL, 0, 0 };"#
            ))
        let p = try PluginLoader.load(path: ranged, services: try MemoryService(engine: InMemoryEngine()))
        defer { p.shutdown() }
        let f = try XCTUnwrap(p.function(named: "f"))
        XCTAssertEqual(f.parameters[0].minimum, -3)
        XCTAssertEqual(f.parameters[0].maximum, 7)
        XCTAssertEqual(f.parameters[0].defaultValue, .int(5))
        XCTAssertEqual(f.parameters[0].description, "a small number")
        XCTAssertEqual(f.resultDoc, "the value")
        XCTAssertEqual(try f.call([.int(7)]), .int(7))
        XCTAssertEqual(try f.call([.int(-3)]), .int(-3))
        let e = TestSupport.expectError(CallError.self) { try f.call([.int(8)]) }
        XCTAssertEqual(e?.code, .argumentRange)
        XCTAssertEqual(e?.message, "argument v is 8, above its maximum 7")

        let enumerated = try build(
            "enumerated",
            plugin(
                "enumerated", info: #"static const ph_param_info info = { sizeof(ph_param_info), 0, NULL, 0, 0, NULL, allowed, 2, 0 };"#,
                type: "PH_TYPE_STRING"))
        let q = try PluginLoader.load(path: enumerated, services: try MemoryService(engine: InMemoryEngine()))
        defer { q.shutdown() }
        let g = try XCTUnwrap(q.function(named: "f"))
        XCTAssertEqual(g.parameters[0].allowed, ["en", "fr"])
        XCTAssertEqual(try g.call([.string("fr")]), .string("fr"))
        XCTAssertEqual(
            TestSupport.expectError(CallError.self) { try g.call([.string("de")]) }?.message, #"argument v is "de", not one of "en", "fr""#)
    }

    func testAMinorZeroFunctionWithoutTheNewFieldsStillLoads() throws {
        let old = try build(
            "minor0",
            plugin(
                "minor0", info: "static const ph_param_info info = { 0 };", size: "(uint32_t)offsetof(ph_function, params)"))
        let p = try PluginLoader.load(path: old, services: try MemoryService(engine: InMemoryEngine()))
        defer { p.shutdown() }
        let f = try XCTUnwrap(p.function(named: "f"))
        XCTAssertNil(f.parameters[0].minimum, "fields beyond struct_size are not read")
        XCTAssertEqual(f.resultDoc, "")
        XCTAssertEqual(try f.call([.int(123)]), .int(123))
    }

    func testBadMetadataIsALoadErrorNamingTheParameter() throws {
        for (name, info, expected) in [
            (
                "min_over_max", #"{ sizeof(ph_param_info), PH_PARAM_HAS_MINIMUM | PH_PARAM_HAS_MAXIMUM, NULL, 9, 1, NULL, NULL, 0, 0 }"#,
                "function f: parameter v: minimum 9.0 is above maximum 1.0"
            ),
            (
                "optional_no_default", #"{ sizeof(ph_param_info), PH_PARAM_OPTIONAL, NULL, 0, 0, NULL, NULL, 0, 0 }"#,
                "function f: parameter v: PH_PARAM_OPTIONAL needs a default_json"
            ),
            (
                "bad_default", #"{ sizeof(ph_param_info), PH_PARAM_OPTIONAL | PH_PARAM_HAS_MAXIMUM, NULL, 0, 3, "4", NULL, 0, 0 }"#,
                "function f: parameter v: default_json: argument v is 4, above its maximum 3"
            ),
            (
                "unknown_flag", #"{ sizeof(ph_param_info), 64, NULL, 0, 0, NULL, NULL, 0, 0 }"#,
                "function f: parameter v: unknown parameter flag bits 0x40"
            ),
            ("allowed_on_int", #"{ sizeof(ph_param_info), 0, NULL, 0, 0, NULL, allowed, 2, 0 }"#, "allowed values need a string parameter"),
        ] {
            let path = try build(name, plugin(name, info: "static const ph_param_info info = \(info);"))
            let e = TestSupport.expectError(LoadError.self) {
                try PluginLoader.load(path: path, services: try MemoryService(engine: InMemoryEngine()))
            }
            XCTAssertEqual(e?.code, .invalidFunction, name)
            XCTAssertTrue(e?.description.contains(expected) ?? false, "\(name): \(e?.description ?? "no error")")
        }
    }

    /// Integer arguments are compared with bounds exactly: through Double, 2^53 + 1 would pass
    /// a maximum of 2^53 and Int64.max a maximum of 2^63 - 1024.
    func testIntegerBoundsAreExact() throws {
        let big = 9_007_199_254_740_992.0  // 2^53
        let p = Parameter(name: "n", type: .int64, minimum: -big, maximum: big)
        XCTAssertNoThrow(try p.check(.int(9_007_199_254_740_992), function: "f"))
        XCTAssertThrowsError(try p.check(.int(9_007_199_254_740_993), function: "f"))
        XCTAssertNoThrow(try p.check(.int(-9_007_199_254_740_992), function: "f"))
        XCTAssertThrowsError(try p.check(.int(-9_007_199_254_740_993), function: "f"))
        let u = Parameter(name: "u", type: .uint64, minimum: 0.5, maximum: 9_223_372_036_854_774_784)  // 2^63 - 1024
        XCTAssertThrowsError(try u.check(.uint(0), function: "f"), "0 is below 0.5")
        XCTAssertNoThrow(try u.check(.uint(1), function: "f"))
        XCTAssertNoThrow(try u.check(.uint(9_223_372_036_854_774_784), function: "f"))
        XCTAssertThrowsError(try u.check(.uint(9_223_372_036_854_774_785), function: "f"))
        let i = Parameter(name: "i", type: .int64, maximum: 9_223_372_036_854_774_784)
        XCTAssertThrowsError(try i.check(.int(Int64.max), function: "f"))
        let wide = Parameter(name: "w", type: .int64, minimum: -1e30, maximum: 1e30)
        XCTAssertNoThrow(try wide.check(.int(Int64.min), function: "f"))
        XCTAssertNoThrow(try wide.check(.int(Int64.max), function: "f"))
        let d = Parameter(name: "d", type: .double, minimum: 0.5, maximum: 1.5)
        XCTAssertThrowsError(try d.check(.double(0.4999), function: "f"))
        XCTAssertThrowsError(try d.check(.double(.nan), function: "f"), "NaN is in no range")
        XCTAssertNoThrow(try d.check(.double(1.5), function: "f"))
    }

    /// The checks a worker's descriptor gets on the host's side.
    func testMetadataProblemsAreFound() {
        XCTAssertNil(Parameter(name: "k", type: .int32, minimum: 1, maximum: 50, defaultValue: .int(10)).metadataProblem)
        XCTAssertNotNil(Parameter(name: "k", type: .int32, minimum: 5, maximum: 1).metadataProblem)
        XCTAssertNotNil(Parameter(name: "k", type: .string, minimum: 1).metadataProblem)
        XCTAssertNotNil(Parameter(name: "k", type: .int32, allowed: ["a"]).metadataProblem)
        XCTAssertNotNil(Parameter(name: "k", type: .int32, defaultValue: .string("x")).metadataProblem)
        XCTAssertNotNil(Parameter(name: "k", type: .int8, defaultValue: .int(300)).metadataProblem)
        XCTAssertNotNil(Parameter(name: "k", type: .int32, maximum: 5, defaultValue: .int(6)).metadataProblem)
        XCTAssertNotNil(Parameter(name: "k", type: .string, allowed: ["a"], defaultValue: .string("b")).metadataProblem)
        XCTAssertNotNil(Parameter(name: "k", type: .double, maximum: .infinity).metadataProblem)
    }
}
