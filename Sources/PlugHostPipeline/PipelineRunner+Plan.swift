import Foundation
import PlugHost

extension PipelineRunner {
    /// What `plughost run --dry-run` shows: each step with what it calls, what it waits for,
    /// its items (when known before running), items at once, retries, timeout and `on_error`;
    /// and the stages (steps that may run at once).
    public func plan(journal: String?) -> [String: Any] {
        var steps: [[String: Any]] = []
        for (i, b) in bound.enumerated() {
            var o: [String: Any] = [
                "id": b.step.id, "call": "\(b.step.plugin).\(b.step.function)",
                "after": dependencies[i].map { bound[$0].step.id }, "parallel": parallelism(b),
                "on_error": b.step.onError.rawValue, "isolation": b.function.isRemote ? "process" : "in-process",
                "thread_safe": b.function.threadSafe,
            ]
            if let f = b.step.foreach {
                switch f {
                case .reference(let r): o["foreach"] = r.description
                case .lines(let path): o["foreach"] = "lines of \(path)"
                }
                if let n = knownItemCount(b) { o["items"] = n }
            } else {
                o["items"] = 1
            }
            if let r = b.step.retry { o["retry"] = ["attempts": r.attempts, "backoff": r.backoff, "max_backoff": r.maxBackoff] }
            if let c = b.step.condition { o["if"] = c.description }
            if let t = b.step.timeout { o["timeout"] = Double(t.components.seconds) + Double(t.components.attoseconds) / 1e18 }
            steps.append(o)
        }
        return [
            "name": definition.name, "goal": goal, "file": definition.file, "valid": true, "steps": steps,
            "stages": stages.map { $0.map { bound[$0].step.id } }, "journal": journal ?? NSNull(),
            "outputs": definition.outputs.map(\.name),
        ]
    }

    /// ``plan(journal:)`` as text.
    public func planText(journal: String?) -> String {
        var lines = ["\(definition.file): valid; pipeline \(definition.name), goal \(goal), \(bound.count) steps"]
        let width = bound.map(\.step.id.count).max() ?? 0
        for (i, b) in bound.enumerated() {
            var l = "  \(b.step.id.padding(toLength: width, withPad: " ", startingAt: 0))  \(b.step.plugin).\(b.step.function)"
            switch b.step.foreach {
            case nil: break
            case .reference(let r)?: l += ", foreach \(r)"
            case .lines(let path)?: l += ", foreach line of \(path)"
            }
            if b.step.foreach != nil { l += knownItemCount(b).map { " (\($0) items)" } ?? "" }
            let p = parallelism(b)
            if p > 1 { l += ", \(p) at once" }
            if let c = b.step.condition { l += ", if \(c)\(c.usesItem ? " (per item)" : "")" }
            if let r = b.step.retry { l += ", \(r.attempts) attempts" }
            if b.step.onError != .stop { l += ", on_error \(b.step.onError.rawValue)" }
            l +=
                dependencies[i].isEmpty
                ? ", starts at once" : ", after \(dependencies[i].map { bound[$0].step.id }.joined(separator: ", "))"
            lines.append(l)
        }
        lines.append("stages (steps in one stage may run at once):")
        for (n, s) in stages.enumerated() { lines.append("  \(n + 1). \(s.map { bound[$0].step.id }.joined(separator: ", "))") }
        if let journal { lines.append("journal: \(journal)") }
        lines.append("nothing was run (--dry-run)")
        return lines.joined(separator: "\n")
    }

    /// Steps grouped by their depth in the dependency graph.
    var stages: [[Int]] {
        var depth = [Int](repeating: 0, count: bound.count)
        for i in bound.indices { depth[i] = (dependencies[i].map { depth[$0] + 1 }.max() ?? 0) }
        return (0..<(depth.max().map { $0 + 1 } ?? 0)).map { d in bound.indices.filter { depth[$0] == d } }
    }

    /// The number of items of a foreach over an input or a file, known before running.
    func knownItemCount(_ b: BoundStep) -> Int? {
        switch b.step.foreach {
        case .reference(.input(let n, let path))?:
            // Unknown when a path or an `if:` decides; a JSON array input counts its elements.
            guard path.isEmpty, b.step.condition == nil, let v = inputs[n] else { return nil }
            if case .list(let l) = v { return l.count }
            return v.isJSONArrayText ? v.items.count : nil
        case .lines(let path)?:
            guard let text = try? String(contentsOfFile: resolve(path), encoding: .utf8) else { return nil }
            return text.split(whereSeparator: \.isNewline).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
        default: return nil
        }
    }
}
