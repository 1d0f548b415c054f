import Foundation
import PlugHost
import Yams

/// A step's `if:` condition.
///
/// ```
/// expr       := or
/// or         := and ('||' and)*
/// and        := unary ('&&' unary)*
/// unary      := '!' unary | '(' expr ')' | comparison
/// comparison := operand (op operand)?
/// op         := == | != | < | <= | > | >= | contains
/// operand    := ${…} | number | 'text' | "text" | true | false | bare-word
/// ```
///
/// A comparison of two numbers (integers, doubles, or text that reads as one) is numeric;
/// otherwise the two sides compare as text. `contains` is a substring test on text, and
/// membership (an item whose text is equal) on a list. A lone operand holds unless it is empty
/// text, `false`, `0`, void or an empty list.
public indirect enum Condition: Sendable, Hashable, CustomStringConvertible {
    /// `if: true` / `if: false`.
    case constant(Bool)
    /// A lone operand: holds when truthy.
    case truthy(Operand)
    /// `a OP b`.
    case compare(Operand, Operator, Operand)
    /// `!x`
    case not(Condition)
    /// `a && b && …`
    case and([Condition])
    /// `a || b || …`
    case or([Condition])

    /// One side of a comparison.
    public enum Operand: Sendable, Hashable, CustomStringConvertible {
        /// `${…}`
        case reference(Reference)
        /// A number, a quoted string, `true`/`false` or a bare word.
        case literal(Value)

        public var description: String {
            switch self {
            case .reference(let r): r.description
            case .literal(.string(let s)): "'\(s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'"))'"
            case .literal(let v): v.text
            }
        }
    }

    /// A comparison operator.
    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        case contains
    }

    /// The references it holds, in the order written (a step DAG sees which steps it needs).
    public var references: [Reference] {
        switch self {
        case .constant: []
        case .truthy(let o): o.references
        case .compare(let a, _, let b): a.references + b.references
        case .not(let c): c.references
        case .and(let cs), .or(let cs): cs.flatMap(\.references)
        }
    }

    /// True when it refers to `${item}` (with or without a path): the runner evaluates it once
    /// per item and leaves out the items it does not hold for; otherwise once per step.
    public var usesItem: Bool {
        references.contains { if case .item = $0 { true } else { false } }
    }

    public var description: String {
        switch self {
        case .constant(let b): b ? "true" : "false"
        case .truthy(let o): o.description
        case .compare(let a, let op, let b): "\(a) \(op.rawValue) \(b)"
        case .not(let c):
            switch c {
            case .truthy, .constant, .not: "!\(c)"
            default: "!(\(c))"
            }
        case .and(let cs): cs.map(\.parenthesized).joined(separator: " && ")
        case .or(let cs): cs.map(\.parenthesized).joined(separator: " || ")
        }
    }

    private var parenthesized: String {
        switch self {
        case .and, .or: "(\(description))"
        default: description
        }
    }

    /// Parses condition text. Throws a ``ConditionError`` naming what was expected where.
    public static func parse(_ text: String) throws(ConditionError) -> Condition {
        var p = ConditionParser(tokens: try ConditionParser.tokenize(text))
        guard !p.tokens.isEmpty else { throw ConditionError("the condition is empty") }
        let c = try p.expression()
        if p.position < p.tokens.count {
            let after = p.position > 0 ? " after \(p.tokens[p.position - 1].text.debugDescription)" : ""
            throw ConditionError(
                "unexpected \(p.tokens[p.position].text.debugDescription)\(after) (join conditions with && or ||)")
        }
        return c
    }

    /// Parses an `if:` value: a YAML boolean, or condition text (any other scalar).
    static func parse(yaml n: Node) throws(ConditionError) -> Condition {
        guard let scalar = n.scalar else {
            throw ConditionError("must be a condition such as \"${steps.x} > 3 && ${item.kind} == 'a'\", or true or false")
        }
        if scalar.style == .plain || scalar.style == .any, let b = n.bool { return .constant(b) }
        return try parse(scalar.string)
    }

    // MARK: - Evaluation

    /// Evaluates it, `resolve` giving each reference's value.
    public func holds(_ resolve: (Reference) throws -> PipelineValue) throws -> Bool {
        switch self {
        case .constant(let b): return b
        case .truthy(let o): return Self.truthy(try o.value(resolve))
        case .compare(let a, let op, let b): return Self.compare(try a.value(resolve), op, try b.value(resolve))
        case .not(let c): return !(try c.holds(resolve))
        case .and(let cs):
            for c in cs {
                if !(try c.holds(resolve)) { return false }
            }
            return true
        case .or(let cs):
            for c in cs {
                if try c.holds(resolve) { return true }
            }
            return false
        }
    }

    /// False for empty text, `false`, `0`, void and an empty list; true otherwise.
    public static func truthy(_ v: PipelineValue) -> Bool {
        switch v {
        case .list(let l): return !l.isEmpty
        case .value(.void): return false
        case .value(.bool(let b)): return b
        case .value(let x):
            let t = x.text.trimmingCharacters(in: .whitespacesAndNewlines)
            return !(t.isEmpty || t.lowercased() == "false" || t == "0")
        }
    }

    /// Compares two values (see ``Condition``).
    public static func compare(_ a: PipelineValue, _ op: Operator, _ b: PipelineValue) -> Bool {
        if op == .contains {
            if case .list(let items) = a {
                let needle = text(b)
                return items.contains { text($0) == needle }
            }
            let needle = text(b)
            return needle.isEmpty || text(a).contains(needle)
        }
        let order: ComparisonResult
        if let x = number(a), let y = number(b) {
            order = x.compare(y)
        } else {
            let x = text(a), y = text(b)
            order = x == y ? .orderedSame : (x < y ? .orderedAscending : .orderedDescending)
        }
        switch op {
        case .equal: return order == .orderedSame
        case .notEqual: return order != .orderedSame
        case .less: return order == .orderedAscending
        case .lessOrEqual: return order != .orderedDescending
        case .greater: return order == .orderedDescending
        case .greaterOrEqual: return order != .orderedAscending
        case .contains: return false
        }
    }

    private static func text(_ v: PipelineValue) -> String { PipelineRunner.joined(v) }

    /// A number, kept exact for integers.
    enum Number {
        case int(Int64), double(Double)

        func compare(_ o: Number) -> ComparisonResult {
            switch (self, o) {
            case (.int(let a), .int(let b)): return a == b ? .orderedSame : (a < b ? .orderedAscending : .orderedDescending)
            default:
                let a = asDouble, b = o.asDouble
                return a == b ? .orderedSame : (a < b ? .orderedAscending : .orderedDescending)
            }
        }

        var asDouble: Double {
            switch self {
            case .int(let i): Double(i)
            case .double(let d): d
            }
        }
    }

    private static func number(_ v: PipelineValue) -> Number? {
        guard case .value(let x) = v else { return nil }
        switch x {
        case .int(let i): return .int(i)
        case .uint(let u): return Int64(exactly: u).map { .int($0) } ?? .double(Double(u))
        case .double(let d): return d.isNaN ? nil : .double(d)
        case .string(let s): return numericText(s.trimmingCharacters(in: .whitespacesAndNewlines))
        default: return nil
        }
    }

    /// Text that reads as a number: an optional sign, digits, an optional fraction and exponent
    /// (not `inf`, `nan` or hex).
    static func numericText(_ t: String) -> Number? {
        guard let first = t.unicodeScalars.first else { return nil }
        let body = (first == "-" || first == "+") ? t.unicodeScalars.dropFirst() : t.unicodeScalars[...]
        guard let lead = body.first, CharacterSet.decimalDigits.contains(lead) || lead == "." else { return nil }
        guard body.allSatisfy({ ("0"..."9").contains($0) || $0 == "." || $0 == "e" || $0 == "E" || $0 == "-" || $0 == "+" }) else {
            return nil
        }
        if let i = Int64(t) { return .int(i) }
        if let d = Double(t), d.isFinite { return .double(d) }
        return nil
    }
}

