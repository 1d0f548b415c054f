import Metrics
import Prometheus

/// The CLI's swift-metrics backend: a ``PrometheusMetricsFactory`` over one registry, bootstrapped
/// once at start-up (``PlugHostCommand/main()``). The libraries only use swift-metrics' API;
/// this is the one place that chooses Prometheus. `plughost mcp --http` serves the registry on
/// `GET /metrics`. See docs/metrics.md.
enum ProcessMetrics {
    /// The registry the live process metrics go to.
    static let registry = PrometheusCollectorRegistry()

    /// Latency buckets for the timers: plugin calls take microseconds in-process, commits and
    /// clustering runs milliseconds to seconds.
    static let durationBuckets: [Duration] = [
        .microseconds(10), .microseconds(50), .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5),
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
    ]

    /// Buckets of `plughost_memory_commit_operations` (operations per group commit).
    static let batchSizeBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096]

    /// Makes the registry swift-metrics' backend. Call once, before anything makes a metric.
    static func bootstrap() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = durationBuckets
        factory.defaultValueHistogramBuckets = batchSizeBuckets
        MetricsSystem.bootstrap(factory)
    }

    /// The live process metrics in the Prometheus text exposition format.
    static func text() -> String { registry.emitToString() }
}
