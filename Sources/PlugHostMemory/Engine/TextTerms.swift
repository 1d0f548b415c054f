import PlugHostCore
/// Splits text into lower-cased word terms for engines without a full-text index.
public enum TextTerms {
    /// The words of `text`: runs of letters and digits, lower-cased.
    public static func terms(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for scalar in text.lowercased().unicodeScalars {
            if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                current.unicodeScalars.append(scalar)
            } else if !current.isEmpty {
                out.append(current)
                current = ""
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
