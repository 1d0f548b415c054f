import Foundation
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPostgres
@testable import PlugHostPipeline
@testable import PlugHostTools

/// One test per validation error: each checks the code, the file, the line (and column), the
/// step and the field, and that nothing ran (a `text.tally` step placed first did not count).
final class PipelineValidationTests: PipelineTestCase {

    /// The start of most test files: two plugins and a first step that counts `ran` in goal `g`.
    static let header = """
        goal: g
        plugins:
          text: text
          sig: sig
        inputs:
          topic: basil
          notes: [one, two]
        steps:
          - id: first
            call: text.tally
            args: [ran]

        """

    /// 1-based line and column of the `occurrence`-th (1-based) `needle` in `text`, plus `offset`
    /// columns.
    func position(
        of needle: String, in text: String, occurrence: Int = 1, offset: Int = 0,
        file: StaticString = #filePath, line: UInt = #line
    ) -> (line: Int, column: Int) {
        var from = text.startIndex
        var found: Range<String.Index>?
        for _ in 0..<occurrence {
            guard let r = text.range(of: needle, range: from..<text.endIndex) else {
                XCTFail("\(needle.debugDescription) not found \(occurrence) times", file: file, line: line)
                return (0, 0)
            }
            found = r
            from = r.upperBound
        }
        let before = text[..<found!.lowerBound]
        let lineNo = before.filter { $0 == "\n" }.count + 1
        let lineStart = before.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
        return (lineNo, text[lineStart..<found!.lowerBound].count + 1 + offset)
    }

    struct Failure {
        var error: PipelineError
        var path: String
        var host: PluginHost
    }

