import Foundation
import PlugHost
import Synchronization

/// Validates a pipeline against the plugins it names, then runs it. Nothing runs unless the
/// whole file is valid.
///
/// Its stored state is written only while it validates (in `init`) and read-only afterwards;
/// what a run changes lives in the run's own state behind locks, so steps and items run on
/// several threads at once.
public final class PipelineRunner: @unchecked Sendable {
    struct BoundStep {
        var step: PipelineDefinition.Step
        var plugin: LoadedPlugin
        var function: PluginFunction
        /// One argument per declared parameter, in order.
        var arguments: [PipelineDefinition.PlacedArgument]
    }

    /// The pipeline.
    public let definition: PipelineDefinition
    /// The host it runs in.
    public let host: PluginHost
    /// The goal the run uses (the file's, or the override).
    public let goal: String
    var inputs: [String: PipelineValue] = [:]
    var bound: [BoundStep] = []
    var pluginsByLocal: [String: LoadedPlugin] = [:]
    /// For each step (by position), the steps (by position) it waits for.
    var dependencies: [[Int]] = []
    /// Items at once for a foreach step without `parallel:` whose function may run concurrently.
    public var defaultParallel = 1
    /// Set by ``cancel()``: no new item starts.
    let cancelled = Atomic<Bool>(false)
    /// The environment `env:` variables are read from.
    let environment: [String: String]
    /// The `env:` variables' values, read once at validation.
    var envValues: [String: String] = [:]

    /// Loads the pipeline's plugins into `host` and checks every step, reference and literal.
    ///
    /// - Parameters:
    ///   - goal: Overrides the file's goal.
    ///   - inputOverrides: `key=value` or `key=@file` strings, as given to `--input`.
    ///   - inputValues: Inputs as text taken literally (no `@file`), applied after
    ///     `inputOverrides`; a list input takes one item per line.
    ///   - environment: Where `${env.NAME}` reads the variables declared under `env:`.
    public init(
        definition: PipelineDefinition, host: PluginHost, goal: String? = nil, inputOverrides: [String] = [],
        inputValues: [(key: String, text: String)] = [], environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        self.definition = definition
        self.environment = environment
        self.host = host
        self.goal = goal ?? definition.goal
        if let t = definition.theta, t != host.memory.configuration.theta {
            let m = host.memory
            throw PipelineError(
                .wrongType, file: definition.file, line: definition.thetaLocation?.line, column: definition.thetaLocation?.column,
                field: "theta",
                "the pipeline asks for theta \(t), but the memory it runs on (\(m.engine.kind) engine\(m.engine.location.map { " at \($0)" } ?? "")) uses theta \(m.configuration.theta); theta is stored with the memory: use \(m.configuration.theta), leave theta out, or use another database"
            )
        }
        try validate(inputOverrides: inputOverrides, inputValues: inputValues)
    }

    func fail(
        _ code: PipelineError.Code, _ l: PipelineDefinition.Location?, step: String? = nil, field: String? = nil, _ m: String
    ) -> PipelineError {
        PipelineError(code, file: definition.file, line: l?.line, column: l?.column, step: step, field: field, m)
    }

