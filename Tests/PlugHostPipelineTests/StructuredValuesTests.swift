import Foundation
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostPipeline

/// Paths on values (`${steps.ID.a[0]}`), foreach over a JSON array, `env:` and `if:`.
final class StructuredValuesTests: PipelineTestCase {

    // MARK: helpers

    /// Parses `text` (written as `p.yaml` in a temp folder) and validates it with `environment`.
    func runner(_ text: String, environment: [String: String] = [:], host: PluginHost? = nil) throws -> PipelineRunner {
        let dir = try makeTempDirectory()
        let path = try write(text, to: dir, "p.yaml")
        let h = try host ?? makeHost()
        if host == nil { addTeardownBlock { try? h.close() } }
        return try PipelineRunner(definition: try PipelineParser.parse(path: path), host: h, environment: environment)
    }

    /// Parses, validates and runs `text`.
    func run(_ text: String, environment: [String: String] = [:]) throws -> PipelineReport {
        try runner(text, environment: environment).run()
    }

    /// The PipelineError parsing, validating or running `text` throws.
    func failure(
        _ text: String, environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line
    ) throws -> PipelineError {
        do {
            _ = try run(text, environment: environment)
        } catch let e as PipelineError {
            return e
        }
        XCTFail("no error", file: file, line: line)
        throw XCTSkip("no error")
    }

    /// 1-based line and column of the first `needle` in `text`.
    func position(of needle: String, in text: String) -> (line: Int, column: Int) {
        let r = text.range(of: needle)!
        let before = text[..<r.lowerBound]
        let lineStart = before.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
        return (before.filter { $0 == "\n" }.count + 1, text[lineStart..<r.lowerBound].count + 1)
    }

    func assertAt(_ e: PipelineError, _ needle: String, in text: String, file: StaticString = #filePath, line: UInt = #line) {
        let p = position(of: needle, in: text)
        XCTAssertEqual(e.line, p.line, "line of \(e)", file: file, line: line)
        XCTAssertEqual(e.column, p.column, "column of \(e)", file: file, line: line)
    }

    static let people =
        #"[{"name": "Ann", "age": 41, "score": 2.5, "tags": ["a", "b"], "pet": {"kind": "cat", "legs": 4}}, {"name": "Bob", "age": 17, "score": 3, "tags": [], "pet": null}, {"name": "Cyd", "age": 65, "ok": true, "tags": ["c"]}]"#

    static func s(_ t: String) -> PipelineValue { .value(.string(t)) }
    static func i(_ n: Int64) -> PipelineValue { .value(.int(n)) }

    // MARK: ValuePath

    func testValuePathParsing() throws {
        let p = try ValuePath.parse(".a.b[0][-1].c d")
        XCTAssertEqual(p.components, [.key("a"), .key("b"), .index(0), .index(-1), .key("c d")])
        XCTAssertEqual(p.description, ".a.b[0][-1].c d")
        XCTAssertEqual(try ValuePath.parse(""), .empty)
        for (bad, fragment) in [
            ("..a", "empty key"), (".a.", "empty key"), ("[x]", "is not an index"), ("[1", "unclosed ["), ("x", "unexpected"),
        ] {
            XCTAssertThrowsError(try ValuePath.parse(bad[...]), bad) { e in
                XCTAssertTrue((e as? TemplateError)?.message.contains(fragment) ?? false, "\(bad): \(e)")
            }
        }
    }

