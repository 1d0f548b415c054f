import ArgumentParser
import Foundation
import PlugHost
import PlugHostPipeline
import PlugHostTools

/// `plughost memory stress`: applies a seeded workload one operation at a time and prints each
/// acknowledged operation as `w INDEX ID` or `f INDEX ID`, flushing standard output after each.
/// The durability tests kill it with SIGKILL at random points.
struct StressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stress", abstract: "Write a seeded workload forever, printing each acknowledged operation (for kill tests).",
        shouldDisplay: false)

    @Option(help: "Workload seed.") var seed: UInt64 = 7
    @Option(help: "First operation index to apply.") var from: Int = 0
    @Option(help: "Operations to apply before exiting.") var count: Int = 1_000_000
    @Option(help: "Distinct concepts per goal.") var concepts: Int = 60
    @OptionGroup var engine: EngineOptions
    @OptionGroup var writePath: WritePathOptions

    @OptionGroup var log: LogOptions

    func run() throws {
        let ops = WorkloadGenerator(operations: from + count, concepts: concepts, seed: seed).generate()
        let memory = try engine.openMemory(baseline: writePath.baseline)
        let out = FileHandle.standardOutput
        for i in from..<ops.count {
            switch ops[i] {
            case .write(let w):
                let id = try memory.write(w)
                out.write(Data("w \(i) \(id)\n".utf8))
            case .forget(let id):
                _ = try memory.forget(id: id)
                out.write(Data("f \(i) \(id)\n".utf8))
            }
        }
        try memory.close()
    }
}
