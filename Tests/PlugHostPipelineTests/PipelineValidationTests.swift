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
    func position(of needle: String, in text: String, occurrence: Int = 1, offset: Int = 0,
                  file: StaticString = #filePath, line: UInt = #line) -> (line: Int, column: Int) {
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
    func validationFailure(_ text: String, name: String = "p.yaml", goal: String = "g", inputs: [String] = [],
                           files: [String: String] = [:],
                           file: StaticString = #filePath, line: UInt = #line) throws -> Failure {
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
    func check(_ f: Failure, _ code: PipelineError.Code, at pos: (line: Int, column: Int)?, step: String?, field: String?,
               message: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let e = f.error
        XCTAssertEqual(e.code, code, "code (\(e))", file: file, line: line)
        XCTAssertEqual(e.line, pos?.line, "line (\(e))", file: file, line: line)
        XCTAssertEqual(e.column, pos?.column, "column (\(e))", file: file, line: line)
        XCTAssertEqual(e.step, step, "step (\(e))", file: file, line: line)
        XCTAssertEqual(e.field, field, "field (\(e))", file: file, line: line)
        if let message { XCTAssertTrue(e.message.contains(message), "message \(e.message.debugDescription) lacks \(message.debugDescription)", file: file, line: line) }
        var prefix = f.path
        if let pos { prefix += ":\(pos.line):\(pos.column)" }
        XCTAssertTrue(e.description.hasPrefix(prefix + ": "), "description \(e.description)", file: file, line: line)
        if let step { XCTAssertTrue(e.description.contains("step \(step)"), e.description, file: file, line: line) }
        if let field { XCTAssertTrue(e.description.contains("field \(field)"), e.description, file: file, line: line) }
    }

    // MARK: syntax

    func testYAMLSyntaxErrorHasLineAndColumn() throws {
        let text = Self.header + """
              - id: second
                call: text.tally: oops
                args: [x]

            """
        let f = try validationFailure(text)
        check(f, .syntax, at: position(of: ": oops", in: text), step: nil, field: nil, message: "mapping values are not allowed")
        XCTAssertEqual(f.error.line, 13)
        XCTAssertEqual(f.error.column, 21)
    }

    func testJSONSyntaxErrorHasLineAndColumn() throws {
        let text = """
            {
              "goal": "g",
              "plugins": {"text": "text"},
              "steps": [
                {"id": "first", "call": "text.tally", "args": ["ran"]}
                {"id": "second", "call": "text.tally", "args": ["x"]}
              ]
            }

            """
        let f = try validationFailure(text, name: "p.json")
        check(f, .syntax, at: (6, 5), step: nil, field: nil, message: "did not find expected ',' or ']'")
    }

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

    func testEmptyFile() throws {
        let f = try validationFailure("# only a comment\n")
        check(f, .syntax, at: nil, step: nil, field: nil, message: "empty")
    }

    // MARK: keys

    func testUnknownTopLevelKey() throws {
        let text = Self.header + """
            colour: red

            """
        let f = try validationFailure(text)
        check(f, .unknownKey, at: position(of: "colour", in: text), step: nil, field: "colour", message: "unknown key \"colour\"")
    }

    func testUnknownStepKey() throws {
        let text = Self.header + """
              - id: second
                call: text.tally
                argz: [x]

            """
        let f = try validationFailure(text)
        check(f, .unknownKey, at: position(of: "argz", in: text), step: "second", field: "argz", message: "unknown key \"argz\"")
    }

    func testMissingGoal() throws {
        let text = """
            # a pipeline without a goal
            name: v
            plugins:
              text: text
            steps:
              - id: first
                call: text.tally
                args: [ran]

            """
        let f = try validationFailure(text)
        // The error points at the top-level mapping (its first key).
        check(f, .missingKey, at: (2, 1), step: nil, field: "goal", message: "missing key \"goal\"")
    }

    func testMissingSteps() throws {
        let text = """
            goal: g
            plugins:
              text: text
            outputs:
              x: ${goal}

            """
        let f = try validationFailure(text)
        check(f, .missingKey, at: (1, 1), step: nil, field: "steps", message: "missing key \"steps\"")
    }

    func testCallNotInPluginFunctionForm() throws {
        for call in ["tally", "text.tally.more", ".tally", "text."] {
            let text = Self.header + """
                  - id: second
                    call: \(call)
                    args: [x]

                """
            let f = try validationFailure(text)
            check(f, .wrongType, at: position(of: "call: \(call)\n", in: text, offset: 6), step: "second", field: "call", message: "must be plugin.function")
        }
    }

    // MARK: plugins and functions

    func testUnknownPluginNotDeclared() throws {
        let text = Self.header + """
              - id: second
                call: nope.tally
                args: [x]

            """
        let f = try validationFailure(text)
        check(f, .unknownPlugin, at: position(of: "nope.tally", in: text), step: "second", field: "call", message: "unknown plugin nope")
    }

    func testPluginPathToMissingFile() throws {
        let text = """
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

            """
        let f = try validationFailure(text)
        check(f, .unknownPlugin, at: position(of: "plugins/libgone.so", in: text), step: nil, field: "plugins.gone", message: "no such file")
        // The relative path was resolved against the file's folder.
        let folder = (f.path as NSString).deletingLastPathComponent
        XCTAssertTrue(f.error.message.contains((folder as NSString).appendingPathComponent("plugins/libgone.so")), f.error.message)
    }

    func testPluginBareNameNotFound() throws {
        let text = """
            goal: g
            plugins:
              text: text
              ghost: ghostplugin
            steps:
              - id: first
                call: text.tally
                args: [ran]

            """
        let f = try validationFailure(text)
        check(f, .unknownPlugin, at: position(of: "ghostplugin", in: text), step: nil, field: "plugins.ghost",
              message: "no ghostplugin.so or libghostplugin.so")
    }

    func testPluginThatIsNotASharedObject() throws {
        let text = """
            goal: g
            plugins:
              text: text
              junk: junk.so
            steps:
              - id: first
                call: text.tally
                args: [ran]

            """
        let f = try validationFailure(text, files: ["junk.so": "not an ELF file"])
        check(f, .unknownPlugin, at: position(of: "junk.so", in: text), step: nil, field: "plugins.junk", message: "not an ELF shared object")
    }

    func testUnknownFunction() throws {
        let text = Self.header + """
              - id: second
                call: text.nothing
                args: [x]

            """
        let f = try validationFailure(text)
        check(f, .unknownFunction, at: position(of: "text.nothing", in: text), step: "second", field: "call",
              message: "plugin text has no function nothing")
    }

    // MARK: arguments

    func testWrongPositionalArgumentCount() throws {
        let text = Self.header + """
              - id: second
                call: text.keywords
                args: [hello]

            """
        let f = try validationFailure(text)
        check(f, .argumentCount, at: position(of: "[hello]", in: text), step: "second", field: "args",
              message: "text.keywords takes 2 arguments (text: string, k: int32), got 1")
    }

    func testOmittedArgsForAFunctionWithParameters() throws {
        let text = Self.header + """
              - id: second
                call: text.word_count

            """
        let f = try validationFailure(text)
        XCTAssertEqual(f.error.code, .argumentCount)
        XCTAssertEqual(f.error.step, "second")
        XCTAssertEqual(f.error.field, "args")
        XCTAssertEqual(f.error.line, position(of: "- id: second", in: text).line)
    }

    func testUnknownNamedArgument() throws {
        let text = Self.header + """
              - id: second
                call: text.keywords
                args: {text: hi, k: 2, colour: red}

            """
        let f = try validationFailure(text)
        check(f, .argumentCount, at: position(of: "red}", in: text), step: "second", field: "args.colour",
              message: "text.keywords has no parameter colour")
    }

    func testMissingNamedArgument() throws {
        let text = Self.header + """
              - id: second
                call: text.keywords
                args: {text: hi}

            """
        let f = try validationFailure(text)
        check(f, .argumentCount, at: position(of: "{text: hi}", in: text), step: "second", field: "args.k", message: "missing argument k")
    }

    func testLiteralOfWrongType() throws {
        let text = Self.header + """
              - id: second
                call: text.keywords
                args: {text: hi, k: five}

            """
        let f = try validationFailure(text)
        check(f, .argumentType, at: position(of: "five", in: text), step: "second", field: "args.k", message: "parameter k")

        // Quoted, and by position.
        let quoted = Self.header + """
              - id: second
                call: text.keywords
                args: [hi, "five"]

            """
        let g = try validationFailure(quoted)
        check(g, .argumentType, at: position(of: "\"five\"", in: quoted), step: "second", field: "args[1]", message: "parameter k")

        // A number for a string parameter.
        let number = Self.header + """
              - id: second
                call: text.word_count
                args: {text: 5}

            """
        let h = try validationFailure(number)
        check(h, .argumentType, at: position(of: "5}", in: number), step: "second", field: "args.text", message: "parameter text")
    }

    func testLiteralOutOfRange() throws {
        let text = Self.header + """
              - id: second
                call: sig.id_i8
                args: [300]

            """
        let f = try validationFailure(text)
        check(f, .argumentType, at: position(of: "300", in: text), step: "second", field: "args[0]", message: "300 is out of range for int8")

        let named = Self.header + """
              - id: big
                call: sig.id_i8
                args: {v: -129}

            """
        let g = try validationFailure(named)
        check(g, .argumentType, at: position(of: "-129", in: named), step: "big", field: "args.v", message: "out of range")

        let unsigned = Self.header + """
              - id: neg
                call: sig.id_u8
                args: [-1]

            """
        let h = try validationFailure(unsigned)
        check(h, .argumentType, at: position(of: "-1]", in: unsigned), step: "neg", field: "args[0]", message: "out of range")
    }

    // MARK: references

    func testReferenceToALaterStep() throws {
        let text = Self.header + """
              - id: second
                call: text.word_count
                args: ["${steps.third}"]
              - id: third
                call: text.tally
                args: [x]

            """
        let f = try validationFailure(text)
        check(f, .badReference, at: position(of: "\"${steps.third}\"", in: text), step: "second", field: "args[0]",
              message: "step third does not come before step second")

        let inForeach = Self.header + """
              - id: second
                call: text.word_count
                foreach: ${steps.third}
                args: ["${item}"]
              - id: third
                call: text.tally
                args: [x]

            """
        let g = try validationFailure(inForeach)
        check(g, .badReference, at: position(of: "${steps.third}", in: inForeach), step: "second", field: "foreach",
              message: "step third does not come before step second")
    }

    func testReferenceToItsOwnStep() throws {
        let text = Self.header + """
              - id: second
                call: text.word_count
                args: {text: "${steps.second}"}

            """
        let f = try validationFailure(text)
        check(f, .badReference, at: position(of: "\"${steps.second}\"", in: text), step: "second", field: "args.text",
              message: "does not come before")
    }

    func testReferenceToAnUnknownStep() throws {
        let text = Self.header + """
              - id: second
                call: text.word_count
                args: {text: "count ${steps.nosuch} words"}

            """
        let f = try validationFailure(text)
        check(f, .badReference, at: position(of: "\"count", in: text), step: "second", field: "args.text", message: "unknown step nosuch")
    }

    func testUnknownStepInOutputs() throws {
        let text = Self.header + """
            outputs:
              x: ${steps.nosuch}

            """
        let f = try validationFailure(text)
        check(f, .badReference, at: position(of: "${steps.nosuch}", in: text), step: nil, field: "outputs.x", message: "unknown step nosuch")
    }

    func testOutputsContextOfAnUnknownPlugin() throws {
        let text = Self.header + """
            outputs:
              x: ${context.nope.summaries}
              y: ${context.summaries}

            """
        let f = try validationFailure(text)
        check(f, .badReference, at: position(of: "${context.nope", in: text), step: nil, field: "outputs.x", message: "unknown plugin nope")
    }

    func testUnknownInput() throws {
        let text = Self.header + """
              - id: second
                call: text.word_count
                args: ["${inputs.nosuch}"]

            """
        let f = try validationFailure(text)
        check(f, .badReference, at: position(of: "\"${inputs.nosuch}\"", in: text), step: "second", field: "args[0]", message: "unknown input nosuch")

        let inForeach = Self.header + """
              - id: second
                call: text.word_count
                foreach: ${inputs.nosuch}
                args: ["${item}"]

            """
        let g = try validationFailure(inForeach)
        check(g, .badReference, at: position(of: "${inputs.nosuch}", in: inForeach), step: "second", field: "foreach", message: "unknown input nosuch")
    }

    func testItemOutsideForeach() throws {
        let text = Self.header + """
              - id: second
                call: text.word_count
                args: ["${item}"]

            """
        let f = try validationFailure(text)
        check(f, .badReference, at: position(of: "\"${item}\"", in: text), step: "second", field: "args[0]", message: "${item}")

        let inOutputs = Self.header + """
            outputs:
              x: "the ${item}"

            """
        let g = try validationFailure(inOutputs)
        check(g, .badReference, at: position(of: "\"the ${item}\"", in: inOutputs), step: nil, field: "outputs.x", message: "${item}")
    }

    func testMemoryClustersInArgs() throws {
        let text = Self.header + """
              - id: second
                call: text.word_count
                args: {text: "${memory.clusters}"}

            """
        let f = try validationFailure(text)
        check(f, .badReference, at: position(of: "\"${memory.clusters}\"", in: text), step: "second", field: "args.text",
              message: "only available in outputs")
    }

    func testForeachOverAScalarInput() throws {
        let text = Self.header + """
              - id: second
                call: text.word_count
                foreach: ${inputs.topic}
                args: ["${item}"]

            """
        let f = try validationFailure(text)
        check(f, .badReference, at: position(of: "${inputs.topic}", in: text), step: "second", field: "foreach", message: "input topic is not a list")
    }

    func testForeachLinesFileMissing() throws {
        let text = Self.header + """
              - id: second
                call: text.word_count
                foreach: {lines: data/nowhere.txt}
                args: ["${item}"]

            """
        let f = try validationFailure(text)
        check(f, .badReference, at: position(of: "{lines:", in: text), step: "second", field: "foreach", message: "cannot read data/nowhere.txt")
        let folder = (f.path as NSString).deletingLastPathComponent
        XCTAssertTrue(f.error.message.contains((folder as NSString).appendingPathComponent("data/nowhere.txt")), f.error.message)
    }

    func testBadReferenceSyntaxUnclosed() throws {
        let text = Self.header + """
              - id: second
                call: text.word_count
                args: ["${steps.first"]

            """
        let f = try validationFailure(text)
        check(f, .badReference, at: position(of: "\"${steps.first\"", in: text), step: "second", field: "args[0]", message: "unclosed ${")
    }

    func testBadReferenceSyntaxUnknownNamespace() throws {
        let text = Self.header + """
              - id: second
                call: text.word_count
                args: {text: "home is ${env.HOME}"}

            """
        let f = try validationFailure(text)
        check(f, .badReference, at: position(of: "\"home is", in: text), step: "second", field: "args.text", message: "unknown reference ${env.HOME}")

        let foreach = Self.header + """
              - id: second
                call: text.word_count
                foreach: ${nothing.here}
                args: ["${item}"]

            """
        let g = try validationFailure(foreach)
        check(g, .badReference, at: position(of: "${nothing.here}", in: foreach), step: "second", field: "foreach", message: "unknown reference")

        let context = Self.header + """
              - id: second
                call: text.word_count
                args: ["${context.text.summaries}"]

            """
        let h = try validationFailure(context)
        check(h, .badReference, at: position(of: "\"${context.text.summaries}\"", in: context), step: "second", field: "args[0]", message: "unknown reference")
    }

    func testDuplicateStepID() throws {
        let text = Self.header + """
              - id: first
                call: text.tally
                args: [again]

            """
        let f = try validationFailure(text)
        check(f, .wrongType, at: position(of: "id: first", in: text, occurrence: 2, offset: 4), step: "first", field: "id",
              message: "step id first is used twice")
    }

    // MARK: --input

    func testInputNamingAnUnknownInput() throws {
        let f = try validationFailure(Self.header, inputs: ["colour=red"])
        check(f, .input, at: nil, step: nil, field: "--input colour", message: "the pipeline has no input colour")
    }

    func testInputMalformed() throws {
        let f = try validationFailure(Self.header, inputs: ["topic"])
        check(f, .input, at: nil, step: nil, field: "--input", message: "must be key=value or key=@file")
    }

    func testInputFromAnUnreadableFile() throws {
        let f = try validationFailure(Self.header, inputs: ["topic=@/nonexistent/plughost/topic.txt"])
        check(f, .input, at: nil, step: nil, field: "--input topic", message: "cannot read /nonexistent/plughost/topic.txt")
    }

    // MARK: through the executable

    /// The executable prints file:line:column, step and field, exits non-zero and runs nothing.
    func testExecutableReportsValidationErrors() throws {
        let dir = try makeTempDirectory()
        let text = Self.header + """
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
        XCTAssertTrue(r.stderr.contains("\(path):\(pos.line):\(pos.column): step big, field args.v: parameter v: 300 is out of range for int8"), r.stderr)
        XCTAssertFalse(r.stdout.contains("ran:"), r.stdout)

        let r2 = try runPlughost(["run", path, "--engine", "memory", "--input", "nosuch=1"], cwd: dir)
        XCTAssertNotEqual(r2.status, 0)
        XCTAssertTrue(r2.stderr.contains("field --input nosuch"), r2.stderr)

        let r3 = try runPlughost(["run", path, "--engine", "memory", "--input", "novalue"], cwd: dir)
        XCTAssertNotEqual(r3.status, 0)
        XCTAssertTrue(r3.stderr.contains("must be key=value or key=@file"), r3.stderr)
    }
}