    func testReferencesWithPathsParseAndPrintBack() throws {
        let cases: [(String, Reference)] = [
            ("${steps.extract.person.age}", .step("extract", path: ValuePath([.key("person"), .key("age")]))),
            ("${steps.x[2]}", .step("x", path: ValuePath([.index(2)]))),
            ("${steps.x.a.b[0].c}", .step("x", path: ValuePath([.key("a"), .key("b"), .index(0), .key("c")]))),
            ("${steps.x}", .step("x", path: .empty)),
            ("${item.field}", .item(path: ValuePath([.key("field")]))),
            ("${item[0]}", .item(path: ValuePath([.index(0)]))),
            ("${item}", .item(path: .empty)),
            ("${inputs.rows[-1]}", .input("rows", path: ValuePath([.index(-1)]))),
            ("${env.HOME_DIR}", .env("HOME_DIR")),
        ]
        for (text, ref) in cases {
            let t = try Template.parse(text)
            XCTAssertEqual(t.single, ref, text)
            XCTAssertEqual(ref.description, text)
        }
        for bad in ["${steps.x..a}", "${item[one]}", "${inputs.rows[0}", "${env.1X}", "${env.A-B}", "${steps.x.}"] {
            XCTAssertThrowsError(try Template.parse(bad), bad)
        }
    }