    private func validate(inputOverrides: [String], inputValues: [(key: String, text: String)]) throws {
        let d = definition
        for (name, value) in d.inputs { inputs[name] = value }
        var given: [(key: String, text: String, field: String)] = []
        for raw in inputOverrides {
            guard let eq = raw.firstIndex(of: "=") else {
                throw PipelineError(.input, file: d.file, field: "--input", "\(raw.debugDescription) must be key=value or key=@file")
            }
            let key = String(raw[..<eq]), rawValue = String(raw[raw.index(after: eq)...])
            var text = rawValue
            if rawValue.hasPrefix("@") {
                let path = String(rawValue.dropFirst())
                guard let data = FileManager.default.contents(atPath: path), let s = String(data: data, encoding: .utf8) else {
                    throw PipelineError(.input, file: d.file, field: "--input \(key)", "cannot read \(path) as UTF-8 text")
                }
                text = s
            }
            given.append((key, text, "--input \(key)"))
        }
        given += inputValues.map { ($0.key, $0.text, "inputs.\($0.key)") }
        for (key, text, field) in given {
            guard let existing = inputs[key] else {
                throw PipelineError(
                    .input, file: d.file, field: field,
                    "the pipeline has no input \(key) (it has: \(d.inputs.map(\.name).joined(separator: ", ")))")
            }
            if case .list = existing {
                inputs[key] = .list(text.split(whereSeparator: \.isNewline).map { .value(.string(String($0))) })
            } else {
                inputs[key] = .value(.string(text))
            }
        }

        try resolveEnvironment()

        for p in d.plugins {
            do {
                pluginsByLocal[p.name] = try Self.load(p.name, of: d, into: host)
            } catch let e as LoadError {
                throw fail(.unknownPlugin, p.location, field: "plugins.\(p.name)", e.description)
            }
        }

        var earlier = Set<String>()
        for step in d.steps {
            let callLoc = step.fieldLocations["call"]
            guard let plugin = pluginsByLocal[step.plugin] else {
                throw fail(
                    .unknownPlugin, callLoc, step: step.id, field: "call",
                    "unknown plugin \(step.plugin) (declared under plugins: \(d.plugins.map(\.name).joined(separator: ", ")))")
            }
            guard let function = plugin.function(named: step.function) else {
                throw fail(
                    .unknownFunction, callLoc, step: step.id, field: "call",
                    "plugin \(step.plugin) has no function \(step.function) (it has: \(plugin.functions.map(\.name).joined(separator: ", ")))"
                )
            }
            let params = function.parameters
            var args: [PipelineDefinition.PlacedArgument] = []
            let argsLoc = step.fieldLocations["args"] ?? step.location
            let signature = params.map { "\($0.name): \($0.type.name)" }.joined(separator: ", ")
            if let named = step.named {
                var byName: [String: PipelineDefinition.PlacedArgument] = [:]
                for (n, v) in named {
                    guard params.contains(where: { $0.name == n }) else {
                        throw fail(
                            .argumentCount, v.location ?? argsLoc, step: step.id, field: "args.\(n)",
                            "\(step.plugin).\(step.function) has no parameter \(n) (it takes \(signature))")
                    }
                    byName[n] = v
                }
                for p in params {
                    guard let v = byName[p.name] ?? Self.defaultArgument(p) else {
                        throw fail(
                            .argumentCount, argsLoc, step: step.id, field: "args.\(p.name)",
                            "missing argument \(p.name) (\(step.plugin).\(step.function) takes \(signature))")
                    }
                    args.append(v)
                }
            } else {
                let given = step.positional ?? []
                guard given.count == params.count else {
                    throw fail(
                        .argumentCount, argsLoc, step: step.id, field: "args",
                        "\(step.plugin).\(step.function) takes \(params.count) argument\(params.count == 1 ? "" : "s") (\(signature)), got \(given.count)"
                    )
                }
                args = given
            }
            for (p, a) in zip(params, args) {
                let field = step.named != nil ? "args.\(p.name)" : "args[\(params.firstIndex(of: p)!)]"
                switch a.argument {
                case .literal(let lit):
                    try checkLiteral(lit.value, p, step: step.id, field: field, location: a.location)
                case .template(let t):
                    for r in t.references {
                        try checkReference(r, inStep: step, earlier: earlier, field: field, location: a.location)
                    }
                }
            }
            try checkCondition(of: step, earlier: earlier)
            if let f = step.foreach {
                let l = step.fieldLocations["foreach"]
                switch f {
                case .reference(let r):
                    try checkReference(r, inStep: step, earlier: earlier, field: "foreach", location: l)
                    if case .item = r {
                        throw fail(.badReference, l, step: step.id, field: "foreach", "foreach cannot iterate over ${item}")
                    }
                    if case .input(let n, _) = r, Self.isScalarForeachInput(r, inputs: inputs) {
                        throw fail(.badReference, l, step: step.id, field: "foreach", "input \(n) is not a list")
                    }
                case .lines(let path):
                    let full = resolve(path)
                    guard FileManager.default.isReadableFile(atPath: full) else {
                        throw fail(.badReference, l, step: step.id, field: "foreach", "cannot read \(path) (resolved to \(full))")
                    }
                }
            }
            try checkConcurrency(step, plugin: plugin, function: function)
            var references = args.flatMap { a -> [Reference] in
                if case .template(let t) = a.argument { return t.references }
                return []
            }
            if case .reference(let r)? = step.foreach { references.append(r) }
            references += step.condition?.references ?? []
            dependencies.append(try stepDependencies(step, plugin: plugin, references: references))
            bound.append(BoundStep(step: step, plugin: plugin, function: function, arguments: args))
            earlier.insert(step.id)
        }
        for o in d.outputs {
            for r in o.template.references {
                switch r {
                case .item:
                    throw fail(.badReference, o.location, field: "outputs.\(o.name)", "${item} is only defined inside a foreach step")
                case .context(nil, _):
                    throw fail(.badReference, o.location, field: "outputs.\(o.name)", "in outputs, name the plugin: ${context.PLUGIN.KEY}")
                case .context(let p?, _) where pluginsByLocal[p] == nil:
                    throw fail(.badReference, o.location, field: "outputs.\(o.name)", "unknown plugin \(p) in \(r)")
                case .env(let n):
                    try checkEnvReference(n, step: nil, field: "outputs.\(o.name)", location: o.location)
                case .input(let n, _) where inputs[n] == nil:
                    throw fail(
                        .badReference, o.location, field: "outputs.\(o.name)",
                        "unknown input \(n) (inputs: \(d.inputs.map(\.name).joined(separator: ", ")))")
                case .step(let s, _) where !earlier.contains(s):
                    throw fail(.badReference, o.location, field: "outputs.\(o.name)", "unknown step \(s)")
                default: break
                }
            }
        }
    }

