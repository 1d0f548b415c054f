/// The shape of a generated workload (``WorkloadGenerator``): which concepts writes hold, how
/// goals and dependencies are spread, how much is forgotten. Each stresses clustering
/// differently, so that no shape hides another in the benchmark.
package enum WorkloadShape: String, CaseIterable, Sendable, Codable {
    /// Today's workload: 4 goals, log-uniform concept popularity, 20 % of writes with one
    /// dependency, 5 % forgets.
    case standard
    /// Popular concepts: ranks drawn from a Zipf law with exponent 1.2, so a few concepts are
    /// in most writes; 4 goals.
    case zipf
    /// One goal whose writes all hold one hot concept (a giant component around it) with
    /// 1–3 uniform others, and forget churn: 30 % of operations forget a live write.
    case hot
    /// Many small goals: one goal per 20 operations, 10 concepts each.
    case smallGoals = "small-goals"
    /// Long dependency chains: each write holds 3–6 consecutive concepts of one line and
    /// declares each to depend on the next, so the goal's graph is a few very long paths.
    case chains
    /// Today's workload over Unicode keys (accents, combining marks, CJK, Greek, upper case
    /// to normalise), which sort in UTF-8 byte order.
    case unicode
    /// 1 000 000 operations over 100 000 concepts in one goal, 5 % forgets (optimized path
    /// only; the size is fixed).
    case million

    /// The fixed size of a shape that has one (``million``).
    package var fixedOperations: Int? { self == .million ? 1_000_000 : nil }
}
