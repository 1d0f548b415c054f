import ArgumentParser
import Foundation
import PlugHost
import PlugHostPipeline
import PlugHostTools

/// `plughost call PLUGIN FUNCTION [ARG ...]`: one call, arguments parsed by declared type.
struct CallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call", abstract: "Call one plugin function; each argument is parsed by its declared type.")

    @Argument(help: "A plugin path, or a bare name on the plugin search path.")
    var plugin: String

    @Argument(help: "The function to call.")
    var function: String

    @Argument(parsing: .allUnrecognized, help: "The arguments, in declared order; trailing optional ones may be left out.")
    var arguments: [String] = []

    @Option(help: "The goal whose memory and context the call uses.")
    var goal: String = "default"

    @Flag(help: "Print the result as JSON.")
    var json = false

    @OptionGroup var engine: EngineOptions
    @OptionGroup var plugins: PluginOptions
    @OptionGroup var log: LogOptions

    func run() throws {
        try log.bootstrap()
        let out = StandardOutput.reserve()
        let host = plugins.makeHost(memory: try engine.openMemory())
        defer { try? host.close() }
        let p = try host.load(plugin)
        guard let f = p.function(named: function) else {
            throw ValidationError(
                "plugin \(p.name) has no function \(function); it has: \(p.functions.map(\.name).joined(separator: ", "))")
        }
        let required = f.parameters.filter { !$0.isOptional }.count
        guard (required...f.parameters.count).contains(arguments.count) else {
            throw ValidationError(
                "\(f.qualifiedName) takes \(f.parameters.count) argument\(f.parameters.count == 1 ? "" : "s") (\(f.parameters.map { "\($0.name): \($0.type.name)" }.joined(separator: ", "))), got \(arguments.count)"
            )
        }
        var values: [Value] = []
        for (i, (text, param)) in zip(arguments, f.parameters).enumerated() {
            do {
                values.append(try Value.parse(text, as: param.type))
            } catch let e as CallError {
                throw ValidationError("argument \(i + 1) (\(param.name): \(param.type.name)): \(e.message)")
            }
        }
        // Omitted optional parameters take their declared defaults.
        values += f.parameters[values.count...].compactMap(\.defaultValue)
        let result = try f.call(values, goal: goal)
        try host.close()
        if json {
            out.writeLine(JSONText.encode(["plugin": p.name, "function": f.name, "goal": goal, "result": result.jsonObject]))
        } else if result != .void {
            out.writeLine(result.text)
        }
    }
}