extension Condition.Operand {
    var references: [Reference] {
        if case .reference(let r) = self { return [r] }
        return []
    }

    func value(_ resolve: (Reference) throws -> PipelineValue) throws -> PipelineValue {
        switch self {
        case .reference(let r): try resolve(r)
        case .literal(let v): .value(v)
        }
    }
}

/// A malformed `if:` condition.
public struct ConditionError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    /// True when a `${…}` inside it is malformed.
    public var inReference = false
    init(_ message: String, inReference: Bool = false) {
        self.message = message
        self.inReference = inReference
    }
    public var description: String { message }
}

/// The recursive-descent parser behind ``Condition/parse(_:)``.
struct ConditionParser {
    enum Kind: Equatable, Sendable {
        case or, and, not, open, close
        case op(Condition.Operator)
        case operand(Condition.Operand)
    }

    struct Token {
        var kind: Kind
        /// As written, for errors.
        var text: String
    }

    var tokens: [Token]
    var position = 0

    init(tokens: [Token]) { self.tokens = tokens }

    /// Operators and parentheses, longest first.
    static let symbols: [(String, Kind)] = [
        ("||", .or), ("&&", .and), ("==", .op(.equal)), ("!=", .op(.notEqual)), ("<=", .op(.lessOrEqual)),
        (">=", .op(.greaterOrEqual)), ("<", .op(.less)), (">", .op(.greater)), ("!", .not), ("(", .open), (")", .close),
    ]