    /// `parallel:` only where the function may run concurrently.
    private func checkConcurrency(_ step: PipelineDefinition.Step, plugin: LoadedPlugin, function: PluginFunction) throws {
        guard let n = step.parallel, n > 1, !function.threadSafe, !function.isRemote else { return }
        throw fail(
            .wrongType, step.fieldLocations["parallel"], step: step.id, field: "parallel",
            "\(step.plugin).\(step.function) runs in-process and is not flagged thread-safe (PH_FN_THREAD_SAFE), so its calls cannot run at once; leave parallel out, or load the plugin with isolation: process (a pool of workers runs the items)"
        )
    }

    /// The steps (by position) `step` waits for: those its references and `needs:` name; every
    /// earlier step when it reads the goal context or memory (so it sees their writes, as in a
    /// sequential run); and, when it has no `needs:`, the earlier steps of its plugin (a plugin's
    /// calls may read what its earlier calls left in its goal context or memory, which the host
    /// cannot see).
    func stepDependencies(_ step: PipelineDefinition.Step, plugin: LoadedPlugin, references: [Reference]) throws -> [Int] {
        let position = Dictionary(uniqueKeysWithValues: bound.enumerated().map { ($0.element.step.id, $0.offset) })
        var deps = Set<Int>()
        for r in references {
            switch r {
            case .step(let s, _): if let i = position[s] { deps.insert(i) }
            case .context, .recall, .clusters: deps.formUnion(0..<bound.count)
            default: break
            }
        }
        if step.needs == nil {
            deps.formUnion(bound.indices.filter { bound[$0].plugin.identity == plugin.identity })
        }
        for n in step.needs ?? [] {
            guard let i = position[n] else {
                let exists = definition.steps.contains { $0.id == n }
                throw fail(
                    .badReference, step.fieldLocations["needs"], step: step.id, field: "needs",
                    exists ? "step \(n) does not come before step \(step.id) (a step can only need earlier steps)" : "unknown step \(n)")
            }
            deps.insert(i)
        }
        return deps.sorted()
    }

