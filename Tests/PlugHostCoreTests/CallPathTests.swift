import Dispatch
import Foundation
import Synchronization
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPostgres
@testable import PlugHostPipeline
@testable import PlugHostTools

/// The call path through libffi, with the bundled `sig` plugin (every type, stack-spilled
/// arguments, every ownership mode) and the `text` plugin (the host API), each in a
/// `PluginHost` over `MemoryService(engine: InMemoryEngine())`.
final class CallPathTests: XCTestCase {
    private var host: PluginHost!

    override func setUpWithError() throws {
        host = try TestSupport.makeHost(loading: ["sig", "text"])
    }

    override func tearDownWithError() throws {
        try host?.close()
        host = nil
    }

    private func sig(_ function: String, _ arguments: [Value], file: StaticString = #filePath, line: UInt = #line) throws -> Value {
        try host.call("sig", function, arguments)
    }

    /// The CallError `sig.function(arguments)` throws.
    private func callError(
        _ function: String, _ arguments: [Value], plugin: String = "sig", file: StaticString = #filePath, line: UInt = #line
    ) -> CallError? {
        TestSupport.expectError(CallError.self, "\(plugin).\(function)(\(arguments))", file: file, line: line) {
            try host.call(plugin, function, arguments)
        }
    }

    private func assertCallError(
        _ function: String, _ arguments: [Value], _ code: CallError.Code, contains parts: [String] = [],
        plugin: String = "sig", file: StaticString = #filePath, line: UInt = #line
    ) {
        guard let e = callError(function, arguments, plugin: plugin, file: file, line: line) else { return }
        XCTAssertEqual(e.code, code, "\(e)", file: file, line: line)
        XCTAssertEqual(e.function, "\(plugin).\(function)", file: file, line: line)
        for p in parts {
            XCTAssertTrue(e.message.contains(p), "\(e.message.debugDescription) lacks \(p.debugDescription)", file: file, line: line)
        }
    }

    private func freedCount() throws -> Int64 {
        guard case .int(let n) = try sig("freed_count", []) else { XCTFail("freed_count is not an int"); return -1 }
        return n
    }

    private func double(_ v: Value, file: StaticString = #filePath, line: UInt = #line) -> Double? {
        guard case .double(let d) = v else { XCTFail("expected a double, got \(v)", file: file, line: line); return nil }
        return d
    }

    // MARK: - Identity functions at their limits

    func testIntegerIdentitiesAtTheirLimits() throws {
        let signed: [(String, [Int64])] = [
            ("id_i8", [Int64(Int8.min), -1, 0, 1, Int64(Int8.max)]),
            ("id_i16", [Int64(Int16.min), -1, 0, 0x1234, Int64(Int16.max)]),
            ("id_i32", [Int64(Int32.min), -1, 0, 0x12345678, Int64(Int32.max)]),
            ("id_i64", [Int64.min, Int64.min + 1, -1, 0, 0x1234_5678_9ABC_DEF0, Int64.max]),
        ]
        for (f, values) in signed {
            for v in values { XCTAssertEqual(try sig(f, [.int(v)]), .int(v), "\(f)(\(v))") }
        }
        let unsigned: [(String, [UInt64])] = [
            ("id_u8", [0, 1, 0x7F, 0x80, UInt64(UInt8.max)]),
            ("id_u16", [0, 0x8000, UInt64(UInt16.max)]),
            ("id_u32", [0, 0x8000_0000, UInt64(UInt32.max)]),
            ("id_u64", [0, 1, UInt64(Int64.max), UInt64(Int64.max) + 1, 0xFEDC_BA98_7654_3210, UInt64.max]),
        ]
        for (f, values) in unsigned {
            for v in values { XCTAssertEqual(try sig(f, [.uint(v)]), .uint(v), "\(f)(\(v))") }
        }
        // The other integer case is accepted when it fits.
        XCTAssertEqual(try sig("id_i8", [.uint(127)]), .int(127))
        XCTAssertEqual(try sig("id_i64", [.uint(UInt64(Int64.max))]), .int(Int64.max))
        XCTAssertEqual(try sig("id_u8", [.int(255)]), .uint(255))
        XCTAssertEqual(try sig("id_u64", [.int(Int64.max)]), .uint(UInt64(Int64.max)))
    }

    func testBoolAndPointerIdentities() throws {
        XCTAssertEqual(try sig("id_bool", [.bool(true)]), .bool(true))
        XCTAssertEqual(try sig("id_bool", [.bool(false)]), .bool(false))
        for p: UInt in [0, 1, 0xDEAD_BEEF, 0x7FFF_FFFF_FFFF_FFF8, UInt.max] {
            XCTAssertEqual(try sig("id_ptr", [.pointer(p)]), .pointer(p), "id_ptr(\(p))")
        }
        XCTAssertEqual(try sig("id_ptr", [.uint(0x1000)]), .pointer(0x1000))
        XCTAssertEqual(try sig("id_ptr", [.int(0x2000)]), .pointer(0x2000))
    }

