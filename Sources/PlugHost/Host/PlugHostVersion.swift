/// plughost's release version.
public enum PlugHostVersion {
    /// The version of this build of plughost (semantic versioning).
    public static let current = "0.2.0-dev"
}
