import Foundation
import PlugHost

/// JSON output of the CLI: the one writer's canonical text (keys sorted, `/` not escaped).
enum JSONText {
    static func encode(_ object: Any) -> String {
        JSONValue.canonicalText(of: object)
    }
}