    func testFloatIdentityAtItsLimits() throws {
        let values: [Float] = [
            0, -0.0, 1, -1, 0.1, .pi, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
            .leastNormalMagnitude, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, Float.leastNormalMagnitude / 3,
            .infinity, -.infinity,
        ]
        for v in values {
            let got = try XCTUnwrap(double(try sig("id_f32", [.double(Double(v))])))
            XCTAssertEqual(got.bitPattern, Double(v).bitPattern, "id_f32(\(v)) = \(got)")
        }
        XCTAssertTrue(try XCTUnwrap(double(try sig("id_f32", [.double(.nan)]))).isNaN)
        // A double is rounded to the nearest float.
        XCTAssertEqual(try sig("id_f32", [.double(0.1)]), .double(Double(Float(0.1))))
        // Integers are accepted for floating-point parameters.
        XCTAssertEqual(try sig("id_f32", [.int(-3)]), .double(-3))
        XCTAssertEqual(try sig("id_f32", [.uint(1 << 24)]), .double(16_777_216))
    }

    func testDoubleIdentityAtItsLimits() throws {
        let values: [Double] = [
            0, -0.0, 1, -1, 0.1, .pi, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
            .leastNormalMagnitude, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, Double.leastNormalMagnitude / 1024,
            .infinity, -.infinity, 1e300, Double(Float.greatestFiniteMagnitude) * 2,
        ]
        for v in values {
            let got = try XCTUnwrap(double(try sig("id_f64", [.double(v)])))
            XCTAssertEqual(got.bitPattern, v.bitPattern, "id_f64(\(v)) = \(got)")
        }
        let nan = try XCTUnwrap(double(try sig("id_f64", [.double(.nan)])))
        XCTAssertTrue(nan.isNaN)
        XCTAssertEqual(try sig("id_f64", [.int(Int64.min)]), .double(Double(Int64.min)))
    }

    // MARK: - Rejected arguments

    func testOutOfRangeValuesAreRejected() {
        assertCallError("id_i8", [.int(300)], .argumentRange, contains: ["argument 1 (v)", "300 is out of range for int8"])
        assertCallError("id_i8", [.int(-129)], .argumentRange, contains: ["-129", "int8"])
        assertCallError("id_i8", [.uint(128)], .argumentRange, contains: ["128", "int8"])
        assertCallError("id_i16", [.int(32768)], .argumentRange, contains: ["int16"])
        assertCallError("id_i32", [.int(Int64(Int32.min) - 1)], .argumentRange, contains: ["int32"])
        assertCallError("id_i64", [.uint(UInt64(Int64.max) + 1)], .argumentRange, contains: ["int64"])
        assertCallError("id_u8", [.int(256)], .argumentRange, contains: ["256", "uint8"])
        assertCallError("id_u16", [.uint(65536)], .argumentRange, contains: ["uint16"])
        assertCallError("id_u32", [.int(-1)], .argumentRange, contains: ["argument 1 (v)", "-1 is out of range for uint32"])
        assertCallError("id_u32", [.uint(UInt64(UInt32.max) + 1)], .argumentRange, contains: ["uint32"])
        assertCallError("id_u64", [.int(-1)], .argumentRange, contains: ["uint64"])
        assertCallError("id_f32", [.double(1e39)], .argumentRange, contains: ["argument 1 (v)", "out of range for float"])
        assertCallError("id_f32", [.double(-1e39)], .argumentRange, contains: ["float"])
        assertCallError("id_f32", [.double(Double.greatestFiniteMagnitude)], .argumentRange, contains: ["float"])
        // The position and name of the bad argument are named.
        assertCallError(
            "mixed",
            [
                .int(1), .int(2), .int(3), .double(4), .int(5), .double(6), .int(7), .double(8), .bool(true), .int(10), .double(11),
                .int(256),
            ],
            .argumentRange, contains: ["argument 12 (l)", "256 is out of range for uint8"])
    }

    func testWrongKindsAreRejected() {
        assertCallError("id_i8", [.string("1")], .argumentType, contains: ["argument 1 (v)", "expected int8", "string"])
        assertCallError("id_i32", [.bool(true)], .argumentType, contains: ["expected int32", "bool"])
        assertCallError("id_i64", [.double(1.5)], .argumentType, contains: ["expected int64"])
        assertCallError("id_u64", [.double(1)], .argumentType, contains: ["expected uint64"])
        assertCallError("id_bool", [.int(1)], .argumentType, contains: ["expected bool"])
        assertCallError("id_f64", [.string("1.0")], .argumentType, contains: ["expected double"])
        assertCallError("id_f32", [.bool(false)], .argumentType, contains: ["expected float"])
        assertCallError("id_str", [.int(1)], .argumentType, contains: ["expected string"])
        assertCallError("id_str", [.buffer([0x41])], .argumentType, contains: ["expected string", "buffer"])
        assertCallError("id_buf", [.int(1)], .argumentType, contains: ["expected buffer"])
        assertCallError("id_ptr", [.string("0x10")], .argumentType, contains: ["expected pointer"])
        assertCallError("id_ptr", [.double(16)], .argumentType, contains: ["expected pointer"])
        assertCallError("add3", [.int(1), .void, .int(3)], .argumentType, contains: ["argument 2 (b)"])
        // A negative pointer is refused (of either kind), never passed on.
        XCTAssertNotNil(callError("id_ptr", [.int(-1)]))
    }

    func testStringWithInteriorNULIsRejected() throws {
        assertCallError("id_str", [.string("a\u{0}b")], .argumentRange, contains: ["argument 1 (v)", "NUL"])
        assertCallError("str_len", [.string("\u{0}")], .argumentRange, contains: ["NUL"])
        assertCallError("fail", [.string("x\u{0}")], .argumentRange, contains: ["NUL"])
        // Nothing was called: the plugin never freed anything for it.
        let before = try freedCount()
        _ = callError("id_str", [.string("abc\u{0}def")])
        XCTAssertEqual(try freedCount(), before)
    }

