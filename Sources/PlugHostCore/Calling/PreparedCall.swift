import Foundation

/// A call whose arguments were marshalled once; ``invoke(goal:)`` then costs little more than
/// `ffi_call` itself. Not for concurrent use: one thread at a time.
public final class PreparedCall {
    /// The function it calls.
    public let function: PluginFunction
    private let slots: UnsafeMutableRawPointer
    private let argv: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private var owned: [UnsafeMutableRawPointer]?
    private let arguments: [Value]

    init(function: PluginFunction, arguments: [Value], slotCount: Int) throws {
        self.function = function
        self.arguments = arguments
        guard arguments.count == function.parameters.count else {
            throw CallError(
                .argumentCount, function: function.qualifiedName, "expects \(function.parameters.count) arguments, got \(arguments.count)")
        }
        slots = UnsafeMutableRawPointer.allocate(byteCount: slotCount * MemoryLayout<ArgSlot>.stride, alignment: 16)
        argv = .allocate(capacity: slotCount)
        argv.initialize(repeating: nil, count: slotCount)
        let base = function.takesContext ? 1 : 0
        for (i, value) in arguments.enumerated() {
            let slot = slots + (base + i) * MemoryLayout<ArgSlot>.stride
            do {
                try ArgumentMarshaller.store(value, as: function.parameters[i].type, into: slot, owned: &owned) {
                    "argument \(i + 1) (\(function.parameters[i].name))"
                }
            } catch let error as CallError {
                // deinit releases what was allocated so far.
                throw CallError(error.code, function: function.qualifiedName, error.message)
            }
            argv[base + i] = slot
        }
    }

    deinit {
        owned?.forEach { Foundation.free($0) }
        slots.deallocate()
        argv.deallocate()
    }

    /// Calls the function with the prepared arguments.
    @inline(__always)
    public func invoke(goal: String = "default") throws -> Value {
        if function.isRemote { return try function.call(arguments, goal: goal) }
        return try function.invoke(argv: argv, contextSlot: slots, goal: goal)
    }
}