    func testPathResolution() throws {
        let v = Self.s(Self.people)
        func at(_ path: String) throws -> PipelineValue { try ValuePath.parse(path[...]).resolve(v, base: "inputs.people") }
        XCTAssertEqual(try at("[0].name"), Self.s("Ann"))
        XCTAssertEqual(try at("[0].age"), Self.i(41))
        XCTAssertEqual(try at("[0].score"), .value(.double(2.5)))
        XCTAssertEqual(try at("[1].score"), Self.i(3))
        XCTAssertEqual(try at("[2].ok"), .value(.bool(true)))
        XCTAssertEqual(try at("[1].pet"), .value(.void))
        XCTAssertEqual(try at("[-1].name"), Self.s("Cyd"))
        XCTAssertEqual(try at("[-3].name"), Self.s("Ann"))
        // A nested object stays JSON text (compact, keys in order) and can be addressed again.
        XCTAssertEqual(try at("[0].pet"), Self.s(#"{"kind":"cat","legs":4}"#))
        XCTAssertEqual(try ValuePath.parse(".legs").resolve(try at("[0].pet"), base: "x"), Self.i(4))
        XCTAssertEqual(try at("[0].pet.kind"), Self.s("cat"))
        // A JSON array becomes a list.
        XCTAssertEqual(try at("[0].tags"), .list([Self.s("a"), Self.s("b")]))
        XCTAssertEqual(try at("[0].tags[1]"), Self.s("b"))
        // A key on a list applies to every item.
        XCTAssertEqual(try at(".name"), .list([Self.s("Ann"), Self.s("Bob"), Self.s("Cyd")]))
        XCTAssertEqual(try at(".tags"), .list([.list([Self.s("a"), Self.s("b")]), .list([]), .list([Self.s("c")])]))
        XCTAssertEqual(
            try ValuePath.parse(".n").resolve(.list([Self.s(#"{"n": 1}"#), Self.s(#"{"n": 2.0}"#)]), base: "steps.x"),
            .list([Self.i(1), .value(.double(2))]))
        // A pipeline list by index.
        XCTAssertEqual(try ValuePath.parse("[1]").resolve(.list([Self.i(1), Self.i(2)]), base: "steps.x"), Self.i(2))
        // The whole value is unchanged by the empty path.
        XCTAssertEqual(try ValuePath.empty.resolve(v, base: "x"), v)
    }

    func testPathErrorsNameThePrefixThatFailed() throws {
        let v = Self.s(Self.people)
        func message(_ path: String, _ value: PipelineValue? = nil) -> String {
            do {
                _ = try ValuePath.parse(path[...]).resolve(value ?? v, base: "steps.extract")
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(message("[0].pet.age"), #"steps.extract[0].pet has no key "age" (keys: kind, legs)"#)
        XCTAssertEqual(message("[3]"), "steps.extract has no index 3 (it has 3 items)")
        XCTAssertEqual(message("[-4]"), "steps.extract has no index -4 (it has 3 items)")
        XCTAssertEqual(message(".age.x"), "steps.extract[0].age is not a JSON object (it is 41)")
        XCTAssertEqual(message(".pet"), #"steps.extract[2] has no key "pet" (keys: name, age, ok, tags)"#)
        XCTAssertEqual(message("[0][1]"), "steps.extract[0] is a JSON object, not a list (use .KEY)")
        XCTAssertEqual(message(".name", Self.s("not json")), #"steps.extract is not a JSON object (it is the text "not json")"#)
        XCTAssertEqual(message("[0]", Self.s("{oops")), #"steps.extract is not a list or JSON array (it is the text "{oops")"#)
        XCTAssertEqual(message("[0]", .value(.void)), "steps.extract is not a list or JSON array (it is empty)")
    }

    func testForeachItems() {
        XCTAssertEqual(foreachItems(.list([Self.i(1), Self.i(2)])), [Self.i(1), Self.i(2)])
        XCTAssertEqual(
            foreachItems(Self.s(#" [1, "two", 3.5, {"a": [1]}, [true], null] "#)),
            [
                Self.i(1), Self.s("two"), .value(.double(3.5)), Self.s(#"{"a":[1]}"#), .list([.value(.bool(true))]), .value(.void),
            ])
        XCTAssertEqual(foreachItems(Self.s("[not json")), [Self.s("[not json")])
        XCTAssertEqual(foreachItems(Self.s(#"{"a": 1}"#)), [Self.s(#"{"a": 1}"#)])
        XCTAssertEqual(foreachItems(Self.i(5)), [Self.i(5)])
        XCTAssertEqual(Self.s("[]").items, [])
    }

    // MARK: paths in a run

    func testPathsInArgsAndOutputs() throws {
        let report = try run(
            """
            goal: paths
            plugins: {text: text, sig: sig}
            inputs:
              people: '\(Self.people)'
              list: [x, y, z]
            steps:
              - id: sq
                call: sig.square_json
                args: ["${inputs.people[0].age}"]
              - id: again
                call: sig.id_i64
                args: ["${steps.sq.square}"]
              - id: words
                call: text.word_count
                args: {text: "${inputs.people.name} and ${inputs.people[-1].tags}"}
            outputs:
              square: ${steps.sq.square}
              n: ${steps.sq.n}
              again: ${steps.again}
              names: ${inputs.people.name}
              last: ${inputs.list[-1]}
              pet: ${inputs.people[0].pet}
              words: ${steps.words}
              text: "${inputs.people[1].name} is ${inputs.people[1].age}"
            """)
        XCTAssertEqual(try output(report, "square"), Self.i(1681))
        XCTAssertEqual(try output(report, "n"), Self.i(41))
        XCTAssertEqual(try output(report, "again"), Self.i(1681))
        XCTAssertEqual(try output(report, "names"), .list([Self.s("Ann"), Self.s("Bob"), Self.s("Cyd")]))
        XCTAssertEqual(try output(report, "last"), Self.s("z"))
        XCTAssertEqual(try output(report, "pet"), Self.s(#"{"kind":"cat","legs":4}"#))
        // "Ann; Bob; Cyd and c": 5 words.
        XCTAssertEqual(try output(report, "words"), Self.i(5))
        XCTAssertEqual(try output(report, "text"), Self.s("Bob is 17"))
    }

    func testMissingKeyAtRunTimeNamesTheReferenceAndThePath() throws {
        let text = """
            goal: paths
            plugins: {sig: sig}
            steps:
              - id: sq
                call: sig.square_json
                args: [3]
              - id: cube
                call: sig.id_i64
                args: ["${steps.sq.cube}"]
            """
        let e = try failure(text)
        XCTAssertEqual(e.code, .stepFailed)
        XCTAssertEqual(e.step, "cube")
        XCTAssertTrue(e.message.contains(#"${steps.sq.cube}: steps.sq has no key "cube" (keys: n, square)"#), e.message)

        let out = try failure(
            """
            goal: paths
            plugins: {sig: sig}
            inputs: {rows: [a, b]}
            steps:
              - id: sq
                call: sig.square_json
                args: [3]
            outputs:
              x: ${inputs.rows[5]}
            """)
        XCTAssertTrue(out.message.contains("${inputs.rows[5]}: inputs.rows has no index 5 (it has 2 items)"), out.message)
    }

    func testBadPathIsAParseErrorWithLineAndColumn() throws {
        let text = """
            goal: paths
            plugins: {sig: sig}
            steps:
              - id: sq
                call: sig.square_json
                args: ["${inputs.rows[one]}"]
            """
        let e = try failure(text)
        XCTAssertEqual(e.code, .badReference)
        XCTAssertEqual(e.step, "sq")
        XCTAssertEqual(e.field, "args[0]")
        XCTAssertTrue(e.message.contains("[one]"), e.message)
        assertAt(e, #""${inputs.rows[one]}""#, in: text)
    }

    func testForeachOverAJSONArrayInputValidates() throws {
        // A scalar input holding a JSON array may be iterated; one that does not is an error.
        let ok = try runner(
            """
            goal: fe
            plugins: {text: text}
            inputs: {rows: '["a b", "c"]'}
            steps:
              - id: n
                call: text.word_count
                foreach: ${inputs.rows}
                args: ["${item}"]
            """)
        XCTAssertEqual(foreachItems(.value(.string(#"["a b", "c"]"#))), [Self.s("a b"), Self.s("c")])
        XCTAssertNotNil(ok.definition.steps.first?.foreach)
        let text = """
            goal: fe
            plugins: {text: text}
            inputs: {rows: 'a b'}
            steps:
              - id: n
                call: text.word_count
                foreach: ${inputs.rows}
                args: ["${item}"]
            """
        let e = try failure(text)
        XCTAssertEqual(e.field, "foreach")
        XCTAssertTrue(e.message.contains("input rows is not a list"), e.message)
    }

    // MARK: env

    func testEnvDeclaredWithDefaultsAndFromTheEnvironment() throws {
        let text = """
            goal: env
            plugins: {sig: sig}
            env:
              GREETING: hello
              COUNT: 3
              TOKEN:
            steps:
              - id: n
                call: sig.id_i64
                args: ["${env.COUNT}"]
              - id: s
                call: sig.id_str
                args: ["${env.GREETING}, ${env.TOKEN}"]
            outputs:
              count: ${steps.n}
              s: ${steps.s}
              token: ${env.TOKEN}
            """
        let report = try run(text, environment: ["TOKEN": "t0k", "COUNT": "7"])
        XCTAssertEqual(try output(report, "count"), Self.i(7))
        XCTAssertEqual(try output(report, "s"), Self.s("hello, t0k"))
        XCTAssertEqual(try output(report, "token"), Self.s("t0k"))
        // TOKEN has no default: unset, it is a validation error at its declaration.
        let e = try failure(text, environment: [:])
        XCTAssertEqual(e.field, "env.TOKEN")
        XCTAssertTrue(e.message.contains("env TOKEN is not set in the environment and has no default"), e.message)
        assertAt(e, "TOKEN:", in: text)
    }

    func testEnvListFormAndUndeclaredNames() throws {
        let text = """
            goal: env
            plugins: {sig: sig}
            env: [USER_NAME]
            steps:
              - id: s
                call: sig.id_str
                args: ["${env.USER_NAME} ${env.SECRET}"]
            """
        let e = try failure(text, environment: ["USER_NAME": "ann", "SECRET": "x"])
        XCTAssertEqual(e.code, .badReference)
        XCTAssertEqual(e.step, "s")
        XCTAssertEqual(e.field, "args[0]")
        XCTAssertTrue(e.message.contains("env SECRET is not declared under env: (declared: USER_NAME)"), e.message)
        assertAt(e, #""${env.USER_NAME}"#, in: text)

        let outputs = """
            goal: env
            plugins: {sig: sig}
            steps:
              - id: s
                call: sig.id_str
                args: [x]
            outputs:
              home: ${env.HOME}
            """
        let o = try failure(outputs, environment: ["HOME": "/root"])
        XCTAssertEqual(o.field, "outputs.home")
        XCTAssertTrue(o.message.contains("(declared: none)"), o.message)
        assertAt(o, "${env.HOME}", in: outputs)

        let badName = """
            goal: env
            plugins: {sig: sig}
            env: [OK, 9LIVES]
            steps: []
            """
        let b = try failure(badName)
        XCTAssertEqual(b.field, "env")
        XCTAssertTrue(b.message.contains("\"9LIVES\" is not an environment variable name"), b.message)
        assertAt(b, "9LIVES", in: badName)

        let report = try run(text.replacingOccurrences(of: " ${env.SECRET}", with: ""), environment: ["USER_NAME": "ann"])
        XCTAssertEqual(report.outputs.count, 0)
    }

    func testEnvIsReadOnceAtValidation() throws {
        let r = try runner(
            """
            goal: env
            plugins: {sig: sig}
            env: {MODE: fast}
            steps:
              - id: s
                call: sig.id_str
                args: ["${env.MODE}"]
            outputs: {mode: "${env.MODE}"}
            """, environment: ["MODE": "slow"])
        XCTAssertEqual(r.envValues, ["MODE": "slow"])
        XCTAssertEqual(try output(try r.run(), "mode"), Self.s("slow"))
    }

    // MARK: conditions

    func testConditionParsing() throws {
        let c = try Condition.parse("${steps.a} > 3 || !(${item.kind} == 'x y') && ready")
        XCTAssertEqual(
            c,
            .or([
                .compare(.reference(.step("a", path: .empty)), .greater, .literal(.int(3))),
                .and([
                    .not(.compare(.reference(.item(path: ValuePath([.key("kind")]))), .equal, .literal(.string("x y")))),
                    .truthy(.literal(.string("ready"))),
                ]),
            ]))
        XCTAssertTrue(c.usesItem)
        XCTAssertEqual(c.references, [.step("a", path: .empty), .item(path: ValuePath([.key("kind")]))])
        XCTAssertEqual(c.description, "${steps.a} > 3 || (!(${item.kind} == 'x y') && 'ready')")
        XCTAssertEqual(try Condition.parse(c.description), c, "the description parses back to the same condition")
        XCTAssertEqual(
            try Condition.parse(#"${inputs.t} contains "a\"b""#),
            .compare(.reference(.input("t", path: .empty)), .contains, .literal(.string("a\"b"))))
        XCTAssertEqual(try Condition.parse("-2.5 <= 1e3"), .compare(.literal(.double(-2.5)), .lessOrEqual, .literal(.double(1000))))
        XCTAssertEqual(try Condition.parse("true != false"), .compare(.literal(.bool(true)), .notEqual, .literal(.bool(false))))
        XCTAssertFalse(try Condition.parse("${steps.a}").usesItem)

        let errors: [(String, String)] = [
            ("${steps.a} &&", #"expected an operand after "&&""#),
            ("", "the condition is empty"),
            ("(${steps.a} > 1", #"expected ")""#),
            ("a = b", "compare with =="),
            ("a b", #"unexpected "b" after "a""#),
            ("a == == b", #"expected an operand after "==", found "==""#),
            ("'open", "unclosed '"),
            ("a & b", "use && or ||"),
            ("${steps.a[x]}", "is not an index"),
            ("${nope}", "unknown reference"),
        ]
        for (text, fragment) in errors {
            XCTAssertThrowsError(try Condition.parse(text), text) { e in
                XCTAssertTrue("\(e)".contains(fragment), "\(text.debugDescription): \(e)")
            }
        }
    }

    func testConditionSemantics() throws {
        func holds(_ text: String, _ values: [String: PipelineValue] = [:]) throws -> Bool {
            try Condition.parse(text).holds { r in
                if case .step(let s, let path) = r { return try path.resolve(values[s] ?? .value(.void), base: s) }
                return .value(.void)
            }
        }
        let v: [String: PipelineValue] = [
            "n": Self.i(10), "t": Self.s("10"), "w": Self.s("apple pie"), "l": .list([Self.s("a"), Self.s("b")]),
            "e": .list([]), "z": Self.s("0"), "f": Self.s("False"), "d": .value(.double(2.5)), "j": Self.s(#"{"age": 41}"#),
        ]
        XCTAssertTrue(try holds("${steps.n} > 9", v), "numeric, not text (\"10\" < \"9\")")
        XCTAssertTrue(try holds("${steps.t} > 9", v), "numeric text is a number")
        XCTAssertTrue(try holds("${steps.t} == 10.0", v))
        XCTAssertTrue(try holds("${steps.d} < 3", v))
        XCTAssertTrue(try holds("${steps.w} > apple", v), "text order")
        XCTAssertTrue(try holds("${steps.w} == 'apple pie'", v))
        XCTAssertTrue(try holds("${steps.w} contains pie", v))
        XCTAssertFalse(try holds("${steps.w} contains cake", v))
        XCTAssertTrue(try holds("${steps.l} contains b", v), "list membership")
        XCTAssertFalse(try holds("${steps.l} contains 'a; b'", v), "membership, not substring of the joined text")
        XCTAssertTrue(try holds("${steps.j.age} >= 41 && ${steps.j.age} < 42", v))
        XCTAssertTrue(try holds("${steps.n}", v))
        XCTAssertFalse(try holds("${steps.e}", v), "empty list")
        XCTAssertFalse(try holds("${steps.z}", v), "0")
        XCTAssertFalse(try holds("${steps.f}", v), "false text")
        XCTAssertFalse(try holds("${steps.missing}", v), "void")
        XCTAssertTrue(try holds("!${steps.missing} && (${steps.e} || ${steps.l})", v))
        XCTAssertTrue(try holds("true == ${steps.j.age} || 1", v))
        XCTAssertThrowsError(try holds("${steps.j.name}", v))
    }

    func testIfIsParsedWithLocationsAndReferencesAreChecked() throws {
        let bad = """
            goal: c
            plugins: {sig: sig}
            steps:
              - id: x
                call: sig.id_str
                if: ${steps.x} == 1 &&
                args: [a]
            """
        let e = try failure(bad)
        XCTAssertEqual(e.code, .wrongType)
        XCTAssertEqual(e.step, "x")
        XCTAssertEqual(e.field, "if")
        XCTAssertTrue(e.description.contains(#"step x, field if: expected an operand after "&&""#), e.description)
        assertAt(e, "${steps.x} == 1 &&", in: bad)

        let later = """
            goal: c
            plugins: {sig: sig}
            steps:
              - id: a
                call: sig.id_str
                if: ${steps.b} == 1
                args: [a]
              - id: b
                call: sig.id_str
                args: [b]
            """
        let l = try failure(later)
        XCTAssertEqual(l.code, .badReference)
        XCTAssertEqual(l.field, "if")
        XCTAssertTrue(l.message.contains("step b does not come before step a"), l.message)
        assertAt(l, "${steps.b} == 1", in: later)

        let item = """
            goal: c
            plugins: {sig: sig}
            steps:
              - id: a
                call: sig.id_str
                if: "${item} != x"
                args: [a]
            """
        let i = try failure(item)
        XCTAssertEqual(i.field, "if")
        XCTAssertTrue(i.message.contains("${item} is only defined in a step with foreach"), i.message)
        assertAt(i, #""${item} != x""#, in: item)

        let badRef = """
            goal: c
            plugins: {sig: sig}
            steps:
              - id: a
                call: sig.id_str
                if: ${steps.a..b}
                args: [a]
            """
        let b = try failure(badRef)
        XCTAssertEqual(b.code, .badReference)
        XCTAssertEqual(b.field, "if")
        assertAt(b, "${steps.a..b}", in: badRef)
    }

    /// The runner's API: `conditionHolds` once per step, or per item when the condition uses
    /// `${item}`.
    func testConditionHoldsPerStepAndPerItem() throws {
        let r = try runner(
            """
            goal: c
            plugins: {sig: sig, text: text}
            inputs:
              rows: '[{"name": "Ann", "age": 41}, {"name": "Bob", "age": 17}, {"name": "Cyd", "age": 65}]'
              limit: 18
            steps:
              - id: sq
                call: sig.square_json
                args: [7]
              - id: big
                call: sig.id_str
                if: ${steps.sq.square} > 40 && ${inputs.rows[0].name} == Ann
                args: [big]
              - id: never
                call: sig.id_str
                if: false
                args: [never]
              - id: adults
                call: text.word_count
                foreach: ${inputs.rows}
                if: ${item.age} >= ${inputs.limit}
                args: ["${item.name}"]
            """)
        let steps = r.definition.steps
        XCTAssertNil(steps[0].condition)
        XCTAssertEqual(steps[2].condition, .constant(false))
        XCTAssertNotNil(steps[1].fieldLocations["if"])
        let results: [String: PipelineValue] = ["sq": Self.s(#"{"n":7,"square":49}"#)]
        func holds(_ i: Int, item: PipelineValue? = nil) throws -> Bool {
            try r.conditionHolds(steps[i].condition!, item: item, results: results, plugin: nil)
        }
        XCTAssertFalse(steps[1].condition!.usesItem)
        XCTAssertEqual(steps[1].condition!.references.count, 2)
        XCTAssertTrue(try holds(1))
        XCTAssertFalse(try holds(2))
        XCTAssertTrue(steps[3].condition!.usesItem)
        let items = foreachItems(try r.resolveReference(.input("rows", path: .empty), results: results, item: nil, plugin: nil))
        XCTAssertEqual(items.count, 3)
        XCTAssertEqual(try items.map { try holds(3, item: $0) }, [true, false, true], "Bob (17) is left out")
        XCTAssertThrowsError(
            try r.conditionHolds(
                .truthy(.reference(.step("sq", path: ValuePath([.key("cube")])))), item: nil, results: results, plugin: nil)
        ) { e in
            XCTAssertTrue("\(e)".contains(#"${steps.sq.cube}: steps.sq has no key "cube" (keys: n, square)"#), "\(e)")
        }
    }

    /// `if:` in a run: a skipped step is void (an empty list for a foreach step), and a step
    /// after it still runs; per-item conditions leave items out; a foreach over a JSON array
    /// step result iterates its elements.
    func testIfAndForeachOverJSONInARun() throws {
        let report = try run(
            """
            goal: c
            plugins: {sig: sig, text: text}
            inputs:
              rows: '[{"name": "Ann Lee", "age": 41}, {"name": "Bob", "age": 17}, {"name": "Cyd Ray Oz", "age": 65}]'
            steps:
              - id: echo
                call: sig.id_str
                args: ["${inputs.rows}"]
              - id: words
                call: text.word_count
                foreach: ${steps.echo}
                if: ${item.age} > 18
                args: ["${item.name}"]
              - id: none
                call: text.word_count
                foreach: ${steps.echo}
                if: ${steps.words} contains 7
                args: ["${item.name}"]
              - id: off
                call: sig.id_str
                if: false
                args: [x]
              - id: after
                call: sig.id_str
                if: "!${steps.off} && ${steps.none} == '' && ${steps.words[-1]} == 3"
                args: ["ran"]
            outputs:
              words: ${steps.words}
              none: ${steps.none}
              off: ${steps.off}
              after: ${steps.after}
            """)
        XCTAssertEqual(try output(report, "words"), .list([Self.i(2), Self.i(3)]))
        XCTAssertEqual(try output(report, "none"), .list([]))
        XCTAssertEqual(try output(report, "off"), .value(.void))
        XCTAssertEqual(try output(report, "after"), Self.s("ran"))
        XCTAssertEqual(report.steps.map(\.calls), [1, 2, 0, 0, 1])
        XCTAssertEqual(report.steps.map(\.skipped), [0, 1, 1, 1, 0])
    }

    /// A step waits for the steps its `if:` names (the step graph sees them), even of another
    /// plugin: `check` sees `slow`'s result, not an unfinished step's void.
    func testIfReferencesAreStepDependencies() throws {
        let report = try run(
            """
            goal: c
            plugins: {sig: sig, text: text}
            steps:
              - id: slow
                call: sig.sleep_ms
                args: [150]
              - id: check
                call: text.word_count
                if: ${steps.slow} == 150
                args: ["it ran"]
            outputs:
              check: ${steps.check}
            """)
        XCTAssertEqual(try output(report, "check"), Self.i(2))
    }

    /// A path that fails inside `if:` stops the run, naming the step and the path.
    func testIfPathErrorStopsTheRun() throws {
        let e = try failure(
            """
            goal: c
            plugins: {sig: sig}
            steps:
              - id: sq
                call: sig.square_json
                args: [2]
              - id: x
                call: sig.id_str
                if: ${steps.sq.cube} > 1
                args: [x]
            """)
        XCTAssertEqual(e.step, "x")
        XCTAssertTrue(e.message.contains(#"${steps.sq.cube}: steps.sq has no key "cube" (keys: n, square)"#), e.message)
    }

    // MARK: examples

    func testEnvExampleRuns() throws {
        let host = try makeHost()
        defer { try? host.close() }
        let definition = try PipelineParser.parse(path: Self.examplesDirectory.appendingPathComponent("env.yaml").path)
        let report = try PipelineRunner(definition: definition, host: host, environment: ["GREETING_NAME": "Ann"]).run()
        XCTAssertEqual(try output(report, "greeting"), Self.s("Hello, Ann! (mode: careful)"))
        XCTAssertEqual(try output(report, "words"), Self.i(4))
    }

    func testStructuredExampleValidatesAndItsConditionsHold() throws {
        let host = try makeHost()
        defer { try? host.close() }
        let definition = try PipelineParser.parse(path: Self.examplesDirectory.appendingPathComponent("structured.yaml").path)
        let r = try PipelineRunner(definition: definition, host: host, environment: [:])
        XCTAssertTrue(definition.steps.contains { $0.condition?.usesItem == true })
        XCTAssertTrue(definition.steps.contains { $0.condition != nil && $0.condition?.usesItem == false })
        // What the runner sees: the people (a JSON array input) as items, Bob (17) left out, and
        // the `skipped` step's condition (49 > 100) not holding.
        let adults = try XCTUnwrap(definition.steps.first { $0.id == "adult_words" })
        guard case .reference(let over)? = adults.foreach else { return XCTFail("adult_words has no foreach reference") }
        let people = foreachItems(try r.resolveReference(over, results: [:], item: nil, plugin: nil))
        XCTAssertEqual(people.count, 3)
        XCTAssertEqual(
            try people.map { try r.conditionHolds(adults.condition!, item: $0, results: [:], plugin: nil) }, [true, false, true])
        let skipped = try XCTUnwrap(definition.steps.first { $0.id == "skipped" }?.condition)
        XCTAssertFalse(try r.conditionHolds(skipped, item: nil, results: ["square": Self.s(#"{"n":7,"square":49}"#)], plugin: nil))
        XCTAssertTrue(try r.conditionHolds(skipped, item: nil, results: ["square": Self.s(#"{"n":11,"square":121}"#)], plugin: nil))
    }

    /// Runs examples/pipelines/structured.yaml end to end: `run()` calls `conditionHolds` and
    /// `foreachItems`.
    func testStructuredExampleRuns() throws {
        let host = try makeHost()
        defer { try? host.close() }
        let definition = try PipelineParser.parse(path: Self.examplesDirectory.appendingPathComponent("structured.yaml").path)
        let report = try PipelineRunner(definition: definition, host: host, environment: [:]).run()
        XCTAssertEqual(try output(report, "square"), Self.i(49))
        XCTAssertEqual(try output(report, "names"), .list([Self.s("Ann"), Self.s("Bob"), Self.s("Cyd")]))
        let steps = Dictionary(uniqueKeysWithValues: report.steps.map { ($0.id, $0) })
        XCTAssertEqual(steps["adult_words"]?.calls, 2)
        XCTAssertEqual(steps["adult_words"]?.skipped, 1, "Bob is left out")
        XCTAssertEqual(steps["skipped"]?.calls, 0)
        XCTAssertEqual(steps["skipped"]?.skipped, 1)
        XCTAssertEqual(try output(report, "adult_words"), .list([Self.i(5), Self.i(4)]))
        XCTAssertEqual(try output(report, "skipped"), .value(.void))
    }
}
