import ArgumentParser
import Foundation
import PlugHost
import PlugHostPipeline
import PlugHostTools

/// `plughost inspect PLUGIN`: what a plugin declares.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show a plugin's name, version, ABI and functions.")

    @Argument(help: "A plugin path, or a bare name on the plugin search path.", completion: .custom(PluginNameCompletion.complete))
    var plugin: String

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var plugins: PluginOptions

    @OptionGroup var log: LogOptions

    func run() throws {
        let host = plugins.makeHost(memory: try MemoryService(engine: InMemoryEngine()))
        // The descriptor is read in a worker unless --isolation in-process says otherwise, so
        // that a plugin whose constructor or init crashes cannot take inspect down.
        let p = try host.load(plugin, isolation: plugins.isolation ?? .process)
        if json {
            let functions: [[String: Any]] = p.functions.map { f in
                var o: [String: Any] = [
                    "name": f.name, "doc": f.doc, "signature": f.signature, "returns": f.returnType.name,
                    "parameters": f.parameters.map(ParameterJSON.object), "result_doc": f.resultDoc,
                    "takes_context": f.takesContext, "thread_safe": f.threadSafe,
                ]
                if let schema = f.resultSchema { o["result_schema"] = (try? JSONReader.parse(schema)) ?? schema }
                return o
            }
            let obj: [String: Any] = [
                "name": p.name, "version": p.version, "description": p.description, "path": p.path,
                "abi": "\(p.abiMajor).\(p.abiMinor)", "abi_major": p.abiMajor, "abi_minor": p.abiMinor,
                "functions": functions, "isolation": p.isolation.rawValue,
            ]
            print(JSONText.encode(obj))
        } else {
            print("\(p.name) \(p.version) (plugin ABI \(p.abiMajor).\(p.abiMinor))")
            if !p.description.isEmpty { print(p.description) }
            print("file: \(p.path)")
            print("read in: \(p.isolation == .process ? "a worker process (process isolation)" : "this process (in-process)")")
            print("functions:")
            for f in p.functions {
                var tags: [String] = []
                if f.threadSafe { tags.append("thread-safe") }
                print("  \(f.signature);\(tags.isEmpty ? "" : "  [\(tags.joined(separator: ", "))]")")
                if !f.doc.isEmpty { print("      \(f.doc)") }
                // Parameter metadata (ABI 1.1), shown when the plugin declares any.
                if f.parameters.contains(where: { !$0.description.isEmpty || $0.hasConstraints || $0.isOptional }) {
                    for p in f.parameters { print("      - \(ParameterJSON.line(p))") }
                }
                if !f.resultDoc.isEmpty { print("      returns: \(f.resultDoc)") }
                if f.resultSchema != nil { print("      result: JSON (schema declared; inspect --json shows it)") }
            }
        }
        try host.close()
    }
}
