import Foundation
import PlugHost
import Yams

// Structured values, `env:` and `if:` (see docs/pipelines.md, "Structured values and
// conditions"): the parts of the parser, the validation and the runner they need, kept here.

extension Template {
    /// `item[PATH]`, `inputs.NAME[PATH]`, `steps.ID[PATH]` or `env.NAME` (the body of `${…}`),
    /// or nil when `body` is none of them.
    static func structuredReference(_ body: String) throws(TemplateError) -> Reference? {
        if body == "item" || body.hasPrefix("item.") || body.hasPrefix("item[") {
            return .item(path: try path(body, body.dropFirst(4)))
        }
        for head in ["inputs.", "steps."] where body.hasPrefix(head) {
            let rest = body.dropFirst(head.count)
            let end = rest.firstIndex { $0 == "." || $0 == "[" } ?? rest.endIndex
            let name = String(rest[..<end])
            guard !name.isEmpty else { return nil }
            let p = try path(body, rest[end...])
            return head == "inputs." ? .input(name, path: p) : .step(name, path: p)
        }
        if body.hasPrefix("env.") {
            let name = String(body.dropFirst(4))
            guard PipelineDefinition.EnvVariable.isValidName(name) else {
                throw TemplateError(
                    "${\(body)}: \(name.debugDescription) is not an environment variable name (letters, digits and _, not starting with a digit)"
                )
            }
            return .env(name)
        }
        return nil
    }

    private static func path(_ body: String, _ text: Substring) throws(TemplateError) -> ValuePath {
        do {
            return try ValuePath.parse(text)
        } catch {
            throw TemplateError("${\(body)}: \(error.message)")
        }
    }
}

extension PipelineDefinition {
    /// A variable declared under `env:`: `${env.NAME}` reads it.
    public struct EnvVariable: Sendable, Hashable {
        /// `[A-Za-z_][A-Za-z0-9_]*`
        public var name: String
        /// The value when the environment does not set it (`env: {NAME: default}`); nil: it must
        /// be set.
        public var defaultValue: String?
        /// Where it was declared.
        public var location: Location?

        /// True for `[A-Za-z_][A-Za-z0-9_]*`.
        public static func isValidName(_ s: String) -> Bool {
            guard let first = s.unicodeScalars.first, first.isASCII, first == "_" || first.properties.isAlphabetic else { return false }
            return s.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }
        }
    }
}

/// A problem at a YAML node, for the parser to report with its location.
struct NodeProblem: Error {
    var node: Node
    var message: String
}

extension PipelineParser {
    /// The `env:` value: a list of names, or a mapping from a name to its default (a scalar).
    static func envVariables(_ n: Node) throws(NodeProblem) -> [PipelineDefinition.EnvVariable] {
        func location(_ n: Node) -> PipelineDefinition.Location? { n.mark.map { .init(line: $0.line, column: $0.column) } }
        func name(_ k: Node) throws(NodeProblem) -> String {
            guard let s = k.scalar?.string, PipelineDefinition.EnvVariable.isValidName(s) else {
                throw NodeProblem(
                    node: k,
                    message:
                        "\((k.scalar?.string).map { $0.debugDescription } ?? "this") is not an environment variable name (letters, digits and _, not starting with a digit)"
                )
            }
            return s
        }
        var out: [PipelineDefinition.EnvVariable] = []
        if let seq = n.sequence {
            for k in seq { out.append(.init(name: try name(k), defaultValue: nil, location: location(k))) }
        } else if let m = n.mapping {
            for (k, v) in m {
                let key = try name(k)
                guard let lit = literal(v) else {
                    throw NodeProblem(node: v, message: "the default of \(key) must be a scalar (a string, number or boolean)")
                }
                // `NAME:` with nothing after it (null) has no default.
                let noDefault = v.null != nil && (v.scalar?.style == .plain || v.scalar?.style == .any)
                out.append(.init(name: key, defaultValue: noDefault ? nil : lit.value.text, location: location(k)))
            }
        } else {
            throw NodeProblem(node: n, message: "must be a list of variable names, or a mapping from a name to its default")
        }
        var seen = Set<String>()
        for v in out where !seen.insert(v.name).inserted {
            throw NodeProblem(node: n, message: "\(v.name) is declared twice")
        }
        return out
    }
}