    func testWrongArgumentCount() {
        assertCallError("add3", [.int(1), .int(2)], .argumentCount, contains: ["expects 3 arguments (a, b, c), got 2"])
        assertCallError("add3", [.int(1), .int(2), .int(3), .int(4)], .argumentCount, contains: ["got 4"])
        assertCallError("noop", [.int(1)], .argumentCount, contains: ["expects 0 arguments", "got 1"])
        assertCallError("id_i8", [], .argumentCount, contains: ["expects 1 argument (v), got 0"])
    }

    func testUnknownFunctionAndPlugin() {
        assertCallError(
            "no_such_function", [], .unknownFunction, contains: ["plugin sig has no function no_such_function", "id_i8", "freed_count"])
        let e = TestSupport.expectError(CallError.self) { try host.call("no_such_plugin", "f", []) }
        XCTAssertEqual(e?.code, .unknownFunction)
        XCTAssertTrue(e?.message.contains("no plugin named no_such_plugin") ?? false, e?.message ?? "")
    }

    // MARK: - Many and mixed arguments

    func testSumI64x10SpillsToTheStack() throws {
        XCTAssertEqual(try sig("sum_i64x10", (1...10).map { .int($0) }), .int(55))
        // Distinct decimal digits: a dropped or duplicated argument shows.
        var p: Int64 = 1
        var args: [Value] = []
        for _ in 0..<10 { args.append(.int(p)); p *= 10 }
        XCTAssertEqual(try sig("sum_i64x10", args), .int(1_111_111_111))
        // Each argument alone, so each slot (registers and stack) is checked separately.
        for i in 0..<10 {
            var one = [Value](repeating: .int(0), count: 10)
            one[i] = .int(Int64(i + 1) * 1_000_000_007)
            XCTAssertEqual(try sig("sum_i64x10", one), .int(Int64(i + 1) * 1_000_000_007), "argument \(i + 1)")
        }
        XCTAssertEqual(try sig("sum_i64x10", [.int(Int64.max), .int(1)] + Array(repeating: .int(0), count: 8)), .int(Int64.min), "wraps")
        XCTAssertEqual(try sig("sum_i64x10", Array(repeating: .int(-1), count: 10)), .int(-10))
    }

    func testSumF64x10SpillsToTheStack() throws {
        // Powers of two: exact, and a lost argument changes the sum.
        XCTAssertEqual(try sig("sum_f64x10", (0..<10).map { .double(Double(1 << $0)) }), .double(1023))
        for i in 0..<10 {
            var one = [Value](repeating: .double(0), count: 10)
            one[i] = .double(Double(i) + 0.5)
            XCTAssertEqual(try sig("sum_f64x10", one), .double(Double(i) + 0.5), "argument \(i + 1)")
        }
        // Eight doubles fill the SSE registers; the ninth and tenth go on the stack.
        let v: [Double] = [0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 1024, 4096]
        XCTAssertEqual(try sig("sum_f64x10", v.map { .double($0) }), .double(v.reduce(0, +)))
    }

    /// What sig's `mixed` computes, in the same order and precision as the C code.
    private func mixedExpected(
        _ a: Int8, _ b: UInt16, _ c: Int32, _ d: Float, _ e: UInt64, _ f: Double,
        _ g: Int16, _ h: Float, _ i: Bool, _ j: Int64, _ k: Double, _ l: UInt8
    ) -> Double {
        var s = Double(a) * 1
        s += Double(b) * 2
        s += Double(c) * 3
        s += Double(d) * 4
        s += Double(e) * 5
        s += f * 6
        s += Double(g) * 7
        s += Double(h) * 8
        s += i ? 9.0 : 0.0
        s += Double(j) * 10
        s += k * 11
        s += Double(l) * 12
        return s
    }

    func testMixedPutsEveryArgumentInItsSlot() throws {
        let r = try sig(
            "mixed",
            [
                .int(1), .uint(2), .int(3), .double(4), .uint(5), .double(6), .int(7), .double(8), .bool(true), .int(10), .double(11),
                .uint(12),
            ])
        XCTAssertEqual(r, .double(578))
        XCTAssertEqual(mixedExpected(1, 2, 3, 4, 5, 6, 7, 8, true, 10, 11, 12), 578)
        let same = try sig(
            "mixed", [.int(1), .int(2), .int(3), .int(4), .int(5), .int(6), .int(7), .int(8), .bool(true), .int(10), .int(11), .int(12)])
        XCTAssertEqual(same, .double(578))
        // Extremes of every type, bool false.
        let got = try sig(
            "mixed",
            [
                .int(-128), .uint(65535), .int(Int64(Int32.min)), .double(0.5), .uint(1 << 40), .double(-1.25),
                .int(-32768), .double(2.5), .bool(false), .int(-7), .double(1e6), .uint(255),
            ])
        XCTAssertEqual(got, .double(mixedExpected(-128, 65535, Int32.min, 0.5, 1 << 40, -1.25, -32768, 2.5, false, -7, 1e6, 255)))
        XCTAssertEqual(got, .double(5_491_126_592_506.5))
        // Each argument alone: only its weight shows.
        let weights: [Double] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
        for i in 0..<12 {
            var args: [Value] = [
                .int(0), .uint(0), .int(0), .double(0), .uint(0), .double(0), .int(0), .double(0), .bool(false), .int(0), .double(0),
                .uint(0),
            ]
            args[i] = i == 8 ? .bool(true) : .int(1)
            XCTAssertEqual(try sig("mixed", args), .double(i == 8 ? 9 : weights[i]), "argument \(i + 1)")
        }
    }