    /// Writes `text` as `name` into a temp folder, parses and validates it; expects a
    /// PipelineError and checks that the first step did not run. When validation wrongly passes,
    /// runs the pipeline to show what happens, then fails.
    func validationFailure(
        _ text: String, name: String = "p.yaml", goal: String = "g", inputs: [String] = [],
        files: [String: String] = [:],
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> Failure {
        let dir = try makeTempDirectory()
        let path = try write(text, to: dir, name)
        for (n, t) in files { try write(t, to: dir, n) }
        let host = try makeHost()
        addTeardownBlock { try? host.close() }
        var caught: Error?
        do {
            let definition = try PipelineParser.parse(path: path)
            let runner = try PipelineRunner(definition: definition, host: host, goal: nil, inputOverrides: inputs)
            do {
                _ = try runner.run()
                XCTFail("validation passed and the run succeeded", file: file, line: line)
            } catch {
                XCTFail("validation passed; the run then failed with: \(error)", file: file, line: line)
            }
        } catch {
            caught = error
        }
        // Nothing ran: the counter of the first step is unset, and nothing was written.
        XCTAssertNil(try host.memory.contextValue(goal: goal, plugin: "text", key: "ran"), "the first step ran", file: file, line: line)
        XCTAssertEqual(host.memory.stats.writes, 0, "memory was written", file: file, line: line)
        let err = try XCTUnwrap(caught, "no error", file: file, line: line)
        let pe = try XCTUnwrap(err as? PipelineError, "not a PipelineError: \(type(of: err)) \(err)", file: file, line: line)
        XCTAssertEqual(pe.file, path, "file", file: file, line: line)
        XCTAssertNil(pe.item, "item", file: file, line: line)
        XCTAssertTrue(pe.description.hasPrefix(path), pe.description, file: file, line: line)
        return Failure(error: pe, path: path, host: host)
    }

    /// Checks the code, line, column, step and field of `e` (nil = must be absent) and that its
    /// message contains `message`.
    func check(
        _ f: Failure, _ code: PipelineError.Code, at pos: (line: Int, column: Int)?, step: String?, field: String?,
        message: String? = nil, label: String = "", file: StaticString = #filePath, line: UInt = #line
    ) {
        let e = f.error
        let label = label.isEmpty ? "" : "[\(label)] "
        XCTAssertEqual(e.code, code, "\(label)code (\(e))", file: file, line: line)
        XCTAssertEqual(e.line, pos?.line, "\(label)line (\(e))", file: file, line: line)
        XCTAssertEqual(e.column, pos?.column, "\(label)column (\(e))", file: file, line: line)
        XCTAssertEqual(e.step, step, "\(label)step (\(e))", file: file, line: line)
        XCTAssertEqual(e.field, field, "\(label)field (\(e))", file: file, line: line)
        if let message {
            XCTAssertTrue(
                e.message.contains(message), "\(label)message \(e.message.debugDescription) lacks \(message.debugDescription)", file: file,
                line: line)
        }
        var prefix = f.path
        if let pos { prefix += ":\(pos.line):\(pos.column)" }
        XCTAssertTrue(e.description.hasPrefix(prefix + ": "), "\(label)description \(e.description)", file: file, line: line)
        if let step { XCTAssertTrue(e.description.contains("step \(step)"), label + e.description, file: file, line: line) }
        if let field { XCTAssertTrue(e.description.contains("field \(field)"), label + e.description, file: file, line: line) }
    }

    // MARK: the table

    /// Where a case expects its error: nowhere, at the `occurrence`-th `needle` of the case's
    /// text (plus `offset` columns), or at a fixed line and column.
    enum Where {
        case none
        case at(String, occurrence: Int = 1, offset: Int = 0)
        case fixed(Int, Int)
    }

    /// One validation case: a pipeline (and its file name, `--input`s and side files), the
    /// error expected (code, position, step, field, a message fragment), and any assertions of
    /// its own. Failures are reported at the case's line in the table, and name the case.
    struct Case {
        var name: String
        var text: String
        var fileName = "p.yaml"
        var inputs: [String] = []
        var files: [String: String] = [:]
        var code: PipelineError.Code
        var position: Where
        var step: String?
        var field: String?
        var message: String?
        var extra: ((PipelineValidationTests, Failure) -> Void)?
        var line: UInt

        init(
            _ name: String, _ text: String, fileName: String = "p.yaml", inputs: [String] = [], files: [String: String] = [:],
            _ code: PipelineError.Code, at position: Where, step: String?, field: String?, message: String? = nil,
            line: UInt = #line, extra: ((PipelineValidationTests, Failure) -> Void)? = nil
        ) {
            self.name = name
            self.text = text
            self.fileName = fileName
            self.inputs = inputs
            self.files = files
            self.code = code
            self.position = position
            self.step = step
            self.field = field
            self.message = message
            self.extra = extra
            self.line = line
        }
    }

    /// Runs every case of `cases` (all of them, whichever fail).
    func run(_ cases: [Case]) throws {
        XCTAssertEqual(Set(cases.map(\.name)).count, cases.count, "case names are unique")
        for c in cases {
            let f = try validationFailure(c.text, name: c.fileName, inputs: c.inputs, files: c.files, file: #filePath, line: c.line)
            let pos: (line: Int, column: Int)?
            switch c.position {
            case .none: pos = nil
            case .at(let needle, let occurrence, let offset):
                pos = position(of: needle, in: c.text, occurrence: occurrence, offset: offset, file: #filePath, line: c.line)
            case .fixed(let l, let col): pos = (l, col)
            }
            check(f, c.code, at: pos, step: c.step, field: c.field, message: c.message, label: c.name, file: #filePath, line: c.line)
            c.extra?(self, f)
        }
    }

    /// A pipeline of `header` plus these lines.
    static func withHeader(_ lines: String) -> String { header + lines }

    // MARK: syntax

    static var syntaxCases: [Case] {
        [
            Case(
                "YAML syntax error has line and column",
                withHeader(
                    """
                      - id: second
                        call: text.tally: oops
                        args: [x]

                    """), .syntax, at: .at(": oops"), step: nil, field: nil, message: "mapping values are not allowed"
            ) { _, f in
                XCTAssertEqual(f.error.line, 13)
                XCTAssertEqual(f.error.column, 21)
            },
            Case(
                "JSON syntax error has line and column",
                """
                {
                  "goal": "g",
                  "plugins": {"text": "text"},
                  "steps": [
                    {"id": "first", "call": "text.tally", "args": ["ran"]}
                    {"id": "second", "call": "text.tally", "args": ["x"]}
                  ]
                }

                """, fileName: "p.json", .syntax, at: .fixed(6, 5), step: nil, field: nil, message: "did not find expected ',' or ']'"),
            Case("empty file", "# only a comment\n", .syntax, at: .none, step: nil, field: nil, message: "empty"),
        ]
    }

    func testSyntaxErrors() throws { try run(Self.syntaxCases) }

    // MARK: keys

    static var keyCases: [Case] {
        [
            Case(
                "unknown top-level key",
                withHeader(
                    """
                    colour: red

                    """), .unknownKey, at: .at("colour"), step: nil, field: "colour", message: "unknown key \"colour\""),
            Case(
                "unknown step key",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        argz: [x]

                    """), .unknownKey, at: .at("argz"), step: "second", field: "argz", message: "unknown key \"argz\""),
            // The error points at the top-level mapping (its first key).
            Case(
                "missing goal",
                """
                # a pipeline without a goal
                name: v
                plugins:
                  text: text
                steps:
                  - id: first
                    call: text.tally
                    args: [ran]

                """, .missingKey, at: .fixed(2, 1), step: nil, field: "goal", message: "missing key \"goal\""),
            Case(
                "missing steps",
                """
                goal: g
                plugins:
                  text: text
                outputs:
                  x: ${goal}

                """, .missingKey, at: .fixed(1, 1), step: nil, field: "steps", message: "missing key \"steps\""),
        ]
            + ["tally", "text.tally.more", ".tally", "text."].map { call in
                Case(
                    "call not in plugin.function form: \(call)",
                    withHeader(
                        """
                          - id: second
                            call: \(call)
                            args: [x]

                        """), .wrongType, at: .at("call: \(call)\n", offset: 6), step: "second", field: "call",
                    message: "must be plugin.function")
            } + [
                Case(
                    "duplicate step id",
                    withHeader(
                        """
                          - id: first
                            call: text.tally
                            args: [again]

                        """), .wrongType, at: .at("id: first", occurrence: 2, offset: 4), step: "first", field: "id",
                    message: "step id first is used twice")
            ]
    }

    func testKeyErrors() throws { try run(Self.keyCases) }

    // MARK: plugins and functions

    static var pluginCases: [Case] {
        [
            Case(
                "unknown plugin not declared",
                withHeader(
                    """
                      - id: second
                        call: nope.tally
                        args: [x]

                    """), .unknownPlugin, at: .at("nope.tally"), step: "second", field: "call", message: "unknown plugin nope"),
            Case(
                "plugin path to a missing file",
                """
                goal: g
                plugins:
                  text: text
                  gone: plugins/libgone.so
                steps:
                  - id: first
                    call: text.tally
                    args: [ran]
                  - id: second
                    call: gone.anything

                """, .unknownPlugin, at: .at("plugins/libgone.so"), step: nil, field: "plugins.gone", message: "no such file"
            ) { _, f in
                // The relative path was resolved against the file's folder.
                let folder = (f.path as NSString).deletingLastPathComponent
                XCTAssertTrue(f.error.message.contains((folder as NSString).appendingPathComponent("plugins/libgone.so")), f.error.message)
            },
            Case(
                "plugin bare name not found",
                """
                goal: g
                plugins:
                  text: text
                  ghost: ghostplugin
                steps:
                  - id: first
                    call: text.tally
                    args: [ran]

                """, .unknownPlugin, at: .at("ghostplugin"), step: nil, field: "plugins.ghost",
                message: "no ghostplugin.so or libghostplugin.so"),
            Case(
                "plugin that is not a shared object",
                """
                goal: g
                plugins:
                  text: text
                  junk: junk.so
                steps:
                  - id: first
                    call: text.tally
                    args: [ran]

                """, files: ["junk.so": "not an ELF file"], .unknownPlugin, at: .at("junk.so"), step: nil, field: "plugins.junk",
                message: "not an ELF shared object"),
            Case(
                "unknown function",
                withHeader(
                    """
                      - id: second
                        call: text.nothing
                        args: [x]

                    """), .unknownFunction, at: .at("text.nothing"), step: "second", field: "call",
                message: "plugin text has no function nothing"),
        ]
    }

    func testPluginAndFunctionErrors() throws { try run(Self.pluginCases) }

    // MARK: arguments

    static var argumentCases: [Case] {
        [
            Case(
                "wrong positional argument count",
                withHeader(
                    """
                      - id: second
                        call: text.keywords
                        args: [hello]

                    """), .argumentCount, at: .at("[hello]"), step: "second", field: "args",
                message: "text.keywords takes 2 arguments (text: string, k: int32), got 1"),
            Case(
                "unknown named argument",
                withHeader(
                    """
                      - id: second
                        call: text.keywords
                        args: {text: hi, k: 2, colour: red}

                    """), .argumentCount, at: .at("red}"), step: "second", field: "args.colour",
                message: "text.keywords has no parameter colour"),
            Case(
                "missing named argument",
                withHeader(
                    """
                      - id: second
                        call: text.keywords
                        args: {k: 3}

                    """), .argumentCount, at: .at("{k: 3}"), step: "second", field: "args.text", message: "missing argument text"),
            Case(
                "literal of wrong type",
                withHeader(
                    """
                      - id: second
                        call: text.keywords
                        args: {text: hi, k: five}

                    """), .argumentType, at: .at("five"), step: "second", field: "args.k", message: "parameter k"),
            Case(
                "literal of wrong type, quoted, by position",
                withHeader(
                    """
                      - id: second
                        call: text.keywords
                        args: [hi, "five"]

                    """), .argumentType, at: .at("\"five\""), step: "second", field: "args[1]", message: "parameter k"),
            Case(
                "literal of wrong type, a number for a string parameter",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        args: {text: 5}

                    """), .argumentType, at: .at("5}"), step: "second", field: "args.text", message: "parameter text"),
            Case(
                "literal out of range",
                withHeader(
                    """
                      - id: second
                        call: sig.id_i8
                        args: [300]

                    """), .argumentType, at: .at("300"), step: "second", field: "args[0]", message: "300 is out of range for int8"),
            Case(
                "literal out of range, named",
                withHeader(
                    """
                      - id: big
                        call: sig.id_i8
                        args: {v: -129}

                    """), .argumentType, at: .at("-129"), step: "big", field: "args.v", message: "out of range"),
            Case(
                "literal out of range, unsigned",
                withHeader(
                    """
                      - id: neg
                        call: sig.id_u8
                        args: [-1]

                    """), .argumentType, at: .at("-1]"), step: "neg", field: "args[0]", message: "out of range"),
        ]
    }

    func testArgumentErrors() throws { try run(Self.argumentCases) }

    func testOmittedArgsForAFunctionWithParameters() throws {
        let text =
            Self.header + """
                  - id: second
                    call: text.word_count

                """
        let f = try validationFailure(text)
        XCTAssertEqual(f.error.code, .argumentCount)
        XCTAssertEqual(f.error.step, "second")
        XCTAssertEqual(f.error.field, "args")
        XCTAssertEqual(f.error.line, position(of: "- id: second", in: text).line)
    }

    // MARK: references

    static var referenceCases: [Case] {
        [
            Case(
                "reference to a later step",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        args: ["${steps.third}"]
                      - id: third
                        call: text.tally
                        args: [x]

                    """), .badReference, at: .at("\"${steps.third}\""), step: "second", field: "args[0]",
                message: "step third does not come before step second"),
            Case(
                "reference to a later step, in foreach",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        foreach: ${steps.third}
                        args: ["${item}"]
                      - id: third
                        call: text.tally
                        args: [x]

                    """), .badReference, at: .at("${steps.third}"), step: "second", field: "foreach",
                message: "step third does not come before step second"),
            Case(
                "reference to its own step",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        args: {text: "${steps.second}"}

                    """), .badReference, at: .at("\"${steps.second}\""), step: "second", field: "args.text", message: "does not come before"
            ),
            Case(
                "reference to an unknown step",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        args: {text: "count ${steps.nosuch} words"}

                    """), .badReference, at: .at("\"count"), step: "second", field: "args.text", message: "unknown step nosuch"),
            Case(
                "unknown step in outputs",
                withHeader(
                    """
                    outputs:
                      x: ${steps.nosuch}

                    """), .badReference, at: .at("${steps.nosuch}"), step: nil, field: "outputs.x", message: "unknown step nosuch"),
            Case(
                "outputs context of an unknown plugin",
                withHeader(
                    """
                    outputs:
                      x: ${context.nope.summaries}
                      y: ${context.summaries}

                    """), .badReference, at: .at("${context.nope"), step: nil, field: "outputs.x", message: "unknown plugin nope"),
            Case(
                "unknown input",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        args: ["${inputs.nosuch}"]

                    """), .badReference, at: .at("\"${inputs.nosuch}\""), step: "second", field: "args[0]", message: "unknown input nosuch"),
            Case(
                "unknown input, in foreach",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        foreach: ${inputs.nosuch}
                        args: ["${item}"]

                    """), .badReference, at: .at("${inputs.nosuch}"), step: "second", field: "foreach", message: "unknown input nosuch"),
            Case(
                "item outside foreach",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        args: ["${item}"]

                    """), .badReference, at: .at("\"${item}\""), step: "second", field: "args[0]", message: "${item}"),
            Case(
                "item outside foreach, in outputs",
                withHeader(
                    """
                    outputs:
                      x: "the ${item}"

                    """), .badReference, at: .at("\"the ${item}\""), step: nil, field: "outputs.x", message: "${item}"),
            Case(
                "memory clusters in args",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        args: {text: "${memory.clusters}"}

                    """), .badReference, at: .at("\"${memory.clusters}\""), step: "second", field: "args.text",
                message: "only available in outputs"),
            Case(
                "foreach over a scalar input",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        foreach: ${inputs.topic}
                        args: ["${item}"]

                    """), .badReference, at: .at("${inputs.topic}"), step: "second", field: "foreach", message: "input topic is not a list"),
            Case(
                "foreach lines file missing",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        foreach: {lines: data/nowhere.txt}
                        args: ["${item}"]

                    """), .badReference, at: .at("{lines:"), step: "second", field: "foreach", message: "cannot read data/nowhere.txt"
            ) { _, f in
                let folder = (f.path as NSString).deletingLastPathComponent
                XCTAssertTrue(f.error.message.contains((folder as NSString).appendingPathComponent("data/nowhere.txt")), f.error.message)
            },
            Case(
                "bad reference syntax: unclosed",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        args: ["${steps.first"]

                    """), .badReference, at: .at("\"${steps.first\""), step: "second", field: "args[0]", message: "unclosed ${"),
            Case(
                "bad reference syntax: unknown namespace",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        args: {text: "home is ${vars.HOME}"}

                    """), .badReference, at: .at("\"home is"), step: "second", field: "args.text", message: "unknown reference ${vars.HOME}"
            ),
            // `env` is a namespace (env: declares its variables): an undeclared one is an error too.
            Case(
                "env variable not declared under env:",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        args: {text: "home is ${env.HOME}"}

                    """), .badReference, at: .at("\"home is"), step: "second", field: "args.text",
                message: "env HOME is not declared under env: (declared: none)"),
            Case(
                "bad reference syntax: unknown namespace, in foreach",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        foreach: ${nothing.here}
                        args: ["${item}"]

                    """), .badReference, at: .at("${nothing.here}"), step: "second", field: "foreach", message: "unknown reference"),
            Case(
                "bad reference syntax: context in args",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        args: ["${context.text.summaries}"]

                    """), .badReference, at: .at("\"${context.text.summaries}\""), step: "second", field: "args[0]",
                message: "unknown reference"),
            Case(
                "memory recall without a concept",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        args: {text: "${memory.recall.related}"}

                    """), .badReference, at: .at("\"${memory.recall.related}\""), step: "second", field: "args.text",
                message: "${memory.recall.related} names no concept"),
            Case(
                "memory recall with an empty concept",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        foreach: "${memory.recall.related:  }"
                        args: ["${item}"]

                    """), .badReference, at: .at("\"${memory.recall.related:"), step: "second", field: "foreach",
                message: "is empty after normalisation"),
            Case(
                "memory recall with an unknown option",
                withHeader(
                    """
                    outputs:
                      x: ${memory.recall.nearby:basil}

                    """), .badReference, at: .at("${memory.recall.nearby"), step: nil, field: "outputs.x",
                message: "unknown or repeated option \"nearby\""),
            Case(
                "memory recall with a limit out of range",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        args: ["recalled: ${memory.recall.related.0:basil}"]

                    """), .badReference, at: .at("\"recalled:"), step: "second", field: "args[0]",
                message: "the limit 0 is out of range 1...1000"),
            Case(
                "memory recall with a repeated option",
                withHeader(
                    """
                      - id: second
                        call: text.word_count
                        args: ["${memory.recall.related.5.related:basil}"]

                    """), .badReference, at: .at("\"${memory.recall"), step: "second", field: "args[0]",
                message: "unknown or repeated option \"related\""),
        ]
    }

    func testReferenceErrors() throws { try run(Self.referenceCases) }

    // MARK: a valid pipeline in JSON

    /// The same pipeline written as JSON parses and runs as the YAML does.
    func testJSONFormOfAValidPipelineRunsTheSame() throws {
        let dir = try makeTempDirectory()
        let json = """
            {
              "name": "journal",
              "goal": "garden-journal",
              "plugins": {"text": "text"},
              "inputs": {
                "topic": "basil",
                "entries": [
                  "Repotted the basil and the tomato seedlings today. The basil wants more light than the windowsill gives.",
                  "The tomato seedlings are tall and thin. More light and a cooler room should make them sturdier.",
                  "Moved the basil to the greenhouse. The greenhouse keeps the soil warm and the light even."
                ]
              },
              "steps": [
                {"id": "run", "call": "text.tally", "args": ["runs"]},
                {"id": "keywords", "call": "text.keywords", "foreach": "${inputs.entries}", "args": {"text": "${item}", "k": 3}},
                {"id": "digest", "call": "text.summarize",
                 "args": {"text": "Keywords of this run: ${steps.keywords}. Last time: ${context.last_summary}", "sentences": 1}},
                {"id": "mentions", "call": "text.recall_count", "args": {"concept": "${inputs.topic}"}}
              ],
              "outputs": {
                "run": "run number ${steps.run} of goal ${goal}",
                "keywords": "${steps.keywords}",
                "digest": "${steps.digest}",
                "topic_memories": "${steps.mentions}",
                "summaries_so_far": "${context.text.summaries}"
              }
            }
            """
        let jsonPath = try write(json, to: dir, "journal.json")
        let hostJSON = try makeHost()
        defer { try? hostJSON.close() }
        let fromJSON = try runInProcess(jsonPath, host: hostJSON)
        let hostYAML = try makeHost()
        defer { try? hostYAML.close() }
        let fromYAML = try runInProcess(Self.journalPath, host: hostYAML)
        XCTAssertEqual(fromJSON.name, fromYAML.name)
        XCTAssertEqual(fromJSON.goal, fromYAML.goal)
        XCTAssertEqual(fromJSON.outputs.map(\.name), fromYAML.outputs.map(\.name))
        XCTAssertEqual(fromJSON.outputs.map(\.value), fromYAML.outputs.map(\.value))
        XCTAssertEqual(fromJSON.steps.map(\.id), fromYAML.steps.map(\.id))
        XCTAssertEqual(fromJSON.steps.map(\.calls), fromYAML.steps.map(\.calls))
        XCTAssertEqual(fromJSON.clusters, fromYAML.clusters)
        XCTAssertEqual(fromJSON.memory.writes, fromYAML.memory.writes)

        let r = try runPlughost(["run", jsonPath, "--engine", "memory"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("run: run number 1 of goal garden-journal\n"), r.stdout)
    }

    // MARK: --input

    static var inputCases: [Case] {
        [
            Case(
                "--input naming an unknown input", header, inputs: ["colour=red"], .input, at: .none, step: nil, field: "--input colour",
                message: "the pipeline has no input colour"),
            Case(
                "--input malformed", header, inputs: ["topic"], .input, at: .none, step: nil, field: "--input",
                message: "must be key=value or key=@file"),
            Case(
                "--input from an unreadable file", header, inputs: ["topic=@/nonexistent/plughost/topic.txt"], .input, at: .none,
                step: nil, field: "--input topic", message: "cannot read /nonexistent/plughost/topic.txt"),
        ]
    }

    func testInputErrors() throws { try run(Self.inputCases) }

    // MARK: through the executable

    /// The executable prints file:line:column, step and field, exits non-zero and runs nothing.
    func testExecutableReportsValidationErrors() throws {
        let dir = try makeTempDirectory()
        let text =
            Self.header + """
                  - id: big
                    call: sig.id_i8
                    args: {v: 300}
                outputs:
                  ran: ${steps.first}

                """
        let path = try write(text, to: dir, "bad.yaml")
        let pos = position(of: "300", in: text)
        let r = try runPlughost(["run", path, "--engine", "memory"], cwd: dir)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(
            r.stderr.contains("\(path):\(pos.line):\(pos.column): step big, field args.v: parameter v: 300 is out of range for int8"),
            r.stderr)
        XCTAssertFalse(r.stdout.contains("ran:"), r.stdout)

        let r2 = try runPlughost(["run", path, "--engine", "memory", "--input", "nosuch=1"], cwd: dir)
        XCTAssertNotEqual(r2.status, 0)
        XCTAssertTrue(r2.stderr.contains("field --input nosuch"), r2.stderr)

        let r3 = try runPlughost(["run", path, "--engine", "memory", "--input", "novalue"], cwd: dir)
        XCTAssertNotEqual(r3.status, 0)
        XCTAssertTrue(r3.stderr.contains("must be key=value or key=@file"), r3.stderr)
    }
}
