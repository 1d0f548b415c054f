import PlugHost
/// A value inside a pipeline: a plugin value or a list of them (a foreach step's results, a
/// list input).
public enum PipelineValue: Sendable, Hashable {
    /// One value.
    case value(Value)
    /// A list.
    case list([PipelineValue])

    /// Text for interpolation and printing: lists one item a line.
    public var text: String {
        switch self {
        case .value(let v): v.text
        case .list(let items): items.map(\.text).joined(separator: "\n")
        }
    }

    /// JSON-compatible form.
    public var jsonObject: Any {
        switch self {
        case .value(let v): v.jsonObject
        case .list(let items): items.map(\.jsonObject)
        }
    }
}
