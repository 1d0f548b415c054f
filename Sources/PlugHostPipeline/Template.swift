import PlugHost
/// A reference inside `${…}`.
public enum Reference: Sendable, Hashable, CustomStringConvertible {
    /// `${inputs.NAME}`
    case input(String)
    /// `${steps.ID}`: that step's result (a list for a foreach step).
    case step(String)
    /// `${context.KEY}`: the calling plugin's goal context; in outputs `${context.PLUGIN.KEY}`.
    case context(plugin: String?, key: String)
    /// `${item}`: the current item of a foreach.
    case item
    /// `${memory.clusters}`: the goal's clusters after the run (outputs only).
    case clusters
    /// `${goal}`: the run's goal.
    case goal

    public var description: String {
        switch self {
        case .input(let n): "${inputs.\(n)}"
        case .step(let s): "${steps.\(s)}"
        case .context(let p, let k): "${context.\(p.map { "\($0)." } ?? "")\(k)}"
        case .item: "${item}"
        case .clusters: "${memory.clusters}"
        case .goal: "${goal}"
        }
    }
}

/// A string with `${…}` references. A template that is exactly one reference keeps the
/// referenced value's type; otherwise the parts are joined as text.
public struct Template: Sendable, Hashable {
    enum Part: Sendable, Hashable {
        case text(String)
        case ref(Reference)
    }
    var parts: [Part]

    /// The references it holds.
    public var references: [Reference] {
        parts.compactMap { if case .ref(let r) = $0 { r } else { nil } }
    }

    /// True when it is exactly one reference.
    public var single: Reference? {
        if parts.count == 1, case .ref(let r) = parts[0] { return r }
        return nil
    }

    /// Parses `text`; `$${` is a literal `${`. Throws a message for a malformed reference.
    public static func parse(_ text: String, allowContextPlugin: Bool = false) throws(TemplateError) -> Template {
        var parts: [Part] = []
        var literal = ""
        var i = text.startIndex
        while i < text.endIndex {
            if text[i...].hasPrefix("$${") {
                literal += "${"
                i = text.index(i, offsetBy: 3)
                continue
            }
            if text[i...].hasPrefix("${") {
                guard let close = text[i...].firstIndex(of: "}") else { throw TemplateError("unclosed ${ in \(text.debugDescription)") }
                let body = String(text[text.index(i, offsetBy: 2)..<close]).trimmingCharacters(in: .whitespaces)
                if !literal.isEmpty {
                    parts.append(.text(literal))
                    literal = ""
                }
                parts.append(.ref(try reference(body, allowContextPlugin: allowContextPlugin)))
                i = text.index(after: close)
                continue
            }
            literal.append(text[i])
            i = text.index(after: i)
        }
        if !literal.isEmpty || parts.isEmpty { parts.append(.text(literal)) }
        return Template(parts: parts)
    }

    private static func reference(_ body: String, allowContextPlugin: Bool) throws(TemplateError) -> Reference {
        let pieces = body.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        switch pieces.first {
        case "item" where pieces.count == 1: return .item
        case "goal" where pieces.count == 1: return .goal
        case "inputs" where pieces.count == 2 && !pieces[1].isEmpty: return .input(pieces[1])
        case "steps" where pieces.count == 2 && !pieces[1].isEmpty: return .step(pieces[1])
        case "memory" where pieces.count == 2 && pieces[1] == "clusters": return .clusters
        case "context" where pieces.count == 2 && !pieces[1].isEmpty: return .context(plugin: nil, key: pieces[1])
        case "context" where pieces.count == 3 && allowContextPlugin: return .context(plugin: pieces[1], key: pieces[2])
        default:
            throw TemplateError(
                "unknown reference ${\(body)} (use ${inputs.NAME}, ${steps.ID}, ${context.KEY}, ${item}, ${goal}\(allowContextPlugin ? ", ${context.PLUGIN.KEY}, ${memory.clusters}" : ""))"
            )
        }
    }
}

/// A malformed `${…}`.
public struct TemplateError: Error, Sendable {
    /// What is wrong.
    public let message: String
    init(_ message: String) { self.message = message }
}

import Foundation
