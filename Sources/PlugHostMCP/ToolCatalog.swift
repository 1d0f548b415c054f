import Foundation
import PlugHost

/// The tools plughost offers an agent: one per exportable plugin function, plus the memory
/// tools, with names valid in every format and JSON Schemas generated from the declared
/// signatures.
///
/// A function is exportable when none of its parameters is a `pointer` (an opaque address has
/// no meaning to an agent). Tool names are `<plugin>_<function>`, with every character outside
/// `[A-Za-z0-9_-]` replaced by `_` and cut to 64 characters (the OpenAI limit; MCP allows 128);
/// a name that would repeat an earlier one gets `_2`, `_3`, ….
public struct ToolCatalog: Sendable {
    /// The formats `plughost tools` writes.
    public enum Format: String, Sendable, CaseIterable {
        /// MCP `tools/list` entries: `name`, `description`, `inputSchema`, `outputSchema`.
        case mcp
        /// OpenAI Chat Completions / Responses function tools.
        case openai
        /// One JSON Schema (draft 2020-12) per tool, for validators.
        case jsonSchema = "json-schema"
    }

    /// What a tool runs.
    public enum Target: Sendable {
        case function(LoadedPlugin, PluginFunction)
        case memory(MemoryTool)
    }

    /// The memory tools.
    public enum MemoryTool: String, Sendable, CaseIterable {
        case write = "memory_write"
        case recall = "memory_recall"
        case forget = "memory_forget"
        case clusters = "memory_clusters"
    }

    /// One tool.
    public struct Tool: Sendable {
        public let name: String
        public let description: String
        /// The arguments' JSON Schema (an object schema).
        package let inputSchema: JSONValue
        /// The structured result's JSON Schema, when the tool has a structured result.
        package let outputSchema: JSONValue?
        public let target: Target
        /// The name of the optional argument that overrides the session's goal: `goal`, or, for
        /// a function with a parameter named `goal`, `plughost_goal` (see ``goalArgument(of:)``).
        public let goalArgument: String
    }

    /// The tools, in order: plugins by load order, functions in declared order, then memory.
    public let tools: [Tool]
    /// Functions that were not exported, with why.
    public let skipped: [(function: String, reason: String)]
    private let byName: [String: Int]

    /// Tools for `plugins`' functions, and the memory tools when `memoryTools` is set.
    public init(plugins: [LoadedPlugin], memoryTools: Bool) {
        var tools: [Tool] = []
        var skipped: [(String, String)] = []
        var used: Set<String> = []
        func unique(_ base: String) -> String {
            var name = Self.sanitize(base)
            var n = 2
            while used.contains(name) {
                let suffix = "_\(n)"
                name = String(Self.sanitize(base).prefix(64 - suffix.count)) + suffix
                n += 1
            }
            used.insert(name)
            return name
        }
        if memoryTools { for m in MemoryTool.allCases { used.insert(m.rawValue) } }
        for p in plugins {
            for f in p.functions {
                if let bad = f.parameters.first(where: { $0.type == .pointer }) {
                    skipped.append((f.qualifiedName, "parameter \(bad.name) is a pointer"))
                    continue
                }
                let goalArgument = Self.goalArgument(of: f)
                tools.append(
                    Tool(
                        name: unique("\(p.name)_\(f.name)"),
                        description: Self.describe(p, f),
                        inputSchema: Self.inputSchema(f, goalArgument: goalArgument),
                        outputSchema: f.returnType == .void
                            ? nil : Self.object([("result", Self.schema(resultOf: f))], required: ["result"]),
                        target: .function(p, f),
                        goalArgument: goalArgument))
            }
        }
        if memoryTools { tools += MemoryTool.allCases.map(Self.memoryTool) }
        self.tools = tools
        self.skipped = skipped
        self.byName = Dictionary(uniqueKeysWithValues: tools.enumerated().map { ($1.name, $0) })
    }

    /// The tool named `name`.
    public func tool(named name: String) -> Tool? { byName[name].map { tools[$0] } }

    /// The definitions in `format`, as JSON text (an array).
    public func definitionsJSON(_ format: Format) -> String {
        var w = JSONWriter()
        w.beginArray()
        for t in tools { w.value(definition(t, format), canonical: false) }
        w.endArray()
        return w.text
    }

    /// One tool's definition in `format`.
    /// `outputSchema` is left out of MCP definitions unless `outputSchemas` is set.
    package func definition(_ t: Tool, _ format: Format, outputSchemas: Bool = true) -> JSONValue {
        switch format {
        case .mcp:
            var m: [(String, JSONValue)] = [
                ("name", .string(t.name)), ("description", .string(t.description)), ("inputSchema", t.inputSchema),
            ]
            if outputSchemas, let o = t.outputSchema { m.append(("outputSchema", o)) }
            return Self.members(m)
        case .openai:
            return Self.members([
                ("type", .string("function")),
                (
                    "function",
                    Self.members([("name", .string(t.name)), ("description", .string(t.description)), ("parameters", t.inputSchema)])
                ),
            ])
        case .jsonSchema:
            guard case .object(let members) = t.inputSchema else { return t.inputSchema }
            return .object(
                [
                    .init(key: "$schema", value: .string("https://json-schema.org/draft/2020-12/schema")),
                    .init(key: "title", value: .string(t.name)),
                    .init(key: "description", value: .string(t.description)),
                ] + members)
        }
    }

