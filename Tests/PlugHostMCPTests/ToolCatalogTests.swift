import Foundation
import PlugHost
import PlugHostTestSupport
import Synchronization
import XCTest

@testable import PlugHostMCP

final class ToolCatalogTests: XCTestCase {
    func testNamesAreValidForEveryFormat() {
        XCTAssertEqual(ToolCatalog.sanitize("my plugin.do-it"), "my_plugin_do-it")
        XCTAssertEqual(ToolCatalog.sanitize(String(repeating: "a", count: 80)).count, 64)
        XCTAssertEqual(ToolCatalog.sanitize("é"), "_")
        XCTAssertEqual(ResourceURI.parse(ResourceURI.clusters(goal: "a b/c")), .clusters(goal: "a b/c"))
        XCTAssertEqual(ResourceURI.parse(ResourceURI.context(goal: "g", plugin: "text")), .context(goal: "g", plugin: "text"))
        XCTAssertNil(ResourceURI.parse("plughost://goals//clusters"))
    }
}

/// A function with a parameter named `goal` (and one with `plughost_goal` too): the goal
/// selector moves out of their way, the same in `tools/list` and in `tools/call`.
final class GoalArgumentTests: XCTestCase {
    /// Plugin `clash`: `pick(goal)` and `both(goal, plughost_goal)` return their arguments and
    /// the call's goal, as `ARGS@GOAL`.
    private static let source = #"""
        #include "plughost/plughost.h"
        #include <stdio.h>
        #include <string.h>

        static const ph_host_api *g_host;

        static const char *say(const ph_call_context *ctx, const char *a, const char *b) {
            size_t n = strlen(a) + strlen(b) + strlen(ctx->goal) + 3;
            char *out = g_host->alloc(n);
            if (out == NULL) {
                ctx->host->set_error(ctx, "out of memory");
                return NULL;
            }
            snprintf(out, n, "%s%s%s@%s", a, *b ? "+" : "", b, ctx->goal);
            return out;
        }
        static const char *clash_pick(const ph_call_context *ctx, const char *goal) { return say(ctx, goal, ""); }
        static const char *clash_both(const ph_call_context *ctx, const char *goal, const char *plughost_goal) {
            return say(ctx, goal, plughost_goal);
        }
        static bool clash_init(const ph_host_api *host) {
            g_host = host;
            return true;
        }
        static void clash_shutdown(void) {}