    static func tokenize(_ text: String) throws(ConditionError) -> [Token] {
        var tokens: [Token] = []
        let chars = Array(text)
        var i = 0
        func peek(_ s: String) -> Bool {
            let c = Array(s)
            return i + c.count <= chars.count && Array(chars[i..<i + c.count]) == c
        }
        let special: Set<Character> = ["(", ")", "!", "=", "<", ">", "&", "|", "'", "\"", "$"]
        while i < chars.count {
            let c = chars[i]
            if c.isWhitespace {
                i += 1
                continue
            }
            if peek("${") {
                guard let close = chars[i...].firstIndex(of: "}") else {
                    throw ConditionError("unclosed ${ in \(text.debugDescription)", inReference: true)
                }
                let body = String(chars[(i + 2)..<close])
                let r: Reference
                do {
                    r = try Template.parseReference(body)
                } catch {
                    throw ConditionError(error.message, inReference: true)
                }
                tokens.append(Token(kind: .operand(.reference(r)), text: String(chars[i...close])))
                i = close + 1
                continue
            }
            var matched = false
            for (s, k) in symbols where peek(s) {
                tokens.append(Token(kind: k, text: s))
                i += s.count
                matched = true
                break
            }
            if matched { continue }
            if c == "'" || c == "\"" {
                var s = ""
                var j = i + 1
                var closed = false
                while j < chars.count {
                    if chars[j] == "\\", j + 1 < chars.count {
                        s.append(chars[j + 1])
                        j += 2
                        continue
                    }
                    if chars[j] == c {
                        closed = true
                        break
                    }
                    s.append(chars[j])
                    j += 1
                }
                guard closed else { throw ConditionError("unclosed \(c) in \(text.debugDescription)") }
                tokens.append(Token(kind: .operand(.literal(.string(s))), text: String(chars[i...j])))
                i = j + 1
                continue
            }
            if special.contains(c) {
                let hint = c == "=" ? " (compare with ==)" : (c == "&" || c == "|" ? " (use && or ||)" : "")
                throw ConditionError("unexpected \(String(c).debugDescription) in \(text.debugDescription)\(hint)")
            }
            var j = i
            while j < chars.count, !chars[j].isWhitespace, !special.contains(chars[j]) { j += 1 }
            let word = String(chars[i..<j])
            i = j
            let kind: Kind
            switch word {
            case "contains": kind = .op(.contains)
            case "true": kind = .operand(.literal(.bool(true)))
            case "false": kind = .operand(.literal(.bool(false)))
            default:
                switch Condition.numericText(word) {
                case .int(let n)?: kind = .operand(.literal(.int(n)))
                case .double(let d)?: kind = .operand(.literal(.double(d)))
                case nil: kind = .operand(.literal(.string(word)))
                }
            }
            tokens.append(Token(kind: kind, text: word))
        }
        return tokens
    }

    private var current: Token? { position < tokens.count ? tokens[position] : nil }

    private func expectedOperand() -> ConditionError {
        let after = position > 0 ? " after \(tokens[position - 1].text.debugDescription)" : " at the start"
        if let t = current { return ConditionError("expected an operand\(after), found \(t.text.debugDescription)") }
        return ConditionError("expected an operand\(after)")
    }

    mutating func expression() throws(ConditionError) -> Condition {
        var parts = [try conjunction()]
        while current?.kind == .or {
            position += 1
            parts.append(try conjunction())
        }
        return parts.count == 1 ? parts[0] : .or(parts)
    }

    private mutating func conjunction() throws(ConditionError) -> Condition {
        var parts = [try unary()]
        while current?.kind == .and {
            position += 1
            parts.append(try unary())
        }
        return parts.count == 1 ? parts[0] : .and(parts)
    }

    private mutating func unary() throws(ConditionError) -> Condition {
        switch current?.kind {
        case .not?:
            position += 1
            return .not(try unary())
        case .open?:
            position += 1
            let inner = try expression()
            guard current?.kind == .close else {
                if let t = current { throw ConditionError("expected \")\", found \(t.text.debugDescription)") }
                throw ConditionError("expected \")\" at the end (an unclosed \"(\")")
            }
            position += 1
            return inner
        default:
            return try comparison()
        }
    }

    private mutating func comparison() throws(ConditionError) -> Condition {
        let left = try operand()
        guard case .op(let op)? = current?.kind else { return .truthy(left) }
        position += 1
        return .compare(left, op, try operand())
    }

    private mutating func operand() throws(ConditionError) -> Condition.Operand {
        guard case .operand(let o)? = current?.kind else { throw expectedOperand() }
        position += 1
        return o
    }
}