    func testAdd3AndNoop() throws {
        XCTAssertEqual(try sig("add3", [.int(1), .int(2), .int(3)]), .int(6))
        XCTAssertEqual(try sig("add3", [.int(-5), .int(2), .int(-3)]), .int(-6))
        XCTAssertEqual(try sig("add3", [.int(Int64.max), .int(1), .int(0)]), .int(Int64.min))
        XCTAssertEqual(try sig("noop", []), .void)
    }

    // MARK: - Strings

    func testStringsRoundTrip() throws {
        for s in ["", "a", "hello, world", "héllo wörld", "日本語のテキスト", "emoji 🎉👩‍👩‍👧", "tab\tnew\nline", "\u{7F}\u{80}\u{10FFFF}"] {
            XCTAssertEqual(try sig("id_str", [.string(s)]), .string(s), s.debugDescription)
            XCTAssertEqual(try sig("str_len", [.string(s)]), .uint(UInt64(s.utf8.count)), s.debugDescription)
        }
    }

    func testOneMegabyteString() throws {
        var s = String(repeating: "0123456789abcdef", count: 65536)  // 1 MiB
        s += "ü✓"
        XCTAssertEqual(try sig("str_len", [.string(s)]), .uint(UInt64(1 << 20) + 5))
        let back = try sig("id_str", [.string(s)])
        guard case .string(let r) = back else { return XCTFail("not a string: \(back)") }
        XCTAssertEqual(r.utf8.count, s.utf8.count)
        XCTAssertTrue(r == s)
    }

    func testIdStrFreesThroughFreeValueOncePerCall() throws {
        let start = try freedCount()
        for i in 1...5 {
            XCTAssertEqual(try sig("id_str", [.string("value \(i)")]), .string("value \(i)"))
            XCTAssertEqual(try freedCount(), start + Int64(i), "free_value runs exactly once per id_str call")
        }
        // Static strings and host-allocated results never go to free_value.
        for _ in 0..<3 {
            XCTAssertEqual(try sig("static_str", []), .string("static string from sig"))
            XCTAssertEqual(try sig("id_buf", [.buffer([1, 2, 3])]), .buffer([1, 2, 3]))
        }
        XCTAssertEqual(try freedCount(), start + 5)
        // Through a PreparedCall, once per invoke.
        let prepared = try XCTUnwrap(host.plugin(named: "sig")?.function(named: "id_str")).prepare([.string("prepared")])
        for k in 1...3 {
            XCTAssertEqual(try prepared.invoke(), .string("prepared"))
            XCTAssertEqual(try freedCount(), start + 5 + Int64(k))
        }
    }

    func testStaticString() throws {
        for _ in 0..<3 { XCTAssertEqual(try sig("static_str", []), .string("static string from sig")) }
    }

    // MARK: - Buffers

    func testBuffersByValue() throws {
        let bytes: [UInt8] = [0, 1, 2, 0x7F, 0x80, 0xFE, 0xFF]
        XCTAssertEqual(try sig("id_buf", [.buffer(bytes)]), .buffer(bytes))
        XCTAssertEqual(try sig("buf_reverse", [.buffer(bytes)]), .buffer(bytes.reversed()))
        XCTAssertEqual(try sig("buf_sum", [.buffer(bytes)]), .uint(bytes.reduce(0) { $0 + UInt64($1) }))
        XCTAssertEqual(try sig("buf_sum", [.buffer([UInt8](repeating: 255, count: 1000))]), .uint(255_000))
        // A string is accepted for a buffer (its UTF-8 bytes).
        XCTAssertEqual(try sig("buf_sum", [.string("abc")]), .uint(97 + 98 + 99))
        XCTAssertEqual(try sig("id_buf", [.string("é")]), .buffer([0xC3, 0xA9]))
        // NUL bytes are fine in a buffer.
        XCTAssertEqual(try sig("id_buf", [.buffer([0, 0, 0])]), .buffer([0, 0, 0]))
        // Large.
        let big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        XCTAssertEqual(try sig("id_buf", [.buffer(big)]), .buffer(big))
        XCTAssertEqual(try sig("buf_reverse", [.buffer(big)]), .buffer(big.reversed()))
    }

    func testEmptyBuffer() throws {
        XCTAssertEqual(try sig("id_buf", [.buffer([])]), .buffer([]))
        XCTAssertEqual(try sig("buf_reverse", [.buffer([])]), .buffer([]))
        XCTAssertEqual(try sig("buf_sum", [.buffer([])]), .uint(0))
        XCTAssertEqual(try sig("id_buf", [.string("")]), .buffer([]))
    }

    // MARK: - Errors and logging

    func testFailReportsThePluginMessage() {
        for message in ["boom", "it went wrong: ünïcødé ✗", String(repeating: "x", count: 10_000)] {
            guard let e = callError("fail", [.string(message)]) else { continue }
            XCTAssertEqual(e.code, .pluginError)
            XCTAssertEqual(e.function, "sig.fail")
            XCTAssertEqual(e.message, message)
            XCTAssertEqual(e.description, "sig.fail: \(message)")
        }
    }

    func testErrorDoesNotLeakIntoTheNextCall() throws {
        _ = callError("fail", [.string("first")])
        XCTAssertEqual(try sig("add3", [.int(1), .int(1), .int(1)]), .int(3))
        XCTAssertEqual(try sig("log_hello", []), .void)
        XCTAssertEqual(callError("fail", [.string("second")])?.message, "second")
    }