        static const uint32_t one_string[] = {PH_TYPE_STRING};
        static const char *const pick_names[] = {"goal"};
        static const ph_function pick_fn = {
            .struct_size = sizeof(ph_function), .name = "pick", .doc = "its goal argument and the call's goal",
            .fn = (void (*)(void))clash_pick, .return_type = PH_TYPE_STRING, .param_count = 1,
            .param_types = one_string, .param_names = pick_names,
            .flags = PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC,
        };
        static const uint32_t two_strings[] = {PH_TYPE_STRING, PH_TYPE_STRING};
        static const char *const both_names[] = {"goal", "plughost_goal"};
        static const ph_function both_fn = {
            .struct_size = sizeof(ph_function), .name = "both", .doc = "both arguments and the call's goal",
            .fn = (void (*)(void))clash_both, .return_type = PH_TYPE_STRING, .param_count = 2,
            .param_types = two_strings, .param_names = both_names,
            .flags = PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC,
        };
        static const ph_function *const functions[] = {&pick_fn, &both_fn};
        static const ph_plugin plugin = {
            .struct_size = sizeof(ph_plugin), .abi_major = PLUGHOST_ABI_MAJOR, .abi_minor = PLUGHOST_ABI_MINOR,
            .min_host_abi_minor = 0, .name = "clash", .version = "1.0.0", .description = "goal-named parameters",
            .function_count = 2, .functions = functions, .init = clash_init, .shutdown = clash_shutdown, .free_value = NULL,
        };
        PLUGHOST_DECLARE_ENTRY() { return &plugin; }
        """#

    func testAParameterNamedGoalMovesTheGoalSelector() throws {
        let dir = try TestSupport.makeTempDirectory(for: self)
        let library = dir.appendingPathComponent("clash.so").path
        try TestSupport.compileC(source: try TestSupport.write(Self.source, to: dir, "clash.c"), output: library)
        let host = try TestSupport.makeHost()
        defer { try? host.close() }
        let plugin = try host.load(library, isolation: .inProcess)
        let catalog = ToolCatalog(plugins: [plugin], memoryTools: true)

        // tools/list: the parameter keeps its name, the selector is the other, optional property
        func properties(_ name: String) throws -> (keys: [String], required: [String]) {
            let tool = try XCTUnwrap(catalog.tool(named: name))
            let schema = catalog.definition(tool, .mcp).members["inputSchema"]
            guard case .object(let props)? = schema?.members["properties"], case .array(let required)? = schema?.members["required"] else {
                XCTFail("\(name): unexpected inputSchema \(String(describing: schema))")
                return ([], [])
            }
            return (props.map(\.key), required.compactMap { if case .string(let s) = $0 { s } else { nil } })
        }
        XCTAssertEqual(catalog.tool(named: "clash_pick")?.goalArgument, "plughost_goal")
        XCTAssertEqual(try properties("clash_pick").keys, ["goal", "plughost_goal"])
        XCTAssertEqual(try properties("clash_pick").required, ["goal"])
        XCTAssertEqual(catalog.tool(named: "clash_both")?.goalArgument, "plughost_goal_2")
        XCTAssertEqual(try properties("clash_both").keys, ["goal", "plughost_goal", "plughost_goal_2"])
        XCTAssertEqual(try properties("clash_both").required, ["goal", "plughost_goal"])
        XCTAssertEqual(catalog.tool(named: "memory_recall")?.goalArgument, "goal")

        // tools/call: the same names
        let server = MCPServer(host: host, catalog: catalog, version: "test")
        let session = MCPSession(goal: "session-goal")
        func call(_ tool: String, _ arguments: String) throws -> (reply: JSONValue, text: String) {
            let reply = Reply()
            let message = try JSONValue.parse(
                #"{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "\#(tool)", "arguments": \#(arguments)}}"#)
            server.handle(message: message, session: session, emit: reply.set)
            XCTAssertTrue(server.waitForRunning(timeout: .seconds(10)))
            let text = try XCTUnwrap(reply.text)
            return (try JSONValue.parse(text), text)
        }
        func result(_ tool: String, _ arguments: String) throws -> String? {
            let r = try call(tool, arguments)
            guard case .string(let s)? = r.reply.members["result"]?.members["structuredContent"]?.members["result"] else {
                XCTFail("\(tool)(\(arguments)): \(r.text)")
                return nil
            }
            return s
        }
        func errorMessage(_ tool: String, _ arguments: String) throws -> String? {
            let r = try call(tool, arguments)
            guard case .string(let m)? = r.reply.members["error"]?.members["message"] else {
                XCTFail("\(tool)(\(arguments)) did not fail: \(r.text)")
                return nil
            }
            return m
        }
        XCTAssertEqual(try result("clash_pick", #"{"goal": "an argument"}"#), "an argument@session-goal")
        XCTAssertEqual(try result("clash_pick", #"{"goal": "an argument", "plughost_goal": "g2"}"#), "an argument@g2")
        XCTAssertEqual(try result("clash_both", #"{"goal": "a", "plughost_goal": "b"}"#), "a+b@session-goal")
        XCTAssertEqual(try result("clash_both", #"{"goal": "a", "plughost_goal": "b", "plughost_goal_2": "g3"}"#), "a+b@g3")
        XCTAssertEqual(try errorMessage("clash_pick", #"{"plughost_goal": "g2"}"#), "clash_pick: missing argument goal (string)")
        XCTAssertEqual(
            try errorMessage("clash_pick", #"{"goal": "x", "plughost_goal": 5}"#),
            "clash_pick: argument plughost_goal must be a non-empty string, got number 5")
        XCTAssertEqual(
            try errorMessage("clash_pick", #"{"goal": "x", "plughost_goal_2": "g"}"#), "clash_pick: unknown argument plughost_goal_2")
    }
}
