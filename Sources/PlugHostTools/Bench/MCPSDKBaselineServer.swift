import Foundation
import MCP
import PlugHost

/// The baseline of `plughost bench mcp`: one plugin function served as an MCP tool by the
/// Swift SDK's own `Server` and `StdioTransport` (modelcontextprotocol/swift-sdk), so that the
/// benchmark measures plughost's server beside it in one run.
public enum MCPSDKBaselineServer {
    /// Serves `function` of `plugin` as the tool `<plugin>_<function>` on stdin/stdout until
    /// end of input.
    public static func run(plugin: LoadedPlugin, function: PluginFunction) {
        let done = DispatchSemaphore(value: 0)
        let toolName = "\(plugin.name)_\(function.name)"
        Task {
            let server = Server(
                name: "plughost-sdk-baseline", version: PlugHostVersion.current, capabilities: .init(tools: .init(listChanged: false)))
            let properties = Dictionary(
                uniqueKeysWithValues: function.parameters.map { ($0.name, Value.object(["type": .string("integer")])) })
            let tool = Tool(
                name: toolName, description: function.doc,
                inputSchema: .object([
                    "type": .string("object"), "properties": .object(properties),
                    "required": .array(function.parameters.map { .string($0.name) }),
                ]))
            await server.withMethodHandler(ListTools.self) { _ in .init(tools: [tool]) }
            await server.withMethodHandler(CallTool.self) { params in
                let args = params.arguments ?? [:]
                let values: [PlugHost.Value] = function.parameters.map { p in .int(Int64(args[p.name]?.intValue ?? 0)) }
                do {
                    let r = try function.call(values, goal: "default")
                    return .init(content: [.text(text: r.text, annotations: nil, _meta: nil)], isError: false)
                } catch {
                    return .init(content: [.text(text: "\(error)", annotations: nil, _meta: nil)], isError: true)
                }
            }
            do {
                try await server.start(transport: StdioTransport())
                await server.waitUntilCompleted()
            } catch {
                FileHandle.standardError.write(Data("sdk baseline server: \(error)\n".utf8))
            }
            done.signal()
        }
        done.wait()
    }
}
