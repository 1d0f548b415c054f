import ArgumentParser
import Foundation
import PlugHost
import PlugHostPipeline
import PlugHostTools

/// `plughost call PLUGIN FUNCTION [ARG ...]`: one call, arguments parsed by declared type.
struct CallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call", abstract: "Call one plugin function; each argument is parsed by its declared type.",
        discussion: """
            Arguments: in declared order, or as one JSON object of named arguments (--args '{"text": "…"}') \
            or a JSON array. A string or buffer argument @FILE is the file's contents, and - is standard \
            input (@@… passes a text that starts with @). After --, every word is an argument, even one \
            that starts with '-'.

            A call that does not touch the memory (a function without a call context) creates no \
            database.
            """)

    @Argument(help: "A plugin path, or a bare name on the plugin search path.", completion: .custom(PluginNameCompletion.complete))
    var plugin: String

    @Argument(help: "The function to call.")
    var function: String

    @Argument(parsing: .allUnrecognized, help: "The arguments, in declared order; trailing optional ones may be left out.")
    var arguments: [String] = []

    @Option(help: "The arguments as JSON: an object of named arguments, or an array in declared order (@FILE or - read it).")
    var args: String?

    @Option(name: [.short, .long], help: "The goal whose memory and context the call uses.")
    var goal: String = "default"

    @Flag(help: "Print the result as JSON (and a failure as a JSON error object).")
    var json = false

    @OptionGroup var engine: EngineOptions
    @OptionGroup var writePath: WritePathOptions
    @OptionGroup var plugins: PluginOptions
    @OptionGroup var log: LogOptions

    /// The positional arguments, with the first `--` (the end of options) taken out.
    var positional: [String] {
        var words = arguments
        if let end = words.firstIndex(of: "--") { words.remove(at: end) }
        return words
    }

    func validate() throws {
        if args != nil, !positional.isEmpty {
            throw ValidationError("give the arguments either as words or with --args, not both")
        }
    }

    func run() throws {
        try log.bootstrap()
        let out = StandardOutput.reserve()
        // A SQLite memory that does not exist yet is created by the first write (DeferredEngine):
        // a pure function's call leaves nothing behind.
        let host = plugins.makeHost(memory: try engine.openMemory(baseline: writePath.baseline))
        defer { try? host.close() }
        let p = try host.load(plugin)
        guard let f = p.function(named: function) else {
            throw CallError(
                .unknownFunction, function: "\(p.name).\(function)",
                "plugin \(p.name) has no function \(function); it has: \(p.functions.map(\.name).joined(separator: ", "))\(suggestion(for: function, in: p.functions.map(\.name)))"
            )
        }
        let values = try argumentValues(for: f)
        let result = try f.call(values, goal: goal)
        try host.close()
        if json {
            out.writeLine(JSONText.encode(["plugin": p.name, "function": f.name, "goal": goal, "result": result.jsonObject]))
        } else if result != .void {
            out.writeLine(result.text)
        }
    }

    /// " Did you mean …?" for a misspelt function name, or "".
    private func suggestion(for name: String, in names: [String]) -> String {
        let near = CommandRunner.nearest(name, in: names)
        return near.isEmpty ? "" : ". Did you mean \(near.joined(separator: " or "))?"
    }

    /// The values of the call: the words or `--args`, checked against the declaration; omitted
    /// optional parameters take their declared defaults.
    private func argumentValues(for f: PluginFunction) throws -> [Value] {
        let input = StandardInput()
        if let args {
            return try jsonArguments(try input.text(of: args, what: "--args"), for: f)
        }
        let words = positional
        let required = f.parameters.filter { !$0.isOptional }.count
        guard (required...f.parameters.count).contains(words.count) else {
            throw CallError(
                .argumentCount, function: "\(plugin).\(function)",
                "takes \(f.parameters.count) argument\(f.parameters.count == 1 ? "" : "s") (\(f.parameters.map { "\($0.name): \($0.type.name)" }.joined(separator: ", "))), got \(words.count)"
            )
        }
        var values: [Value] = []
        for (i, (word, param)) in zip(words, f.parameters).enumerated() {
            let what = "argument \(i + 1) (\(param.name): \(param.type.name))"
            do {
                switch param.type {
                case .string:
                    values.append(.string(try input.text(of: word, what: what)))
                case .buffer where word == "-" || (word.hasPrefix("@") && !word.hasPrefix("@@")):
                    values.append(.buffer(try input.bytes(of: word, what: what)))
                default:
                    values.append(try Value.parse(word, as: param.type))
                }
            } catch let e as CallError {
                throw CallError(e.code, function: f.qualifiedName, "\(what): \(e.message)")
            }
        }
        values += f.parameters[values.count...].compactMap(\.defaultValue)
        return values
    }

    /// `--args`: a JSON object of named arguments or an array in declared order.
    private func jsonArguments(_ text: String, for f: PluginFunction) throws -> [Value] {
        let parsed: JSONValue
        do {
            parsed = try JSONReader.parse(text)
        } catch {
            throw CallError(.argumentType, function: "\(plugin).\(function)", "--args: not JSON: \(error)")
        }
        var named: [String: JSONValue] = [:]
        switch parsed {
        case .object(let members):
            for m in members where named.updateValue(m.value, forKey: m.key) != nil {
                throw CallError(.argumentCount, function: "\(plugin).\(function)", "--args: argument \(m.key) is given twice")
            }
            let known = Set(f.parameters.map(\.name))
            if let unknown = named.keys.sorted().first(where: { !known.contains($0) }) {
                throw CallError(
                    .argumentCount, function: "\(plugin).\(function)",
                    "--args: no parameter \(unknown); its parameters: \(f.parameters.map(\.name).joined(separator: ", "))\(suggestion(for: unknown, in: Array(known)))"
                )
            }
        case .array(let items):
            guard items.count <= f.parameters.count else {
                throw CallError(
                    .argumentCount, function: "\(plugin).\(function)",
                    "--args: takes \(f.parameters.count) arguments, the array has \(items.count)")
            }
            for (item, p) in zip(items, f.parameters) { named[p.name] = item }
        default:
            throw CallError(
                .argumentType, function: "\(plugin).\(function)",
                "--args: expected a JSON object of named arguments or an array, got \(parsed.description)")
        }
        var values: [Value] = []
        for p in f.parameters {
            guard let v = named[p.name] else {
                if let d = p.defaultValue {
                    values.append(d)
                    continue
                }
                throw CallError(.argumentCount, function: "\(plugin).\(function)", "--args: missing argument \(p.name) (\(p.type.name))")
            }
            do {
                let value = try Value(json: v, as: p.type)
                try p.check(value, function: "")
                values.append(value)
            } catch let e as CallError {
                throw CallError(e.code, function: f.qualifiedName, "--args: argument \(p.name): \(e.message)")
            }
        }
        return values
    }
}

