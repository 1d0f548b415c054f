import CFFI
import Foundation
import PlugHost
import PlugHostPostgres

/// `plughost bench calls`: per-call cost of a direct C call, a raw `ffi_call`, plughost's
/// prepared invoke and its invoke from dynamic values, measured side by side in one run.
package enum CallBenchmark {
    /// Figures of one run, in nanoseconds per call (medians over rounds, with min and max).
    package struct Result: Sendable, Codable {
        package var direct: Summary
        package var ffiRaw: Summary
        package var invokePrepared: Summary
        package var invokeDynamic: Summary
        /// Median over rounds of (prepared invoke / raw ffi_call), each pair measured together.
        package var ratioPreparedToRaw: Summary
        package var callsPerRound: Int
        package var rounds: Int
    }

    /// Measures `function`, which must be `int64 f(int64, int64, int64)` without context.
    package static func run(function: PluginFunction, callsPerRound: Int = 200_000, rounds: Int = 9) throws -> Result {
        precondition(
            function.parameters.map(\.type) == [.int64, .int64, .int64] && function.returnType == .int64 && !function.takesContext)
        let direct = unsafeBitCast(function.fn, to: (@convention(c) (Int64, Int64, Int64) -> Int64).self)
        let args: [Value] = [.int(1), .int(2), .int(3)]
        let prepared = try function.prepare(args)

        // A raw libffi call with its own prepared cif, the floor plughost is measured against.
        let argTypes = UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>.allocate(capacity: 3)
        for i in 0..<3 { argTypes[i] = ph_ffi_type_sint64() }
        let cif = UnsafeMutablePointer<ffi_cif>.allocate(capacity: 1)
        cif.initialize(to: ffi_cif())
        guard ffi_prep_cif(cif, ph_ffi_default_abi(), 3, ph_ffi_type_sint64(), argTypes) == FFI_OK else {
            throw CallError(.badReturn, function: function.qualifiedName, "ffi_prep_cif failed")
        }
        let values = UnsafeMutablePointer<Int64>.allocate(capacity: 3)
        values[0] = 1; values[1] = 2; values[2] = 3
        let argv = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 3)
        for i in 0..<3 { argv[i] = UnsafeMutableRawPointer(values + i) }
        let rvalue = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        defer {
            argTypes.deallocate(); cif.deallocate(); values.deallocate(); argv.deallocate(); rvalue.deallocate()
        }

        var sink: Int64 = 0
        func time(_ body: () throws -> Void) rethrows -> Double {
            let start = monotonicNanos()
            try body()
            return Double(monotonicNanos() - start) / Double(callsPerRound)
        }
        let n = callsPerRound
        let directRound = { time { for i in 0..<n { sink &+= direct(Int64(i), 2, 3) } } }
        let rawRound = { time { for _ in 0..<n { ffi_call(cif, function.fn, rvalue, argv); sink &+= rvalue.pointee } } }
        let preparedRound = {
            try time {
                for _ in 0..<n { if case .int(let v) = try prepared.invoke() { sink &+= v } }
            }
        }
        let dynamicRound = {
            try time {
                for _ in 0..<n { if case .int(let v) = try function.call(args) { sink &+= v } }
            }
        }
        // Warm-up.
        _ = directRound(); _ = rawRound(); _ = try preparedRound(); _ = try dynamicRound()
        var d: [Double] = [], r: [Double] = [], p: [Double] = [], y: [Double] = [], ratio: [Double] = []
        for _ in 0..<rounds {
            d.append(directRound())
            let raw = rawRound()
            let prep = try preparedRound()
            r.append(raw)
            p.append(prep)
            ratio.append(prep / raw)
            y.append(try dynamicRound())
        }
        if sink == 42 { print("") }  // keep the calls observable
        return Result(
            direct: Summary(d), ffiRaw: Summary(r), invokePrepared: Summary(p), invokeDynamic: Summary(y),
            ratioPreparedToRaw: Summary(ratio), callsPerRound: callsPerRound, rounds: rounds)
    }
}
