import Foundation
import PlugHost
import PlugHostCore

/// A path into a structured value, written after a reference: `${steps.ID.person.name}`,
/// `${item[0]}`, `${inputs.rows[-1].id}`. Each component is `.KEY` (a key of a JSON object)
/// or `[N]` (an index of a list or a JSON array; a negative N counts from the end, `[-1]` is the
/// last item).
///
/// Resolution (``resolve(_:base:)``):
/// - `[N]` on a list, or on text holding a JSON array, is that element;
/// - `.KEY` on text holding a JSON object is that key's value;
/// - `.KEY` on a list (or on text holding a JSON array) applies to every item and gives the
///   list of the results, like jq's `.[].KEY`;
/// - a JSON integer becomes an integer, a fraction a double, `true`/`false` a boolean, a string
///   a string and `null` void; a nested object stays compact JSON text (so a further path can
///   address it) and a JSON array becomes a list of its elements.
/// A missing key, an index out of range or text that is not JSON is a run-time error naming the
/// path prefix that failed.
public struct ValuePath: Sendable, Hashable, CustomStringConvertible {
    /// One step of a path.
    public enum Component: Sendable, Hashable, CustomStringConvertible {
        /// `.KEY`
        case key(String)
        /// `[N]`; negative counts from the end.
        case index(Int)

        public var description: String {
            switch self {
            case .key(let k): ".\(k)"
            case .index(let i): "[\(i)]"
            }
        }
    }

    /// The components, in order.
    public var components: [Component]

    /// Creates a path.
    public init(_ components: [Component] = []) { self.components = components }

    /// The path with no components: the value itself.
    public static let empty = ValuePath()

    /// True when it has no components.
    public var isEmpty: Bool { components.isEmpty }

    /// The path as written, e.g. `.person.emails[0]` (empty for the empty path).
    public var description: String { components.map(\.description).joined() }

    /// Parses a path as written after a reference's name: `.a.b[0][-1].c`. Throws a message
    /// for an empty key, an unclosed `[`, an index that is not an integer or a stray character.
    public static func parse(_ text: Substring) throws(TemplateError) -> ValuePath {
        var components: [Component] = []
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == "." {
                let start = text.index(after: i)
                var end = start
                while end < text.endIndex, text[end] != ".", text[end] != "[", text[end] != "]" { end = text.index(after: end) }
                let key = text[start..<end].trimmingCharacters(in: .whitespaces)
                guard !key.isEmpty else {
                    throw TemplateError("empty key in the path \(String(text).debugDescription) (write .KEY or [N])")
                }
                components.append(.key(key))
                i = end
            } else if c == "[" {
                guard let close = text[i...].firstIndex(of: "]") else {
                    throw TemplateError("unclosed [ in the path \(String(text).debugDescription)")
                }
                let raw = text[text.index(after: i)..<close].trimmingCharacters(in: .whitespaces)
                guard let n = Int(raw) else {
                    throw TemplateError(
                        "[\(raw)] in the path \(String(text).debugDescription) is not an index (write [N], or [-N] from the end)")
                }
                components.append(.index(n))
                i = text.index(after: close)
            } else {
                throw TemplateError(
                    "unexpected \(String(c).debugDescription) in the path \(String(text).debugDescription) (write .KEY or [N])")
            }
        }
        return ValuePath(components)
    }

    /// Resolves the path on `value`. `base` names the value in errors (`steps.extract`); the
    /// error names the prefix that failed (`steps.extract.person has no key "age" (keys: name)`).
    public func resolve(_ value: PipelineValue, base: String) throws(ValuePathError) -> PipelineValue {
        try Self.resolve(value, components[...], prefix: base)
    }

    private static func resolve(
        _ value: PipelineValue, _ rest: ArraySlice<Component>, prefix: String
    ) throws(ValuePathError)
        -> PipelineValue
    {
        guard let first = rest.first else { return value }
        let next = prefix + first.description
        switch (first, structure(of: value)) {
        case (.index(let n), .list(let items)):
            let k = n < 0 ? items.count + n : n
            guard items.indices.contains(k) else {
                throw ValuePathError(
                    "\(prefix) has no index \(n) (it has \(items.count) item\(items.count == 1 ? "" : "s"))")
            }
            return try resolve(items[k], rest.dropFirst(), prefix: next)
        case (.key, .list(let items)):
            // A key on a list applies to every item (jq's `.[].key`).
            var out: [PipelineValue] = []
            for (i, item) in items.enumerated() {
                out.append(try resolve(item, rest, prefix: "\(prefix)[\(i)]"))
            }
            return .list(out)
        case (.key(let k), .object(let members)):
            guard let found = members.last(where: { $0.key == k }) else {
                throw ValuePathError(
                    "\(prefix) has no key \(k.debugDescription) (keys: \(members.isEmpty ? "none" : members.map(\.key).joined(separator: ", ")))"
                )
            }
            return try resolve(found.value.pipelineValue, rest.dropFirst(), prefix: next)
        case (.index, .object):
            throw ValuePathError("\(prefix) is a JSON object, not a list (use .KEY)")
        case (_, .scalar(let v)):
            let what = first.isIndex ? "a list or JSON array" : "a JSON object"
            switch v {
            case .string(let s):
                throw ValuePathError("\(prefix) is not \(what) (it is the text \(PipelineRunner.abbreviate(s).debugDescription))")
            case .void:
                throw ValuePathError("\(prefix) is not \(what) (it is empty)")
            default:
                throw ValuePathError("\(prefix) is not \(what) (it is \(v.text))")
            }
        }
    }

    private enum Structure {
        case list([PipelineValue])
        case object([JSONValue.Member])
        case scalar(Value)
    }

    /// What a value is, for a path: a list (also text holding a JSON array), an object (text
    /// holding a JSON object) or anything else.
    private static func structure(of value: PipelineValue) -> Structure {
        switch value {
        case .list(let items): return .list(items)
        case .value(.string(let s)):
            switch JSONValue.structured(s) {
            case .array(let a)?: return .list(a.map(\.pipelineValue))
            case .object(let o)?: return .object(o)
            default: return .scalar(.string(s))
            }
        case .value(let v): return .scalar(v)
        }
    }
}