    // MARK: - Names and descriptions

    /// `[A-Za-z0-9_-]`, at most 64 characters, never empty.
    static func sanitize(_ s: String) -> String {
        let mapped = String(
            s.unicodeScalars.map { c -> Character in
                c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" || c == "-") ? Character(c) : "_"
            })
        let cut = String(mapped.prefix(64))
        return cut.isEmpty ? "tool" : cut
    }

    static func describe(_ p: LoadedPlugin, _ f: PluginFunction) -> String {
        let doc = f.doc.isEmpty ? "" : " \(f.doc)"
        let result = f.resultDoc.isEmpty ? "" : " Returns: \(f.resultDoc)"
        return "\(p.name).\(f.name) (\(f.signature)).\(doc)\(result)"
    }

    // MARK: - Schemas

    /// The JSON Schema of an argument of `type` (never `void` or `pointer`).
    static func schema(parameterOf type: ValueType) -> JSONValue {
        switch type {
        case .bool: return members([("type", .string("boolean"))])
        case .int8, .int16, .int32, .int64:
            let r = type.signedRange!
            return members([("type", .string("integer")), ("minimum", int(r.lowerBound)), ("maximum", int(r.upperBound))])
        case .uint8, .uint16, .uint32, .uint64:
            return members([("type", .string("integer")), ("minimum", int(0)), ("maximum", int(type.unsignedMax!))])
        case .float, .double: return members([("type", .string("number"))])
        case .string: return members([("type", .string("string"))])
        case .buffer:
            return members([
                ("type", .string("array")),
                ("items", members([("type", .string("integer")), ("minimum", int(0)), ("maximum", int(255))])),
                ("description", .string("bytes")),
            ])
        case .void, .pointer: return members([])
        }
    }

    /// The JSON Schema of `f`'s result (its declared description on it).
    static func schema(resultOf f: PluginFunction) -> JSONValue {
        guard case .object(var m) = schema(resultOf: f.returnType) else { return schema(resultOf: f.returnType) }
        if !f.resultDoc.isEmpty { m.append(.init(key: "description", value: .string(f.resultDoc))) }
        // A string that carries JSON of this schema (the loader checked it is an object): JSON
        // Schema's contentSchema says so.
        if let s = f.resultSchema, let schema = try? JSONReader.parse(s) {
            m.append(.init(key: "contentMediaType", value: .string("application/json")))
            m.append(.init(key: "contentSchema", value: schema))
        }
        return .object(m)
    }

    /// The JSON Schema of a result of `type`.
    static func schema(resultOf type: ValueType) -> JSONValue {
        switch type {
        // Non-finite results are written as the strings "nan", "inf", "-inf".
        case .float, .double: return members([("type", .array([.string("number"), .string("string")]))])
        case .pointer: return members([("type", .string("integer")), ("minimum", int(0))])
        case .void: return members([("type", .string("null"))])
        default: return schema(parameterOf: type)
        }
    }

    /// A parameter's schema: its type's, narrowed by its declared range, allowed values and
    /// default, with its description.
    static func schema(parameter p: Parameter) -> JSONValue {
        guard case .object(var m) = schema(parameterOf: p.type) else { return schema(parameterOf: p.type) }
        func set(_ key: String, _ v: JSONValue) {
            if let i = m.firstIndex(where: { $0.key == key }) { m[i].value = v } else { m.append(.init(key: key, value: v)) }
        }
        func current(_ key: String) -> Double? {
            guard case .number(let n)? = m.first(where: { $0.key == key })?.value else { return nil }
            return n.double
        }
        func number(_ d: Double, integer: Bool) -> JSONValue {
            integer && d == d.rounded() && abs(d) < 9.0e15 ? int(Int64(d)) : .number(JSONNumber(literal: "\(d)"))
        }
        let integer = p.type.isNumeric && p.type != .float && p.type != .double
        if let lo = p.minimum, current("minimum").map({ lo > $0 }) ?? true {
            set("minimum", number(integer ? lo.rounded(.up) : lo, integer: integer))
        }
        if let hi = p.maximum, current("maximum").map({ hi < $0 }) ?? true {
            set("maximum", number(integer ? hi.rounded(.down) : hi, integer: integer))
        }
        if let allowed = p.allowed { set("enum", .array(allowed.map { .string($0) })) }
        if let d = p.defaultValue {
            var w = JSONWriter()
            w.value(d)
            if let v = try? JSONReader.parse(w.text) { set("default", v) }
        }
        if !p.description.isEmpty { set("description", .string(p.description)) }
        return .object(m)
    }