    func testLogHello() throws {
        XCTAssertEqual(try sig("log_hello", []), .void)
        XCTAssertEqual(try sig("log_hello", []), .void)
    }

    // MARK: - PreparedCall

    func testPreparedCallGivesTheSameAsCall() throws {
        let sig = try XCTUnwrap(host.plugin(named: "sig"))
        let cases: [(String, [Value])] = [
            ("add3", [.int(1), .int(2), .int(3)]),
            ("id_i8", [.int(-128)]),
            ("id_u64", [.uint(UInt64.max)]),
            ("id_f32", [.double(Double(Float.leastNonzeroMagnitude))]),
            ("id_f64", [.double(-.infinity)]),
            ("id_bool", [.bool(true)]),
            ("id_ptr", [.pointer(0xABCDEF)]),
            ("id_str", [.string("prepared ✓")]),
            ("static_str", []),
            ("id_buf", [.buffer([9, 8, 7])]),
            ("buf_reverse", [.buffer([1, 2, 3])]),
            ("buf_sum", [.buffer([])]),
            ("sum_i64x10", (1...10).map { .int($0) }),
            ("sum_f64x10", (1...10).map { .double(Double($0) / 4) }),
            (
                "mixed",
                [
                    .int(1), .uint(2), .int(3), .double(4), .uint(5), .double(6), .int(7), .double(8), .bool(true), .int(10), .double(11),
                    .uint(12),
                ]
            ),
            ("noop", []),
            ("log_hello", []),
        ]
        for (name, args) in cases {
            let f = try XCTUnwrap(sig.function(named: name), name)
            let direct = try f.call(args)
            let prepared = try f.prepare(args)
            XCTAssertTrue(prepared.function === f)
            for _ in 0..<3 {
                XCTAssertEqual(try prepared.invoke(), direct, name)
            }
        }
        // A prepared call whose function reports an error reports it each time.
        let fail = try sig.function(named: "fail").map { try $0.prepare([.string("prepared failure")]) }
        for _ in 0..<2 {
            let e = TestSupport.expectError(CallError.self) { try fail?.invoke() }
            XCTAssertEqual(e?.code, .pluginError)
            XCTAssertEqual(e?.message, "prepared failure")
        }
        XCTAssertEqual(try sig.function(named: "add3")?.prepare([.int(1), .int(2), .int(3)]).invoke(goal: "other"), .int(6))
    }

    func testPreparedCallWithTheWrongArgumentCount() throws {
        let f = try XCTUnwrap(host.plugin(named: "sig")?.function(named: "add3"))
        let e = TestSupport.expectError(CallError.self) { try f.prepare([.int(1)]) }
        XCTAssertEqual(e?.code, .argumentCount)
        XCTAssertEqual(e?.function, "sig.add3")
    }

    /// A rejected argument in `prepare` must throw the same error as `call` — and leave the
    /// process intact. It runs in a child process (see `inChildProcess`), so that a crash
    /// fails this test only.
    func testPreparedCallRejectsBadArgumentsWithoutCrashing() throws {
        try inChildProcess(#function) {
            let sig = try XCTUnwrap(host.plugin(named: "sig"))
            let cases: [(String, [Value], CallError.Code)] = [
                ("id_i8", [.int(300)], .argumentRange),
                ("id_u32", [.int(-1)], .argumentRange),
                ("id_f32", [.double(1e39)], .argumentRange),
                ("id_i32", [.string("7")], .argumentType),
                ("id_str", [.string("a\u{0}b")], .argumentRange),
                ("add3", [.int(1), .string("2"), .int(3)], .argumentType),
                ("fail", [.string("nul\u{0}inside")], .argumentRange),
            ]
            for (name, args, code) in cases {
                let f = try XCTUnwrap(sig.function(named: name))
                let fromCall = TestSupport.expectError(CallError.self) { try f.call(args) }
                let fromPrepare = TestSupport.expectError(CallError.self, "prepare \(name)") { try f.prepare(args) }
                XCTAssertEqual(fromPrepare?.code, code, name)
                XCTAssertEqual(fromPrepare, fromCall, name)
            }
            // And the process still works.
            XCTAssertEqual(try sig.call("add3", [.int(1), .int(2), .int(3)]), .int(6))
        }
    }

    /// Runs `body` in a child process that runs only this test (PLUGHOST_CALLPATH_CHILD set to its name), and asserts that
    /// the child passed: a crash in `body` fails this one test instead of the whole run.
    private func inChildProcess(_ function: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) throws {
        let marker = "PLUGHOST_CALLPATH_CHILD"
        let name = function.hasSuffix("()") ? String(function.dropLast(2)) : function
        if ProcessInfo.processInfo.environment[marker] == name {
            try body()
            return
        }
        let exe = try XCTUnwrap(TestSupport.runningBinary)
        let r = try TestSupport.run(
            exe, ["PlugHostCoreTests.CallPathTests/\(name)"], environment: TestSupport.environment([marker: name]), timeout: 300)
        let lines = (r.stdout + r.stderr).split(separator: "\n")
        let telling = lines.filter {
            $0.contains("error:") || $0.contains("crash") || $0.contains("free()") || $0.contains("Fatal") || $0.contains("Signal")
        }
        let summary = (telling.prefix(10) + lines.suffix(4)).joined(separator: "\n")
        XCTAssertEqual(r.status, 0, "the child running \(name) failed or crashed (exit \(r.status)):\n\(summary)", file: file, line: line)
        if r.status == 0 {
            XCTAssertTrue(
                (r.stdout + r.stderr).contains("Executed 1 test"), "the child did not run \(name):\n\(summary)", file: file, line: line)
        }
    }