/// Reads `@FILE` and `-` (standard input, once) for argument values.
final class StandardInput {
    private var consumed = false

    /// `word` itself, the contents of `@FILE`, standard input for `-`; `@@…` is `@…`.
    func text(of word: String, what: String) throws -> String {
        if word.hasPrefix("@@") { return String(word.dropFirst()) }
        guard word == "-" || word.hasPrefix("@") else { return word }
        let bytes = try self.bytes(of: word, what: what)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CommandError(.invalidInput, "\(word == "-" ? "standard input" : String(word.dropFirst())) is not UTF-8 text")
        }
        return text
    }

    /// The bytes of `@FILE` or of standard input (`-`).
    func bytes(of word: String, what: String) throws -> [UInt8] {
        if word == "-" {
            guard !consumed else { throw CommandError(.invalidInput, "\(what): standard input (-) can be read only once") }
            consumed = true
            return Array(FileHandle.standardInput.readDataToEndOfFile())
        }
        let path = String(word.dropFirst())
        guard !path.isEmpty else { throw CommandError(.invalidInput, "\(what): @ needs a file name (@@ passes a text starting with @)") }
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw CommandError(
                .invalidInput,
                "\(what): cannot read \(path): \((error as NSError).localizedFailureReason ?? "\(error)") (@@… passes a text starting with @)"
            )
        }
    }
}
