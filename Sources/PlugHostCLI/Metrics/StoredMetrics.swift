import Prometheus

/// A memory's figures (``MemorySummary``) in the Prometheus text exposition format, through a
/// registry of their own: the stored counters as `plughost_stored_NAME_total` counters (a
/// `_nanos` counter as `plughost_stored_NAME_seconds_total`, in seconds), the per-goal gauges
/// `plughost_goal_{memories,concepts,edges,clusters}{goal="…"}`, `plughost_goals` and
/// `plughost_database_size_bytes`. Their names never collide with the live process metrics
/// (``ProcessMetrics``), so `/metrics` serves both. See docs/metrics.md.
enum StoredMetrics {
    /// The Prometheus name of stored counter `name` and the factor from its stored unit.
    static func exposedName(of name: String) -> (name: String, scale: Double) {
        if name.hasSuffix("_nanos") { return ("plughost_stored_\(name.dropLast("_nanos".count))_seconds_total", 1e-9) }
        return ("plughost_stored_\(name)_total", 1)
    }

    /// `summary` as exposition text.
    static func text(_ summary: MemorySummary) -> String {
        let registry = PrometheusCollectorRegistry()
        for (name, value) in summary.allCounters {
            let exposed = exposedName(of: name)
            let descriptor = MetricNameDescriptor(
                metricName: exposed.name, unitName: "",
                helpText: "Cumulative \(name) of every process that wrote this memory (stored in the database).")
            let counter = registry.makeCounter(descriptor: descriptor)
            if exposed.scale == 1 { counter.increment(by: value) } else { counter.increment(by: Double(value) * exposed.scale) }
        }
        let perGoal: [(String, String, KeyPath<MemorySummary.Goal, Int>)] = [
            ("memories", "Live memories of the goal.", \.memories),
            ("concepts", "Concepts held by the goal's memories.", \.concepts),
            ("edges", "Concept pairs of the goal at theta or more (edges).", \.edges),
            ("clusters", "Concept clusters of the goal.", \.clusters),
        ]
        for (what, help, path) in perGoal {
            let descriptor = MetricNameDescriptor(namespace: "plughost", subsystem: "goal", metricName: what, unitName: "", helpText: help)
            for g in summary.goals {
                registry.makeGauge(descriptor: descriptor, labels: [("goal", g.goal)]).set(Double(g[keyPath: path]))
            }
        }
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "plughost_goals", unitName: "", helpText: "Goals in the memory."))
            .set(Double(summary.goals.count))
        if let bytes = summary.storageBytes {
            registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    metricName: "plughost_database_size_bytes", unitName: "",
                    helpText: "Bytes the memory takes where it is stored (SQLite file and WAL; PostgreSQL tables).")
            )
            .set(Double(bytes))
        }
        return registry.emitToString()
    }
}