    // MARK: - Threads

    func testConcurrentCallsFromManyThreads() throws {
        let sig = try XCTUnwrap(host.plugin(named: "sig"))
        XCTAssertTrue(try XCTUnwrap(sig.function(named: "add3")).threadSafe)
        XCTAssertFalse(try XCTUnwrap(sig.function(named: "id_str")).threadSafe)
        XCTAssertFalse(try XCTUnwrap(sig.function(named: "id_buf")).threadSafe)
        let before = try freedCount()
        let failures = Mutex<[String]>([])
        let iterations = 64, rounds = 40
        DispatchQueue.concurrentPerform(iterations: iterations) { i in
            func expect(_ name: String, _ args: [Value], _ want: Value) {
                do {
                    let got = try sig.call(name, args)
                    if got != want { failures.withLock { $0.append("\(name)\(args) = \(got), want \(want)") } }
                } catch {
                    failures.withLock { $0.append("\(name)\(args) threw \(error)") }
                }
            }
            let n = Int64(i)
            for r in 0..<rounds {
                let k = Int64(r)
                // Thread-safe functions.
                expect("add3", [.int(n), .int(k), .int(-1)], .int(n + k - 1))
                expect("id_i64", [.int(n * 1_000_003 + k)], .int(n * 1_000_003 + k))
                expect("sum_i64x10", (0..<10).map { .int(n + Int64($0)) }, .int(10 * n + 45))
                expect(
                    "mixed",
                    [
                        .int(1), .uint(2), .int(3), .double(4), .uint(5), .double(6), .int(7), .double(8), .bool(true), .int(10),
                        .double(11), .uint(12),
                    ], .double(578))
                expect("buf_reverse", [.buffer([UInt8(i), UInt8(r), 0xFF])], .buffer([0xFF, UInt8(r), UInt8(i)]))
                expect("str_len", [.string(String(repeating: "é", count: i))], .uint(UInt64(2 * i)))
                // Serialised ones: plugin-allocated, host-allocated, static, void.
                expect("id_str", [.string("thread \(i) round \(r) ✓")], .string("thread \(i) round \(r) ✓"))
                expect("id_buf", [.buffer([UInt8(i), UInt8(r)])], .buffer([UInt8(i), UInt8(r)]))
                expect("static_str", [], .string("static string from sig"))
                expect("noop", [], .void)
                if r % 8 == 0 {
                    do {
                        _ = try sig.call("fail", [.string("t\(i)r\(r)")])
                        failures.withLock { $0.append("fail did not throw") }
                    } catch let e as CallError {
                        if e.code != .pluginError || e.message != "t\(i)r\(r)" {
                            failures.withLock { $0.append("fail on \(i)/\(r) gave \(e) (another thread's error?)") }
                        }
                    } catch {
                        failures.withLock { $0.append("fail threw \(error)") }
                    }
                }
            }
        }
        let list = failures.withLock { $0 }
        XCTAssertTrue(list.isEmpty, "\(list.count) wrong results, first: \(list.prefix(5))")
        XCTAssertEqual(try freedCount(), before + Int64(iterations * rounds), "one free_value per id_str call")
    }