    private func checkLiteral(_ v: Value, _ p: Parameter, step: String, field: String, location: PipelineDefinition.Location?) throws {
        var owned: [UnsafeMutableRawPointer]? = nil
        defer { owned?.forEach { free($0) } }
        let slot = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
        defer { slot.deallocate() }
        do {
            try ArgumentMarshaller.store(v, as: p.type, into: slot, owned: &owned) { "parameter \(p.name)" }
            // The declared range and allowed values (ABI minor 1), checked before anything runs.
            try p.check(v, function: "")
        } catch let e as CallError {
            throw fail(.argumentType, location, step: step, field: field, e.message)
        }
    }

    /// An omitted optional parameter's declared default, as a literal argument.
    private static func defaultArgument(_ p: Parameter) -> PipelineDefinition.PlacedArgument? {
        let literal: PipelineDefinition.Literal
        switch p.defaultValue {
        case .int(let i)?: literal = .int(i)
        case .uint(let u)?: literal = .uint(u)
        case .double(let d)?: literal = .double(d)
        case .bool(let b)?: literal = .bool(b)
        case .string(let s)?: literal = .string(s)
        default: return nil
        }
        return PipelineDefinition.PlacedArgument(argument: .literal(literal), location: nil)
    }

    func checkReference(
        _ r: Reference, inStep step: PipelineDefinition.Step, earlier: Set<String>, field: String, location: PipelineDefinition.Location?
    ) throws {
        switch r {
        case .input(let n, _):
            guard inputs[n] != nil else {
                throw fail(
                    .badReference, location, step: step.id, field: field,
                    "unknown input \(n) (inputs: \(definition.inputs.map(\.name).joined(separator: ", ")))")
            }
        case .step(let s, _):
            guard earlier.contains(s) else {
                let exists = definition.steps.contains { $0.id == s }
                throw fail(
                    .badReference, location, step: step.id, field: field,
                    exists ? "step \(s) does not come before step \(step.id)" : "unknown step \(s)")
            }
        case .item:
            guard step.foreach != nil else {
                throw fail(.badReference, location, step: step.id, field: field, "${item} is only defined in a step with foreach")
            }
        case .context(let p, _):
            if p != nil {
                throw fail(
                    .badReference, location, step: step.id, field: field, "in args, ${context.KEY} is the step's own plugin's context")
            }
        case .clusters:
            throw fail(.badReference, location, step: step.id, field: field, "${memory.clusters} is only available in outputs")
        case .env(let n):
            try checkEnvReference(n, step: step.id, field: field, location: location)
        case .goal, .recall: break
        }
    }

    func resolve(_ path: String) -> String { Self.resolve(path, against: definition.baseDirectory) }