extension ValuePath.Component {
    fileprivate var isIndex: Bool {
        if case .index = self { return true }
        return false
    }
}

/// A path that does not fit its value (a missing key, an index out of range, text that is not
/// JSON). The message names the path prefix that failed.
public struct ValuePathError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension PipelineValue {
    /// The items a `foreach` iterates: a list's items; the elements of text holding a JSON array
    /// (converted as a path converts them: integers, doubles, booleans, strings, void, objects as
    /// JSON text, arrays as lists); anything else is one item.
    public var items: [PipelineValue] {
        switch self {
        case .list(let l): return l
        case .value(.string(let s)):
            if case .array(let a)? = JSONValue.structured(s) { return a.map(\.pipelineValue) }
            return [self]
        case .value: return [self]
        }
    }

    /// True when it is text holding a JSON array (so a `foreach` iterates its elements).
    public var isJSONArrayText: Bool {
        if case .value(.string(let s)) = self, case .array? = JSONValue.structured(s) { return true }
        return false
    }
}

/// The items a `foreach` over `v` runs for: see ``PipelineValue/items``.
public func foreachItems(_ v: PipelineValue) -> [PipelineValue] { v.items }

extension JSONValue {
    /// Parses `text` when it is a JSON object or array (surrounding white space allowed); nil
    /// for anything else, including bare JSON scalars (`5`, `"x"`), which stay text.
    static func structured(_ text: String) -> JSONValue? {
        guard let first = text.utf8.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }),
            first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
        else { return nil }
        return try? JSONReader.parse(text)
    }

    /// The pipeline value it stands for (see ``ValuePath``): integers (a literal without fraction
    /// or exponent that fits 64 bits) stay integers, other numbers are doubles, null is void,
    /// arrays are lists, and objects stay compact JSON text, so that a further path can address
    /// them.
    var pipelineValue: PipelineValue {
        switch self {
        case .null, .other: .value(.void)
        case .bool(let b): .value(.bool(b))
        case .number(let n):
            n.isIntegerLiteral ? Int64(n.literal).map { .value(.int($0)) } ?? .value(.double(n.double)) : .value(.double(n.double))
        case .string(let s): .value(.string(s))
        case .array(let a): .list(a.map(\.pipelineValue))
        case .integers(let a): .list(a.map { .value(.int(Int64($0))) })
        case .object:
            {
                var w = JSONWriter()
                w.value(self)
                return .value(.string(w.text))
            }()
        }
    }
}
