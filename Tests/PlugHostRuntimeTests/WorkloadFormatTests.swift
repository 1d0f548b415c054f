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

// Issue 12: Workload lines.

final class WorkloadFormatTests: XCTestCase {
    private func parse(_ text: String) throws -> [WorkloadOp] { try WorkloadReplayer.parse(Data(text.utf8), source: "f.jsonl").ops }

    private func refuse(_ text: String, _ parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        guard let e = TestSupport.expectError(WorkloadError.self, text, file: file, line: line, { try parse(text) }) else { return }
        for p in parts { XCTAssertTrue(e.description.contains(p), "\(e) lacks \(p)", file: file, line: line) }
    }

    func testCRLFLinesParseAsLF() throws {
        let lf = """
            {"op":"write","id":"a","goal":"g","concepts":["x","y"],"metadata":{"k":"v"}}

            {"op":"forget","id":"a"}\t
            {"op":"write","id":"b","goal":"g","content":"two\\r\\nlines"}

            """
        let crlf = lf.replacingOccurrences(of: "\n", with: "\r\n")
        XCTAssertNotEqual(Array(crlf.utf8), Array(lf.utf8))
        let a = try WorkloadReplayer.parse(Data(lf.utf8), source: "lf")
        let b = try WorkloadReplayer.parse(Data(crlf.utf8), source: "crlf")
        XCTAssertEqual(a.ops.count, 3)
        XCTAssertEqual(a.ops, b.ops)
        XCTAssertEqual(a.lines, [1, 3, 4])
        XCTAssertEqual(b.lines, [1, 3, 4])
        guard case .write(let w) = b.ops[2] else { return XCTFail("\(b.ops)") }
        XCTAssertEqual(w.content, "two\r\nlines", "escapes inside strings are kept")
        // A CRLF file without a final line ending, and errors on CRLF lines name the line.
        XCTAssertEqual(try parse("{\"op\":\"forget\",\"id\":\"a\"}\r\n{\"op\":\"forget\",\"id\":\"b\"}").count, 2)
        refuse("{\"op\":\"forget\",\"id\":\"a\"}\r\n\r\n{\"op\":\"frob\"}\r\n", ["f.jsonl:3:", "unknown op \"frob\""])
        // A CR elsewhere than before the LF is not a line ending: it is white space to JSON.
        XCTAssertEqual(try parse("{\"op\":\"forget\",\r\"id\":\"a\"}\n").count, 1)
    }

    func testTTLMustBeANonNegativeIntegerLiteral() throws {
        func line(_ ttl: String) -> String {
            "{\"op\":\"write\",\"goal\":\"g\"}\n{\"op\":\"write\",\"goal\":\"g\",\"ttl_ms\":\(ttl)}\n"
        }
        for (ttl, what) in [
            ("true", "true"), ("false", "false"), ("1.9", "1.9"), ("-0.5", "-0.5"), ("\"5\"", "the string \"5\""),
            ("1.0", "1.0"), ("1e3", "1e3"), ("-1", "-1"), ("null", "null"), ("[5]", "an array"),
            ("9223372036854775808", "9223372036854775808"),
        ] {
            refuse(line(ttl), ["f.jsonl:2:", "\"ttl_ms\" must be a non-negative integer", what])
        }
        for (ttl, value) in [("0", Int64(0)), ("5", 5), ("-0", 0), ("9223372036854775807", Int64.max)] {
            guard case .write(let w)? = try parse(line(ttl)).last else { return XCTFail(ttl) }
            XCTAssertEqual(w.ttlMilliseconds, value, ttl)
        }
    }

    func testMetadataIsKeptInCanonicalForm() throws {
        let text =
            #"{"op":"write","goal":"g","metadata": { "b" : 1.50, "Z":[true, null, "x/y\u00e9\n"], "a":{"y":2,"x":-0}, "é":1, "b":2E+3 }}"#
        guard case .write(let w)? = try parse(text).first else { return XCTFail() }
        let canonical = #"{"Z":[true,null,"x/yé\n"],"a":{"x":-0,"y":2},"b":2E+3,"é":1}"#
        XCTAssertEqual(w.metadata, canonical, "sorted by UTF-8 bytes, last of a repeated key, numbers as written")
        XCTAssertEqual(try JSONValue.canonicalObject(canonical), canonical, "canonical text is a fixed point")
        // The line this write gives back parses to the same bytes.
        guard case .write(let again)? = try parse(WorkloadOp.write(w).jsonLine).first else { return XCTFail() }
        XCTAssertEqual(again.metadata, canonical)
        guard case .write(let none)? = try parse(#"{"op":"write","goal":"g","metadata":null}"#).first else { return XCTFail() }
        XCTAssertNil(none.metadata)
        refuse(#"{"op":"write","goal":"g","metadata":[1]}"#, ["f.jsonl:1:", "\"metadata\" must be a JSON object, not an array"])
        refuse(#"{"op":"write","goal":"g","metadata":"{}"}"#, ["\"metadata\" must be a JSON object, not the string"])
    }

    func testOtherMalformedLinesNameTheLineAndTheField() {
        refuse("{\"op\":\"write\",\"goal\":\"g\",\"goal\":\"h\"}", ["f.jsonl:1:", "the key \"goal\" appears twice"])
        refuse("\n{\"op\":\"write\",\"goal\":\"g\",\"concepts\":[\"a\",2]}", ["f.jsonl:2:", "concepts[1] is the number 2"])
        refuse("{\"op\":\"write\",\"goal\":7}", ["f.jsonl:1:", "\"goal\" must be a string, not the number 7"])
        refuse("{\"op\":\"write\",\"goal\":\"g\"} x", ["f.jsonl:1:", "not valid JSON", "unexpected text after the JSON value at byte 27"])
        refuse("[1]", ["f.jsonl:1:", "not a JSON object"])
        var bytes = Array("{\"op\":\"forget\",\"id\":\"a\"}\n{\"op\":\"forget\",\"id\":\"".utf8)
        bytes += [0xFF, 0x22, 0x7D, 0x0A]
        let e = TestSupport.expectError(WorkloadError.self) { try WorkloadReplayer.parse(Data(bytes), source: "f.jsonl") }
        XCTAssertEqual(e?.description, "f.jsonl:2: the line is not valid UTF-8")
    }
}