    private static func resolve(_ path: String, against base: String) -> String {
        path.hasPrefix("/")
            ? path
            : URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: base, isDirectory: true)).standardizedFileURL.path
    }

    func argumentValue(
        _ a: PipelineDefinition.PlacedArgument, param: Parameter, results: [String: PipelineValue], item: PipelineValue?,
        plugin: LoadedPlugin
    ) throws -> Value {
        switch a.argument {
        case .literal(let lit): return lit.value
        case .template(let t):
            if let r = t.single {
                let v = try resolveReference(r, results: results, item: item, plugin: plugin)
                if case .value(let value) = v {
                    if param.type == .string || param.type == .buffer { return .string(value.text) }
                    if case .string(let s) = value {
                        return try Value.parse(s.trimmingCharacters(in: .whitespacesAndNewlines), as: param.type)
                    }
                    return value
                }
                let joined = Self.joined(v)
                return param.type == .string || param.type == .buffer ? .string(joined) : try Value.parse(joined, as: param.type)
            }
            let text = try interpolate(t, results: results, item: item, plugin: plugin)
            return param.type == .string || param.type == .buffer ? .string(text) : try Value.parse(text, as: param.type)
        }
    }

    func interpolate(_ t: Template, results: [String: PipelineValue], item: PipelineValue?, plugin: LoadedPlugin?) throws -> String {
        var s = ""
        for part in t.parts {
            switch part {
            case .text(let x): s += x
            case .ref(let r):
                s += Self.joined(try resolveReference(r, results: results, item: item, plugin: plugin))
            }
        }
        return s
    }

    func resolveReference(
        _ r: Reference, results: [String: PipelineValue], item: PipelineValue?, plugin: LoadedPlugin?
    ) throws -> PipelineValue {
        switch r {
        case .input(let n, let path): return try applyPath(path, to: inputs[n] ?? .value(.string("")), reference: r, base: "inputs.\(n)")
        case .step(let s, let path): return try applyPath(path, to: results[s] ?? .value(.void), reference: r, base: "steps.\(s)")
        case .item(let path): return try applyPath(path, to: item ?? .value(.string("")), reference: r, base: "item")
        case .env(let n): return .value(.string(envValues[n] ?? ""))
        case .goal: return .value(.string(goal))
        case .context(let p, let key):
            let name = p.flatMap { pluginsByLocal[$0]?.identity } ?? plugin?.identity ?? ""
            return .value(.string(try host.memory.contextValue(goal: goal, plugin: name, key: key) ?? ""))
        case .clusters:
            let clusters = try host.memory.clusters(goal: goal).first?.clusters ?? []
            return .list(clusters.map { .value(.string($0.concepts.joined(separator: ", "))) })
        case .recall(let concept, let related, let limit):
            // Read your writes: what earlier steps wrote is there; `related` runs the goal's
            // pending clustering first, so the cluster is exact.
            let found = try host.memory.recall(goal: goal, related ? .related(concept) : .concept(concept), limit: limit)
            return .list(found.map { .value(.string($0.memory.content)) })
        }
    }

    /// A value as argument text: a list's items joined with "; ".
    static func joined(_ v: PipelineValue) -> String {
        switch v {
        case .list(let items): items.map(joined).joined(separator: "; ")
        case .value(let x): x.text
        }
    }

    static func abbreviate(_ s: String) -> String {
        let oneLine = s.replacingOccurrences(of: "\n", with: " ")
        return oneLine.count > 60 ? String(oneLine.prefix(57)) + "…" : oneLine
    }
}

extension PipelineRunner {
    /// Loads the plugin a pipeline declares under the local name `name`, with the pipeline's
    /// settings for it (isolation, limits, pinned digest) over the host's defaults.
    public static func load(_ name: String, of d: PipelineDefinition, into host: PluginHost) throws -> LoadedPlugin {
        guard let p = d.plugins.first(where: { $0.name == name }) else {
            throw LoadError(.fileNotFound, path: d.file, "no plugin \(name) under plugins:")
        }
        let settings = d.pluginSettings[p.name] ?? PluginSettings()
        var limits = host.defaultLimits
        if let t = settings.timeout { limits.timeout = t }
        if let m = settings.memoryLimitMiB { limits.memoryBytes = m << 20 }
        limits.writablePaths += settings.allowWrite.map { resolve($0, against: d.baseDirectory) }
        limits.readablePaths += settings.allowRead.map { resolve($0, against: d.baseDirectory) }
        if let n = settings.allowNetwork { limits.network = n }
        return try host.load(
            p.reference, as: p.name, relativeTo: d.baseDirectory, isolation: settings.isolation, limits: limits, sha256: settings.sha256)
    }
}
