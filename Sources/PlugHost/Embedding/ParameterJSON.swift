import Foundation

/// A parameter and its declared metadata as JSON (C API `plughost_plugins`, `plughost inspect
/// --json`): name, type, optional, and when declared description, minimum, maximum, allowed,
/// default.
package enum ParameterJSON {
    package static func object(_ p: Parameter) -> [String: Any] {
        var o: [String: Any] = ["name": p.name, "type": p.type.name, "optional": p.isOptional]
        if !p.description.isEmpty { o["description"] = p.description }
        if let lo = p.minimum { o["minimum"] = number(lo) }
        if let hi = p.maximum { o["maximum"] = number(hi) }
        if let allowed = p.allowed { o["allowed"] = allowed }
        if let d = p.defaultValue { o["default"] = (try? JSONReader.parse(d.jsonText)) ?? d.jsonText }
        return o
    }

    /// One line for people: `k (int32_t, 1 to 50, default 10): how many keywords`.
    package static func line(_ p: Parameter) -> String {
        var facts = [p.type.name]
        switch (p.minimum, p.maximum) {
        case (let lo?, let hi?): facts.append("\(Parameter.boundText(lo)) to \(Parameter.boundText(hi))")
        case (let lo?, nil): facts.append("at least \(Parameter.boundText(lo))")
        case (nil, let hi?): facts.append("at most \(Parameter.boundText(hi))")
        default: break
        }
        if let allowed = p.allowed { facts.append("one of " + allowed.map(\.debugDescription).joined(separator: ", ")) }
        if let d = p.defaultValue { facts.append("optional, default \(d.jsonText)") }
        return "\(p.name) (\(facts.joined(separator: ", ")))" + (p.description.isEmpty ? "" : ": \(p.description)")
    }

    /// A bound as an integer when it is one.
    private static func number(_ d: Double) -> Any {
        d == d.rounded() && abs(d) < 9e15 ? Int64(d) as Any : d as Any
    }
}