    /// The name of `f`'s goal selector: `goal`, unless a parameter has that name; then
    /// `plughost_goal` (`plughost_goal_2`, … should a parameter have that name too). The
    /// parameter keeps its name: `tools/list` and `tools/call` both treat `goal` as the
    /// function's argument and the selector's name as the goal.
    static func goalArgument(of f: PluginFunction) -> String {
        let names = Set(f.parameters.map(\.name))
        guard names.contains("goal") else { return "goal" }
        var name = "plughost_goal"
        var n = 2
        while names.contains(name) {
            name = "plughost_goal_\(n)"
            n += 1
        }
        return name
    }

    static func inputSchema(_ f: PluginFunction, goalArgument: String) -> JSONValue {
        var props = f.parameters.map { ($0.name, schema(parameter: $0)) }
        props.append(
            (
                goalArgument,
                members([
                    ("type", .string("string")),
                    ("description", .string("The goal whose memory and context the call uses; defaults to the session's goal.")),
                ])
            ))
        return object(props, required: f.parameters.filter { !$0.isOptional }.map(\.name))
    }

    static func memoryTool(_ m: MemoryTool) -> Tool {
        let goal = ("goal", members([("type", .string("string")), ("description", .string("The goal; defaults to the session's goal."))]))
        let str = { (d: String) in members([("type", .string("string")), ("description", .string(d))]) }
        let strings = members([("type", .string("array")), ("items", members([("type", .string("string"))]))])
        let memory = object(
            [
                ("id", members([("type", .string("string"))])), ("content", members([("type", .string("string"))])),
                ("concepts", strings), ("plugin", members([("type", .string("string"))])),
                ("score", members([("type", .string("number"))])),
            ], required: ["id", "content", "concepts", "plugin", "score"])
        let clusters = members([
            ("type", .string("array")),
            ("items", object([("id", members([("type", .string("string"))])), ("concepts", strings)], required: ["id", "concepts"])),
        ])
        switch m {
        case .write:
            return Tool(
                name: m.rawValue,
                description:
                    "Remember a text under concepts in the goal's memory; returns its id. Memories with shared concepts form clusters.",
                inputSchema: object(
                    [
                        ("content", str("The text to remember.")),
                        (
                            "concepts",
                            members([
                                ("type", .string("array")), ("items", members([("type", .string("string"))])), ("minItems", int(1)),
                                ("maxItems", int(64)), ("description", .string("Concept keys (normalised to lower case).")),
                            ])
                        ),
                        ("id", str("An id of your own (optional); writing an id that exists is an error.")),
                        goal,
                    ], required: ["content", "concepts"]),
                outputSchema: object([("id", members([("type", .string("string"))]))], required: ["id"]),
                target: .memory(m), goalArgument: "goal")
        case .recall:
            return Tool(
                name: m.rawValue,
                description:
                    "Recall memories of the goal by concept or by text (exactly one), best first. With a concept, related: true widens it to the concept's cluster (its topic).",
                inputSchema: object(
                    [
                        ("concept", str("A concept key.")), ("text", str("Words to search for.")),
                        (
                            "related",
                            members([
                                ("type", .string("boolean")), ("default", .bool(false)),
                                (
                                    "description",
                                    .string(
                                        "With concept: the memories holding any concept of the concept's cluster, newest first (exact)."
                                    )
                                ),
                            ])
                        ),
                        (
                            "limit",
                            members([("type", .string("integer")), ("minimum", int(1)), ("maximum", int(1000)), ("default", int(20))])
                        ), goal,
                    ], required: []),
                outputSchema: object([("memories", members([("type", .string("array")), ("items", memory)]))], required: ["memories"]),
                target: .memory(m), goalArgument: "goal")
        case .forget:
            return Tool(
                name: m.rawValue, description: "Forget the memory with this id in the goal; says whether there was one.",
                inputSchema: object([("id", str("The memory's id.")), goal], required: ["id"]),
                outputSchema: object([("forgotten", members([("type", .string("boolean"))]))], required: ["forgotten"]),
                target: .memory(m), goalArgument: "goal")
        case .clusters:
            return Tool(
                name: m.rawValue,
                description:
                    "The goal's concept clusters (topics), exact: pending clustering is finished first. Each cluster's id is its smallest concept.",
                inputSchema: object([goal], required: []),
                outputSchema: object(
                    [("goal", members([("type", .string("string"))])), ("clusters", clusters)], required: ["goal", "clusters"]),
                target: .memory(m), goalArgument: "goal")
        }
    }

    // MARK: - JSON helpers

    static func members(_ m: [(String, JSONValue)]) -> JSONValue { .object(m.map { .init(key: $0.0, value: $0.1) }) }
    static func int(_ v: some BinaryInteger) -> JSONValue { .number(JSONNumber(literal: String(v))) }
    static func object(_ props: [(String, JSONValue)], required: [String]) -> JSONValue {
        members([
            ("type", .string("object")), ("properties", members(props)), ("required", .array(required.map { .string($0) })),
            ("additionalProperties", .bool(false)),
        ])
    }
}