extension PipelineRunner {
    private func problem(
        _ code: PipelineError.Code, _ l: PipelineDefinition.Location?, step: String? = nil, field: String? = nil, _ m: String
    ) -> PipelineError {
        PipelineError(code, file: definition.file, line: l?.line, column: l?.column, step: step, field: field, m)
    }

    // MARK: validation

    /// Reads every variable declared under `env:` from `environment` once, into `envValues`
    /// (the whole run sees these values). A variable that is unset and has no default is an
    /// error.
    func resolveEnvironment() throws {
        for v in definition.env {
            if let value = environment[v.name] ?? v.defaultValue {
                envValues[v.name] = value
            } else {
                throw problem(
                    .input, v.location, field: "env.\(v.name)",
                    "env \(v.name) is not set in the environment and has no default (set it, or declare env: {\(v.name): DEFAULT})")
            }
        }
    }

    /// `${env.NAME}` must name a variable declared under `env:`.
    func checkEnvReference(_ name: String, step: String?, field: String, location: PipelineDefinition.Location?) throws {
        guard envValues[name] == nil else { return }
        let declared = definition.env.map(\.name)
        throw problem(
            .badReference, location, step: step, field: field,
            "env \(name) is not declared under env: (declared: \(declared.isEmpty ? "none" : declared.joined(separator: ", ")))")
    }

    /// Checks a step's `if:` references like its arguments'.
    func checkCondition(of step: PipelineDefinition.Step, earlier: Set<String>) throws {
        guard let c = step.condition else { return }
        for r in c.references {
            try checkReference(r, inStep: step, earlier: earlier, field: "if", location: step.fieldLocations["if"])
        }
    }

    /// True when `foreach: ${inputs.NAME…}` cannot give a list: a scalar input without a path
    /// that is not text holding a JSON array.
    static func isScalarForeachInput(_ r: Reference, inputs: [String: PipelineValue]) -> Bool {
        guard case .input(let n, let path) = r, path.isEmpty, let v = inputs[n], case .value = v else { return false }
        return !v.isJSONArrayText
    }

    // MARK: running

    /// Applies `path` to `value`, the value of `r` (`base` names it: `steps.x`); a path that does
    /// not fit is a ``PipelineError`` (`.stepFailed`) naming the reference and the prefix that
    /// failed.
    func applyPath(_ path: ValuePath, to value: PipelineValue, reference r: Reference, base: String) throws -> PipelineValue {
        guard !path.isEmpty else { return value }
        do {
            return try path.resolve(value, base: base)
        } catch {
            throw PipelineError(.stepFailed, file: definition.file, "\(r): \(error.message)")
        }
    }

    /// Whether `step` runs (for `item`, when its condition uses `${item}`): true without `if:`.
    ///
    /// The runner calls it once per step with `item: nil` when `!condition.usesItem` (a skipped
    /// step's result is an empty list for a foreach step, void otherwise), or once per item when
    /// `condition.usesItem` (a skipped item is left out of the step's results).
    func conditionHolds(_ step: BoundStep, item: PipelineValue?, results: [String: PipelineValue]) throws -> Bool {
        guard let c = step.step.condition else { return true }
        return try conditionHolds(c, item: item, results: results, plugin: step.plugin)
    }

    /// Evaluates `condition` against the results so far and `item`.
    func conditionHolds(
        _ condition: Condition, item: PipelineValue?, results: [String: PipelineValue], plugin: LoadedPlugin?
    ) throws
        -> Bool
    {
        try condition.holds { try resolveReference($0, results: results, item: item, plugin: plugin) }
    }
}
