import PlugHost
/// A reference inside `${…}`.
public enum Reference: Sendable, Hashable, CustomStringConvertible {
    /// `${inputs.NAME}`, with an optional path (`${inputs.NAME[1].key}`, see ``ValuePath``).
    case input(String, path: ValuePath)
    /// `${steps.ID}`: that step's result (a list for a foreach step), with an optional path
    /// (`${steps.ID.a.b[0]}`).
    case step(String, path: ValuePath)
    /// `${context.KEY}`: the calling plugin's goal context; in outputs `${context.PLUGIN.KEY}`.
    case context(plugin: String?, key: String)
    /// `${item}`: the current item of a foreach, with an optional path (`${item.field}`).
    case item(path: ValuePath)
    /// `${env.NAME}`: an environment variable declared under `env:`, read once at validation.
    case env(String)
    /// `${memory.clusters}`: the goal's clusters after the run (outputs only).
    case clusters
    /// `${goal}`: the run's goal.
    case goal
    /// `${memory.recall:CONCEPT}`, `${memory.recall.related:CONCEPT}`, with an optional limit
    /// (`${memory.recall.related.5:CONCEPT}`, 20 when left out): the contents of the goal's
    /// memories holding the concept (with `related`: any concept of its cluster), newest first.
    case recall(concept: String, related: Bool, limit: Int)

    public var description: String {
        switch self {
        case .input(let n, let path): "${inputs.\(n)\(path)}"
        case .step(let s, let path): "${steps.\(s)\(path)}"
        case .context(let p, let k): "${context.\(p.map { "\($0)." } ?? "")\(k)}"
        case .item(let path): "${item\(path)}"
        case .env(let n): "${env.\(n)}"
        case .clusters: "${memory.clusters}"
        case .goal: "${goal}"
        case .recall(let c, let related, let limit):
            "${memory.recall\(related ? ".related" : "")\(limit == Template.recallDefaultLimit ? "" : ".\(limit)"):\(c)}"
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

    /// Most memories a `${memory.recall…}` reference may ask for.
    static let recallLimitRange = 1...1000
    /// The limit of a `${memory.recall…}` reference that gives none (recall's default).
    static let recallDefaultLimit = 20

    /// `memory.recall[.related][.LIMIT]:CONCEPT` (the part after `${`), or nil when `body` is
    /// not a recall reference. The concept is everything after the first `:`, trimmed.
    private static func recallReference(_ body: String) throws(TemplateError) -> Reference? {
        let prefix = "memory.recall"
        guard body.hasPrefix(prefix) else { return nil }
        let rest = body.dropFirst(prefix.count)
        guard rest.isEmpty || rest.first == "." || rest.first == ":" else { return nil }
        let usage = "(use ${memory.recall:CONCEPT}, ${memory.recall.related:CONCEPT} or ${memory.recall.related.LIMIT:CONCEPT})"
        guard let colon = rest.firstIndex(of: ":") else {
            throw TemplateError("${\(body)} names no concept \(usage)")
        }
        let concept = rest[rest.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        guard !ConceptKey.normalize(concept).isEmpty else {
            throw TemplateError("${\(body)}: the concept \(concept.debugDescription) is empty after normalisation \(usage)")
        }
        var related = false
        var limit: Int?
        for option in rest[..<colon].split(separator: ".", omittingEmptySubsequences: false).dropFirst() {
            if option == "related", !related {
                related = true
            } else if let n = Int(option), limit == nil {
                guard recallLimitRange.contains(n) else {
                    throw TemplateError(
                        "${\(body)}: the limit \(n) is out of range \(recallLimitRange.lowerBound)...\(recallLimitRange.upperBound)")
                }
                limit = n
            } else {
                throw TemplateError("${\(body)}: unknown or repeated option \(String(option).debugDescription) \(usage)")
            }
        }
        return .recall(concept: concept, related: related, limit: limit ?? recallDefaultLimit)
    }

    /// Parses the body of one `${…}` (without the braces), e.g. `steps.extract.person[0]`.
    public static func parseReference(_ body: String, allowContextPlugin: Bool = false) throws(TemplateError) -> Reference {
        try reference(body.trimmingCharacters(in: .whitespaces), allowContextPlugin: allowContextPlugin)
    }

    private static func reference(_ body: String, allowContextPlugin: Bool) throws(TemplateError) -> Reference {
        if let recall = try recallReference(body) { return recall }
        if let structured = try structuredReference(body) { return structured }
        let pieces = body.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        switch pieces.first {
        case "goal" where pieces.count == 1: return .goal
        case "memory" where pieces.count == 2 && pieces[1] == "clusters": return .clusters
        case "context" where pieces.count == 2 && !pieces[1].isEmpty: return .context(plugin: nil, key: pieces[1])
        case "context" where pieces.count == 3 && allowContextPlugin: return .context(plugin: pieces[1], key: pieces[2])
        default:
            throw TemplateError(
                "unknown reference ${\(body)} (use ${inputs.NAME}, ${steps.ID}, ${context.KEY}, ${item}, ${env.NAME}, ${goal}, ${memory.recall[.related]:CONCEPT}\(allowContextPlugin ? ", ${context.PLUGIN.KEY}, ${memory.clusters}" : ""))"
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