    func testConcurrentPreparedCallsOnePerThread() throws {
        let f = try XCTUnwrap(host.plugin(named: "sig")?.function(named: "mixed"))
        let failures = Mutex<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            do {
                let p = try f.prepare([
                    .int(Int64(i)), .uint(0), .int(0), .double(0), .uint(0), .double(0), .int(0), .double(0), .bool(false), .int(0),
                    .double(0), .uint(0),
                ])
                for _ in 0..<200 {
                    if try p.invoke() != .double(Double(i)) { failures.withLock { $0 += 1 } }
                }
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
    }

    /// Two hosts in one process share the mapped sig library (dlopen maps a file once), so
    /// sig's `init` and `shutdown` run on the same statics (plughost.h says so). Closing one
    /// host must not break the plugin in the other. In a child process: a crash fails this test only.
    func testClosingOneHostLeavesTheOtherHostsPluginWorking() throws {
        try inChildProcess(#function) {
            let other = try TestSupport.makeHost(loading: ["sig"])
            XCTAssertEqual(try other.call("sig", "id_buf", [.buffer([1, 2])]), .buffer([1, 2]))
            try other.close()
            // self.host loaded sig before `other` did and is still open.
            XCTAssertEqual(try host.call("sig", "add3", [.int(1), .int(2), .int(3)]), .int(6))
            XCTAssertEqual(try host.call("sig", "id_buf", [.buffer([1, 2, 3])]), .buffer([1, 2, 3]))
            XCTAssertEqual(try host.call("sig", "buf_reverse", [.buffer([1, 2, 3])]), .buffer([3, 2, 1]))
        }
    }

    /// After `close()` the plugins were shut down; CallError.unloaded ("The plugin was
    /// unloaded") is the documented failure for a call then. The call must throw it instead of
    /// running plugin code after its `shutdown` (sig's id_buf then dereferences the host table
    /// it cleared). In a child process: a crash fails this test only.
    func testCallAfterCloseThrowsUnloaded() throws {
        try inChildProcess(#function) {
            let sig = try XCTUnwrap(host.plugin(named: "sig"))
            let idBuf = try XCTUnwrap(sig.function(named: "id_buf"))
            try host.close()
            for (name, args) in [("add3", [Value.int(1), .int(2), .int(3)]), ("id_buf", [.buffer([1])])] {
                let e = TestSupport.expectError(CallError.self, name) { try host.call("sig", name, args) }
                XCTAssertEqual(e?.code, .unloaded, "\(name): \(e.map { "\($0)" } ?? "no error")")
            }
            let e = TestSupport.expectError(CallError.self) { try idBuf.call([.buffer([1])]) }
            XCTAssertEqual(e?.code, .unloaded)
        }
    }

    // MARK: - The text plugin through the host API

    private func text(_ function: String, _ arguments: [Value], goal: String = "default") throws -> Value {
        try host.call("text", function, arguments, goal: goal)
    }

    func testKeywordsWritesAMemoryRecallableByConcept() throws {
        let input = "The cat sat. The cat ran. A dog barked at the cat."
        XCTAssertEqual(try text("keywords", [.string(input), .int(2)], goal: "pets"), .string("cat, sat"))
        let recalled = try host.memory.recall(goal: "pets", .concept("cat"))
        XCTAssertEqual(recalled.count, 1)
        let m = try XCTUnwrap(recalled.first?.memory)
        XCTAssertEqual(m.content, input)
        XCTAssertEqual(m.plugin, "text")
        XCTAssertEqual(m.goal, "pets")
        XCTAssertEqual(Set(m.concepts), ["cat", "sat"])
        // Normalised lookup, the other keyword, and goals kept apart.
        XCTAssertEqual(try host.memory.recall(goal: "pets", .concept("  CAT ")).map(\.memory.id), [m.id])
        XCTAssertEqual(try host.memory.recall(goal: "pets", .concept("sat")).map(\.memory.id), [m.id])
        XCTAssertTrue(try host.memory.recall(goal: "pets", .concept("dog")).isEmpty, "dog was not among the top 2")
        XCTAssertTrue(try host.memory.recall(goal: "default", .concept("cat")).isEmpty)
        XCTAssertEqual(try host.memory.recall(goal: "pets", .plugin("text")).count, 1)
    }

    /// Issue 16: function words, common verbs and adverbs are stop words, so only the topic's
    /// words are keywords (before: gives, keeps, usually, makes, matters, want, decide, quickly
    /// came along and joined unrelated notes' concepts).
    func testKeywordsLeaveOutCommonVerbsAndAdverbs() throws {
        let input =
            "The grinder gives an even grind and usually keeps the coffee fresh; it often makes espresso taste better, "
            + "which matters because people want to decide quickly."
        XCTAssertEqual(
            try text("keywords", [.string(input), .int(20)], goal: "stop"),
            .string("grinder, grind, coffee, fresh, espresso, taste, people"))
        // Topic words that are also verbs stay keywords.
        XCTAssertEqual(
            try text("keywords", [.string("Basil leaves grow; write the run log, then read and call it."), .int(20)], goal: "stop"),
            .string("basil, leaves, grow, write, run, log, read, call"))
    }

    func testKeywordsWithNonASCIIText() throws {
        let input = "Café au lait. Le café est chaud; café noir, café crème."
        let r = try text("keywords", [.string(input), .int(1)], goal: "fr")
        XCTAssertEqual(r, .string("café"))
        XCTAssertEqual(try host.memory.recall(goal: "fr", .concept("CAFÉ")).count, 1)
    }

    func testKeywordsRangeIsCheckedByTheHostFromTheDeclaredMetadata() throws {
        for (k, why) in [(Int64(0), "below its minimum 1"), (51, "above its maximum 50"), (-1, "below its minimum 1")] {
            let e = TestSupport.expectError(CallError.self) { try text("keywords", [.string("some words here"), .int(k)]) }
            XCTAssertEqual(e?.code, .argumentRange)
            XCTAssertEqual(e?.function, "text.keywords")
            XCTAssertEqual(e?.message, "argument k is \(k), \(why)")
        }
        XCTAssertTrue(try host.memory.recall(goal: "default", .concept("words")).isEmpty, "a refused call writes nothing")
        let f = try XCTUnwrap(host.plugin(named: "text")?.function(named: "keywords"))
        let k = f.parameters[1]
        XCTAssertEqual([k.minimum, k.maximum], [1, 50])
        XCTAssertEqual(k.defaultValue, .int(10))
        XCTAssertTrue(k.isOptional)
        XCTAssertEqual(k.description, "How many keywords to return.")
        XCTAssertFalse(f.parameters[0].isOptional)
        XCTAssertEqual(f.resultDoc, "The keywords, most frequent first, joined with \", \".")
    }

    func testSummarizeCountsSummariesInTheContextAcrossCalls() throws {
        let doc = "Plugins extend the host. The host loads plugins at run time. Memory keeps what plugins learn."
        var last = ""
        for n in 1...3 {
            let r = try text("summarize", [.string(doc), .int(1)], goal: "docs")
            guard case .string(let s) = r else { return XCTFail("summarize returned \(r)") }
            XCTAssertFalse(s.isEmpty)
            XCTAssertTrue(doc.contains(s), "an extractive summary is a sentence of the text: \(s)")
            last = s
            XCTAssertEqual(try host.memory.contextValue(goal: "docs", plugin: "text", key: "summaries"), "\(n)")
        }
        XCTAssertEqual(try host.memory.contextValue(goal: "docs", plugin: "text", key: "last_summary"), last)
        // Another goal has its own count.
        _ = try text("summarize", [.string(doc), .int(2)], goal: "other")
        XCTAssertEqual(try host.memory.contextValue(goal: "other", plugin: "text", key: "summaries"), "1")
        XCTAssertEqual(try host.memory.contextValue(goal: "docs", plugin: "text", key: "summaries"), "3")
        // The summary was remembered under the top keyword, once: the three calls wrote the
        // same memory (idempotent writes), while the context counted every call.
        XCTAssertEqual(try host.memory.recall(goal: "docs", .concept("plugins")).count, 1)
        // Out of range sentences: refused by the host from the declared range; the plugin is not called.
        let e = TestSupport.expectError(CallError.self) { try text("summarize", [.string(doc), .int(0)], goal: "docs") }
        XCTAssertEqual(e?.code, .argumentRange)
        XCTAssertEqual(e?.message, "argument sentences is 0, below its minimum 1")
        XCTAssertEqual(try host.memory.contextValue(goal: "docs", plugin: "text", key: "summaries"), "3")
    }

    func testTallyCounts() throws {
        for n in 1...5 { XCTAssertEqual(try text("tally", [.string("visits")]), .int(Int64(n))) }
        XCTAssertEqual(try text("tally", [.string("other")]), .int(1))
        XCTAssertEqual(try text("tally", [.string("visits")], goal: "g2"), .int(1))
        XCTAssertEqual(try text("tally", [.string("visits")]), .int(6))
        XCTAssertEqual(try host.memory.contextValue(goal: "default", plugin: "text", key: "visits"), "6")
        // A key that does not hold an integer: the plugin's message.
        try host.memory.setContextValue(goal: "default", plugin: "text", key: "bad", value: "twelve")
        let e = TestSupport.expectError(CallError.self) { try text("tally", [.string("bad")]) }
        XCTAssertEqual(e?.code, .pluginError)
        XCTAssertEqual(e?.message, "tally: context key \"bad\" holds \"twelve\", which is not an integer")
    }

    func testConcurrentHostAPICalls() throws {
        // keywords and recall_count are thread-safe and write/read memories concurrently; tally
        // is not, so the host serialises it and no increment is lost.
        let text = try XCTUnwrap(host.plugin(named: "text"))
        XCTAssertTrue(try XCTUnwrap(text.function(named: "keywords")).threadSafe)
        XCTAssertFalse(try XCTUnwrap(text.function(named: "tally")).threadSafe)
        let failures = Mutex<[String]>([])
        let tallies = Mutex<[Int64]>([])
        let threads = 16, perThread = 10
        DispatchQueue.concurrentPerform(iterations: threads) { i in
            for r in 0..<perThread {
                do {
                    let goal = "cg\(i % 4)"
                    let got = try text.call("keywords", [.string("zebra zebra thread\(i)x round\(r)y"), .int(1)], goal: goal)
                    if got != .string("zebra") { failures.withLock { $0.append("keywords gave \(got)") } }
                    if case .int(let n) = try text.call("recall_count", [.string("zebra")], goal: goal), n >= 1 {
                    } else {
                        failures.withLock { $0.append("recall_count did not see the write it follows") }
                    }
                    if case .int(let t) = try text.call("tally", [.string("shared")], goal: "tallies") {
                        tallies.withLock { $0.append(t) }
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        for g in 0..<4 {
            XCTAssertEqual(try host.memory.recall(goal: "cg\(g)", .concept("zebra"), limit: 1000).count, threads / 4 * perThread)
            XCTAssertEqual(try text.call("recall_count", [.string("zebra")], goal: "cg\(g)"), .int(Int64(threads / 4 * perThread)))
        }
        XCTAssertEqual(tallies.withLock { $0.sorted() }, (1...Int64(threads * perThread)).map { $0 }, "every increment seen exactly once")
        XCTAssertEqual(try host.memory.contextValue(goal: "tallies", plugin: "text", key: "shared"), "\(threads * perThread)")
    }

    func testRecallCountSeesTheMemoriesWritten() throws {
        XCTAssertEqual(try text("recall_count", [.string("cat")], goal: "rc"), .int(0))
        _ = try text("keywords", [.string("cat cat dog"), .int(2)], goal: "rc")
        XCTAssertEqual(try text("recall_count", [.string("cat")], goal: "rc"), .int(1))
        XCTAssertEqual(try text("recall_count", [.string("Dog")], goal: "rc"), .int(1))
        _ = try text("keywords", [.string("a cat again, cat"), .int(1)], goal: "rc")
        XCTAssertEqual(try text("recall_count", [.string("cat")], goal: "rc"), .int(2))
        XCTAssertEqual(try text("recall_count", [.string("dog")], goal: "rc"), .int(1))
        XCTAssertEqual(try text("recall_count", [.string("cat")], goal: "elsewhere"), .int(0))
        // Memories written straight into the service are seen too.
        _ = try host.memory.write(
            MemoryWrite(
                goal: "rc", plugin: "someone", id: nil, content: "x", concepts: ["Cat"], dependsOn: [], metadata: nil, ttlMilliseconds: nil)
        )
        XCTAssertEqual(try text("recall_count", [.string("cat")], goal: "rc"), .int(3))
        // An empty concept is refused by the host, and the plugin reports it.
        let e = TestSupport.expectError(CallError.self) { try text("recall_count", [.string("   ")], goal: "rc") }
        XCTAssertEqual(e?.code, .pluginError)
    }
}
