import Foundation

/// The resources' addresses: `plughost://goals/<goal>/clusters` and
/// `plughost://goals/<goal>/contexts/<plugin>`, each part percent-encoded.
enum ResourceURI: Equatable {
    case clusters(goal: String)
    case context(goal: String, plugin: String)

    private static let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))

    static func encode(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s }

    static func clusters(goal: String) -> String { "plughost://goals/\(encode(goal))/clusters" }
    static func context(goal: String, plugin: String) -> String { "plughost://goals/\(encode(goal))/contexts/\(encode(plugin))" }

    static func parse(_ uri: String) -> ResourceURI? {
        let prefix = "plughost://goals/"
        guard uri.hasPrefix(prefix) else { return nil }
        let parts = uri.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false).map { $0.removingPercentEncoding }
        guard parts.allSatisfy({ $0 != nil && !$0!.isEmpty }) else { return nil }
        switch parts.count {
        case 2 where parts[1] == "clusters": return .clusters(goal: parts[0]!)
        case 3 where parts[1] == "contexts": return .context(goal: parts[0]!, plugin: parts[2]!)
        default: return nil
        }
    }
}
