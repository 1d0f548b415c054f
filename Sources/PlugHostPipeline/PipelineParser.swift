import Foundation
import Yams
import PlugHost

/// Reads pipeline files (YAML, or the same structure as JSON) into ``PipelineDefinition``s,
/// checking their shape: syntax errors come with file:line:column, unknown keys and wrong
/// shapes with the step and field.
public enum PipelineParser {
    static let topKeys: Set<String> = ["name", "goal", "plugins", "inputs", "steps", "outputs", "description", "theta", "env"]
    static let stepKeys: Set<String> = [
        "id", "call", "args", "foreach", "timeout", "description", "parallel", "needs", "retry", "on_error", "if",
    ]
    /// Most items a step may run at once.
    public static let parallelRange = 1...256
    static let pluginKeys: Set<String> = [
        "path", "isolation", "sha256", "timeout", "memory_limit_mb", "allow_write", "allow_read", "allow_network",
    ]

    /// Parses the file at `path`.
    public static func parse(path: String) throws -> PipelineDefinition {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError(.unreadable, file: path, "cannot read the pipeline file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PipelineError(.unreadable, file: path, "the pipeline file is not valid UTF-8")
        }
        let base = (URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path)
        return try parse(text: text, file: path, baseDirectory: base)
    }

    /// Parses pipeline text.
    public static func parse(text: String, file: String, baseDirectory: String) throws -> PipelineDefinition {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw PipelineError(.syntax, file: file, "the file is empty")
            }
            root = node
        } catch let e as YamlError {
            switch e {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
                .composer(let context, let problem, let mark, _):
                throw PipelineError(
                    .syntax, file: file, line: mark.line, column: mark.column,
                    "syntax error: \(problem)\(context.map { " (\($0.text))" } ?? "")")
            default:
                throw PipelineError(.syntax, file: file, "syntax error: \(e)")
            }
        }
        func loc(_ n: Node) -> PipelineDefinition.Location? { n.mark.map { .init(line: $0.line, column: $0.column) } }
        func err(_ code: PipelineError.Code, _ n: Node?, step: String? = nil, field: String? = nil, _ msg: String) -> PipelineError {
            let l = n.flatMap(loc)
            return PipelineError(code, file: file, line: l?.line, column: l?.column, step: step, field: field, msg)
        }
        guard let top = root.mapping else {
            throw err(.wrongType, root, "the file must be a mapping with name, goal, plugins, inputs, steps and outputs")
        }

        var fields: [String: Node] = [:]
        for (k, v) in top {
            guard let key = k.string else { throw err(.wrongType, k, "keys must be strings") }
            guard topKeys.contains(key) else {
                throw err(
                    .unknownKey, k, field: key, "unknown key \(key.debugDescription) (known: \(topKeys.sorted().joined(separator: ", ")))")
            }
            fields[key] = v
        }
        func scalarString(_ n: Node, field: String, step: String? = nil) throws -> String {
            guard let s = n.scalar?.string else { throw err(.wrongType, n, step: step, field: field, "must be a string") }
            return s
        }
        let name =
            try fields["name"].map { try scalarString($0, field: "name") }
            ?? ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        guard let goalNode = fields["goal"] else {
            throw err(.missingKey, root, field: "goal", "missing key \"goal\" (the goal id every step's memory and context belong to)")
        }
        let goal = try scalarString(goalNode, field: "goal")

        /// `timeout:` seconds: a positive number, or 0 for no limit (nil).
        func seconds(_ n: Node, field: String, step: String? = nil) throws -> Duration? {
            guard let d = n.float ?? n.int.map(Double.init), d >= 0, d.isFinite else {
                throw err(.wrongType, n, step: step, field: field, "must be a number of seconds (0: no limit)")
            }
            return d == 0 ? nil : .milliseconds(Int64((min(d, 1e9) * 1000).rounded()))
        }

        var plugins: [(name: String, reference: String, location: PipelineDefinition.Location?)] = []
        var pluginSettings: [String: PluginSettings] = [:]
        if let p = fields["plugins"] {
            guard let m = p.mapping else {
                throw err(.wrongType, p, field: "plugins", "must map local names to plugin paths, bare names or {path: …, isolation: …}")
            }
            for (k, v) in m {
                guard let local = k.string, PluginLoader.isIdentifier(local) || PluginLoader.isValidPluginName(local) else {
                    throw err(.wrongType, k, field: "plugins", "plugin names must be identifiers")
                }
                if let spec = v.mapping {
                    var settings = PluginSettings()
                    var path: String?
                    for (sk, sv) in spec {
                        guard let key = sk.string, pluginKeys.contains(key) else {
                            throw err(
                                .unknownKey, sk, field: "plugins.\(local)",
                                "unknown key \(sk.string.map { $0.debugDescription } ?? "?") (known: \(pluginKeys.sorted().joined(separator: ", ")))"
                            )
                        }
                        let field = "plugins.\(local).\(key)"
                        switch key {
                        case "path": path = try scalarString(sv, field: field)
                        case "isolation":
                            guard let i = Isolation(rawValue: try scalarString(sv, field: field)) else {
                                throw err(.wrongType, sv, field: field, "must be process or in-process")
                            }
                            settings.isolation = i
                        case "sha256": settings.sha256 = try scalarString(sv, field: field)
                        case "timeout": settings.timeout = .some(try seconds(sv, field: field))
                        case "memory_limit_mb":
                            guard let n = sv.int, n >= 0 else {
                                throw err(.wrongType, sv, field: field, "must be a whole number of MiB (0: no limit)")
                            }
                            settings.memoryLimitMiB = UInt64(n)
                        case "allow_write", "allow_read":
                            var folders: [String]
                            if let one = sv.string {
                                folders = [one]
                            } else if let list = sv.sequence {
                                folders = try list.map { try scalarString($0, field: field) }
                            } else {
                                throw err(.wrongType, sv, field: field, "must be a folder or a list of folders")
                            }
                            if key == "allow_write" { settings.allowWrite = folders } else { settings.allowRead = folders }
                        default:
                            guard let b = sv.bool else { throw err(.wrongType, sv, field: field, "must be true or false") }
                            settings.allowNetwork = b
                        }
                    }
                    guard let path else {
                        throw err(.missingKey, v, field: "plugins.\(local)", "missing key \"path\" (the plugin's file or bare name)")
                    }
                    plugins.append((local, path, loc(v)))
                    pluginSettings[local] = settings
                } else {
                    plugins.append((local, try scalarString(v, field: "plugins.\(local)"), loc(v)))
                }
            }
        }

        var inputs: [(name: String, value: PipelineValue)] = []
        if let i = fields["inputs"] {
            guard let m = i.mapping else { throw err(.wrongType, i, field: "inputs", "must map input names to values") }
            for (k, v) in m {
                guard let n = k.string else { throw err(.wrongType, k, field: "inputs", "input names must be strings") }
                if let seq = v.sequence {
                    var items: [PipelineValue] = []
                    for item in seq {
                        guard let lit = literal(item) else {
                            throw err(.wrongType, item, field: "inputs.\(n)", "list items must be scalars")
                        }
                        items.append(.value(lit.value))
                    }
                    inputs.append((n, .list(items)))
                } else if let lit = literal(v) {
                    inputs.append((n, .value(lit.value)))
                } else {
                    throw err(.wrongType, v, field: "inputs.\(n)", "must be a scalar or a list of scalars")
                }
            }
        }

        guard let stepsNode = fields["steps"] else { throw err(.missingKey, root, field: "steps", "missing key \"steps\"") }
        guard let stepList = stepsNode.sequence else { throw err(.wrongType, stepsNode, field: "steps", "must be a list of steps") }
        var steps: [PipelineDefinition.Step] = []
        var seenIDs = Set<String>()
        for (index, s) in stepList.enumerated() {
            guard let m = s.mapping else {
                throw err(.wrongType, s, field: "steps[\(index)]", "a step must be a mapping with id, call and args")
            }
            var sf: [String: Node] = [:]
            var fieldLocations: [String: PipelineDefinition.Location] = [:]
            let idNode = m.first(where: { $0.key.string == "id" })?.value
            let stepName = idNode?.string ?? "#\(index + 1)"
            for (k, v) in m {
                guard let key = k.string else { throw err(.wrongType, k, step: stepName, "keys must be strings") }
                guard stepKeys.contains(key) else {
                    throw err(
                        .unknownKey, k, step: stepName, field: key,
                        "unknown key \(key.debugDescription) (known: \(stepKeys.sorted().joined(separator: ", ")))")
                }
                sf[key] = v
                fieldLocations[key] = loc(v)
            }
            guard let idN = sf["id"] else { throw err(.missingKey, s, step: stepName, field: "id", "missing key \"id\"") }
            let id = try scalarString(idN, field: "id", step: stepName)
            guard PluginLoader.isIdentifier(id) else {
                throw err(.wrongType, idN, step: id, field: "id", "step ids must be identifiers (letters, digits, _)")
            }
            guard seenIDs.insert(id).inserted else { throw err(.wrongType, idN, step: id, field: "id", "step id \(id) is used twice") }
            guard let callN = sf["call"] else {
                throw err(.missingKey, s, step: id, field: "call", "missing key \"call\" (plugin.function)")
            }
            let call = try scalarString(callN, field: "call", step: id)
            let parts = call.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw err(.wrongType, callN, step: id, field: "call", "must be plugin.function, got \(call.debugDescription)")
            }
            var named: [(name: String, value: PipelineDefinition.PlacedArgument)]?
            var positional: [PipelineDefinition.PlacedArgument]?
            func argument(_ n: Node, field: String) throws -> PipelineDefinition.PlacedArgument {
                guard let lit = literal(n) else {
                    throw err(.argumentType, n, step: id, field: field, "arguments must be scalars (numbers, booleans, strings)")
                }
                if case .string(let text) = lit, text.contains("${") {
                    do {
                        return .init(argument: .template(try Template.parse(text)), location: loc(n))
                    } catch {
                        throw err(.badReference, n, step: id, field: field, error.message)
                    }
                }
                return .init(argument: .literal(lit), location: loc(n))
            }
            if let a = sf["args"] {
                if let m = a.mapping {
                    named = try m.map { k, v in
                        guard let n = k.string else { throw err(.wrongType, k, step: id, field: "args", "argument names must be strings") }
                        return (n, try argument(v, field: "args.\(n)"))
                    }
                } else if let seq = a.sequence {
                    positional = try seq.enumerated().map { try argument($0.element, field: "args[\($0.offset)]") }
                } else {
                    throw err(.wrongType, a, step: id, field: "args", "must be a mapping (by name) or a list (by position)")
                }
            } else {
                positional = []
            }
            var foreach: PipelineDefinition.Foreach?
            if let f = sf["foreach"] {
                if let m = f.mapping, m.count == 1, let k = m.first?.key.string, k == "lines", let p = m.first?.value.string {
                    foreach = .lines(path: p)
                } else if let text = f.string, text.hasPrefix("${") {
                    let parsed: Template
                    do {
                        parsed = try Template.parse(text)
                    } catch {
                        throw err(.badReference, f, step: id, field: "foreach", error.message)
                    }
                    guard let r = parsed.single else {
                        throw err(.badReference, f, step: id, field: "foreach", "must be exactly one reference")
                    }
                    foreach = .reference(r)
                } else {
                    throw err(.wrongType, f, step: id, field: "foreach", "must be ${inputs.NAME}, ${steps.ID} or {lines: FILE}")
                }
            }
            var timeout: Duration?
            if let t = sf["timeout"] {
                timeout = try seconds(t, field: "timeout", step: id) ?? .seconds(Int64(Int32.max))
            }
            var condition: Condition?
            if let c = sf["if"] {
                do {
                    condition = try Condition.parse(yaml: c)
                } catch {
                    throw err(error.inReference ? .badReference : .wrongType, c, step: id, field: "if", error.message)
                }
            }
            var step = PipelineDefinition.Step(
                id: id, plugin: String(parts[0]), function: String(parts[1]), named: named, positional: positional,
                foreach: foreach, timeout: timeout, location: loc(s), fieldLocations: fieldLocations)
            step.condition = condition
            if let p = sf["parallel"] {
                guard let n = p.int, p.scalar?.style == .plain || p.scalar?.style == .any, parallelRange.contains(n) else {
                    throw err(
                        .wrongType, p, step: id, field: "parallel",
                        "must be a whole number of items at once from \(parallelRange.lowerBound) to \(parallelRange.upperBound)")
                }
                guard foreach != nil else {
                    throw err(.wrongType, p, step: id, field: "parallel", "parallel runs the items of a foreach; this step has no foreach")
                }
                step.parallel = n
            }
            if let n = sf["needs"] {
                let names: [Node] = n.sequence.map(Array.init) ?? [n]
                step.needs = []
                for x in names {
                    guard let s = x.string, PluginLoader.isIdentifier(s) else {
                        throw err(.wrongType, x, step: id, field: "needs", "must be a step id or a list of step ids")
                    }
                    step.needs?.append(s)
                }
            }
            if let r = sf["retry"] {
                step.retry = try retryPolicy(r, step: id, err: err)
            }
            if let o = sf["on_error"] {
                guard let text = o.string, let policy = ErrorPolicy(rawValue: text) else {
                    throw err(
                        .wrongType, o, step: id, field: "on_error",
                        "must be \(ErrorPolicy.allCases.map(\.rawValue).joined(separator: ", ")) (stop: the run stops; continue: failed items are recorded and the run exits non-zero at the end; ignore: as continue, exit 0)"
                    )
                }
                step.onError = policy
            }
            steps.append(step)
        }

        var outputs: [(name: String, template: Template, location: PipelineDefinition.Location?)] = []
        if let o = fields["outputs"] {
            guard let m = o.mapping else { throw err(.wrongType, o, field: "outputs", "must map output names to ${…} references") }
            for (k, v) in m {
                guard let n = k.string, let text = v.string else {
                    throw err(.wrongType, v, field: "outputs", "output names and values must be strings")
                }
                do {
                    outputs.append((n, try Template.parse(text, allowContextPlugin: true), loc(v)))
                } catch {
                    throw err(.badReference, v, field: "outputs.\(n)", error.message)
                }
            }
        }
        var definition = PipelineDefinition(
            file: file, baseDirectory: baseDirectory, name: name, goal: goal, plugins: plugins, inputs: inputs,
            steps: steps, outputs: outputs)
        definition.pluginSettings = pluginSettings
        if let e = fields["env"] {
            do {
                definition.env = try envVariables(e)
            } catch {
                throw err(.wrongType, error.node, field: "env", error.message)
            }
        }
        if let t = fields["theta"] {
            guard let v = t.int, t.scalar?.style == .plain || t.scalar?.style == .any else {
                throw err(.wrongType, t, field: "theta", "must be an integer of at least 1 (θ: an edge needs co(a,b) ≥ theta)")
            }
            guard v >= 1, v <= Int(Int32.max) else {
                throw err(.wrongType, t, field: "theta", "must be at least 1 (got \(v)): an edge needs co(a,b) ≥ theta")
            }
            definition.theta = Int32(v)
            definition.thetaLocation = loc(t)
        }
        return definition
    }

    /// `retry: N` (attempts in all) or `retry: {attempts: N, backoff: SECONDS, max_backoff: SECONDS}`.
    static func retryPolicy(
        _ n: Node, step id: String,
        err: (PipelineError.Code, Node?, String?, String?, String) -> PipelineError
    ) throws -> RetryPolicy {
        func count(_ x: Node) throws -> Int {
            guard let a = x.int, x.scalar?.style == .plain || x.scalar?.style == .any, (1...100).contains(a) else {
                throw err(.wrongType, x, id, "retry", "attempts must be a whole number from 1 to 100 (the first attempt included)")
            }
            return a
        }
        func seconds(_ x: Node, _ key: String) throws -> Double {
            guard let d = x.float ?? x.int.map(Double.init), d >= 0, d <= 3600 else {
                throw err(.wrongType, x, id, "retry.\(key)", "must be a number of seconds from 0 to 3600")
            }
            return d
        }
        if n.scalar != nil { return RetryPolicy(attempts: try count(n)) }
        guard let m = n.mapping else {
            throw err(.wrongType, n, id, "retry", "must be a number of attempts or {attempts: N, backoff: SECONDS, max_backoff: SECONDS}")
        }
        var policy = RetryPolicy(attempts: 0)
        for (k, v) in m {
            switch k.string {
            case "attempts": policy.attempts = try count(v)
            case "backoff": policy.backoff = try seconds(v, "backoff")
            case "max_backoff": policy.maxBackoff = try seconds(v, "max_backoff")
            default:
                throw err(
                    .unknownKey, k, id, "retry",
                    "unknown key \(k.string.map { $0.debugDescription } ?? "?") (known: attempts, backoff, max_backoff)")
            }
        }
        guard policy.attempts > 0 else { throw err(.missingKey, n, id, "retry", "missing key \"attempts\"") }
        return policy
    }

    /// A scalar node as a typed literal (YAML's own tag resolution: `5` is an int, `"5"` a string).
    static func literal(_ n: Node) -> PipelineDefinition.Literal? {
        guard let scalar = n.scalar else { return nil }
        if scalar.style == .plain || scalar.style == .any {
            if let b = n.bool { return .bool(b) }
            if let i = n.int { return .int(Int64(i)) }
            if let u = UInt64(scalar.string), Int64(exactly: u) == nil { return .uint(u) }
            if let d = n.float { return .double(d) }
            if n.null != nil { return .string("") }
        }
        return .string(scalar.string)
    }
}
