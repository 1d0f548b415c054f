import PlugHostCore
/// Settings of the memory write path. The defaults are the design's.
public struct MemoryConfiguration: Sendable {
    /// True for the three layers (cache, batching, lazy clustering); false for the eager baseline.
    public var optimized: Bool = true
    /// Context cache capacity, in (goal, plugin) contexts.
    public var cacheCapacity: Int = 50
    /// Context cache time to live, in seconds.
    public var cacheTTL: Double = 2 * 3600
    /// Recent memory ids kept in each context's working set.
    public var workingSetSize: Int = 32
    /// Writes per goal that trigger a clustering run.
    public var clusteringThreshold: Int = 10
    /// Age in seconds of the oldest pending write that triggers a clustering run.
    public var clusteringTimeout: Double = 5
    /// `θ`: an edge exists when `co(a,b) >= theta` or `dep(a,b) >= 1`; at least 1. θ is stored
    /// with the memory by the first service that opens it for writing; a service whose θ was
    /// set (``explicitTheta``) to another value refuses to open it, and one whose θ was not set
    /// uses the stored one (``MemoryService/init(engine:configuration:)``). Reading gives the
    /// θ set, or the default, 2; setting it sets ``explicitTheta``.
    public var theta: Int32 {
        get { explicitTheta ?? Self.defaultTheta }
        set { explicitTheta = newValue }
    }
    /// θ as set by the caller, or nil: the one stored with the memory, else the default.
    public var explicitTheta: Int32?
    /// θ when none was set and none is stored.
    public static let defaultTheta: Int32 = 2
    /// Dependency depth the batcher and the eager baseline's graph re-initialisation follow.
    public var maxDependencyDepth: Int = 3
    /// Most operations one group commit takes.
    public var maxBatchOperations: Int = 4096
    /// Limits of one write.
    public var limits: MemoryLimits = .default
    /// The clock for TTLs and timeouts.
    public var clock: any WallClock = SystemClock()
    /// Run clustering in the background (off the caller's thread). Tests that drive
    /// clustering by hand with a manual clock turn this off.
    public var backgroundClustering: Bool = true
    /// For commands that only read: writes, forgets and context writes fail, nothing is
    /// swept, clustered or stored, and pending goals' clusters are computed on reading.
    public var readOnly: Bool = false

    /// The defaults.
    public init() {}

    /// The eager baseline: the three layers off.
    public static var baseline: MemoryConfiguration {
        var c = MemoryConfiguration()
        c.optimized = false
        return c
    }
}
