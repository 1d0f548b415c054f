import CFFI
import CPlugHostRuntime
import CPlugHostABI
import Foundation
import Synchronization

/// A function of a loaded plugin, with its libffi call interface prepared once at load.
public final class PluginFunction: @unchecked Sendable {
    /// The function's name.
    public let name: String
    /// Its one-line doc string ("" when the plugin gave none).
    public let doc: String
    /// Its declared parameters (the context pointer not included).
    public let parameters: [Parameter]
    /// Its declared return type.
    public let returnType: ValueType
    /// Whether the C function takes `const ph_call_context *` first.
    public let takesContext: Bool
    /// Whether the function may run on several threads at once.
    public let threadSafe: Bool
    /// `plugin.function`, for messages.
    public let qualifiedName: String

    let ownership: ReturnOwnership
    package let fn: @convention(c) () -> Void
    unowned let plugin: LoadedPlugin
    private let shutdown: ShutdownFlag
    // Immutable after init; libffi only reads them during ffi_call.
    private let cif: UnsafeMutablePointer<ffi_cif>
    private let argTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>
    private let cArgumentCount: Int

    /// The function's flags, as the descriptor declared them.
    public let flags: UInt32
    /// Its position in the descriptor's list (how a worker finds it).
    package let index: Int
    /// Whether its code runs in a worker (read once: the call path must not touch the plugin).
    package let isRemote: Bool
    /// What the result is (ABI minor 1), or empty.
    public let resultDoc: String
    /// For a string result that carries JSON: its JSON Schema as JSON text (ABI minor 1).
    public let resultSchema: String?
    /// Whether any parameter declares a range or an allowed set.
    private let constrained: Bool

    package init(
        plugin: LoadedPlugin, index: Int, name: String, doc: String, parameters: [Parameter], returnType: ValueType,
        flags: UInt32, fn: @escaping @convention(c) () -> Void, resultDoc: String = "", resultSchema: String? = nil
    ) throws {
        self.resultDoc = resultDoc
        self.resultSchema = resultSchema
        self.constrained = parameters.contains { $0.hasConstraints }
        self.index = index
        self.isRemote = plugin.remote != nil
        self.flags = flags
        self.plugin = plugin
        self.shutdown = plugin.shutdownFlag
        self.name = name
        self.doc = doc
        self.parameters = parameters
        self.returnType = returnType
        self.takesContext = flags & UInt32(PH_FN_TAKES_CONTEXT) != 0
        self.threadSafe = flags & UInt32(PH_FN_THREAD_SAFE) != 0
        if flags & UInt32(PH_FN_RETURNS_HOST_ALLOC) != 0 {
            ownership = .hostAllocated
        } else if flags & UInt32(PH_FN_RETURNS_PLUGIN_ALLOC) != 0 {
            ownership = .pluginAllocated
        } else {
            ownership = .plugin
        }
        self.fn = fn
        self.qualifiedName = "\(plugin.name).\(name)"
        let count = parameters.count + (takesContext ? 1 : 0)
        cArgumentCount = count
        argTypes = .allocate(capacity: max(count, 1))
        var i = 0
        if takesContext {
            argTypes[0] = ph_ffi_type_pointer()
            i = 1
        }
        for p in parameters {
            argTypes[i] = FFITypes.type(for: p.type)
            i += 1
        }
        cif = .allocate(capacity: 1)
        cif.initialize(to: ffi_cif())
        let status = ffi_prep_cif(
            cif, ph_ffi_default_abi(), UInt32(count), FFITypes.type(for: returnType), argTypes)
        guard status == FFI_OK else {
            throw LoadError(.ffiPrepFailed, path: plugin.path, "libffi could not prepare function \(name) (ffi_prep_cif status \(status))")
        }
    }

    deinit {
        cif.deallocate()
        argTypes.deallocate()
    }

    /// A C-like signature, as `plughost inspect` prints it.
    public var signature: String {
        func decl(_ type: ValueType, _ name: String) -> String {
            let t = type.description
            return t.hasSuffix("*") ? "\(t)\(name)" : "\(t) \(name)"
        }
        var params = parameters.map { decl($0.type, $0.name) }
        if takesContext { params.insert("const ph_call_context *ctx", at: 0) }
        let ret = returnType.description
        return "\(ret)\(ret.hasSuffix("*") ? "" : " ")\(name)(\(params.isEmpty ? "void" : params.joined(separator: ", ")))"
    }

    /// Calls the function with dynamic values, converted to the declared types with range checks.
    ///
    /// - Parameters:
    ///   - arguments: One value per declared parameter, in order.
    ///   - goal: The goal whose memory and context the call works in.
    /// - Returns: The converted return value (`.void` for void functions).
    ///   - timeout: This call's deadline in `process` isolation, instead of the plugin's
    ///     ``PluginLimits/timeout`` (ignored in-process, where nothing can stop a call).
    public func call(_ arguments: [Value], goal: String = "default", timeout: Duration? = nil) throws -> Value {
        try plugin.callMetrics.measure { try callUnmeasured(arguments, goal: goal, timeout: timeout) }
    }

    /// ``call(_:goal:timeout:)`` without the call metrics.
    private func callUnmeasured(_ arguments: [Value], goal: String, timeout: Duration?) throws -> Value {
        guard arguments.count == parameters.count else {
            throw CallError(
                .argumentCount, function: qualifiedName,
                "expects \(parameters.count) argument\(parameters.count == 1 ? "" : "s") (\(parameters.map(\.name).joined(separator: ", "))), got \(arguments.count)"
            )
        }
        if constrained { try checkDeclared(arguments) }
        if isRemote, let remote = plugin.remote {
            guard !shutdown.isSet else {
                throw CallError(.unloaded, function: qualifiedName, "plugin \(plugin.name) was shut down (its host was closed)")
            }
            for (i, value) in arguments.enumerated() {
                do {
                    try ArgumentMarshaller.check(value, as: parameters[i].type) { "argument \(i + 1) (\(self.parameters[i].name))" }
                } catch let error as CallError {
                    throw CallError(error.code, function: qualifiedName, error.message)
                }
            }
            return try remote.call(self, index: index, arguments: arguments, goal: goal, timeout: timeout)
        }
        let count = max(cArgumentCount, 1)
        return try withUnsafeTemporaryAllocation(of: ArgSlot.self, capacity: count) { (slots) throws -> Value in
            try withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: count) { (argv) throws -> Value in
                var owned: [UnsafeMutableRawPointer]? = nil
                defer { owned?.forEach { Foundation.free($0) } }
                let base = takesContext ? 1 : 0
                let slotBase = UnsafeMutableRawPointer(slots.baseAddress!)
                for i in 0..<arguments.count {
                    let slot = slotBase + (base + i) * MemoryLayout<ArgSlot>.stride
                    do {
                        try ArgumentMarshaller.store(arguments[i], as: parameters[i].type, into: slot, owned: &owned) {
                            "argument \(i + 1) (\(self.parameters[i].name))"
                        }
                    } catch let error as CallError {
                        throw CallError(error.code, function: qualifiedName, error.message)
                    }
                    argv[base + i] = slot
                }
                return try invoke(argv: argv.baseAddress!, contextSlot: slotBase, goal: goal)
            }
        }
    }

    /// Calls with arguments already marshalled into `argv` (context slot left for this function).
    @inline(__always)
    func invoke(
        argv: UnsafeMutablePointer<UnsafeMutableRawPointer?>, contextSlot: UnsafeMutableRawPointer, goal: String
    ) throws -> Value {
        try withUnsafeTemporaryAllocation(of: ArgSlot.self, capacity: 1) { (ret) throws -> Value in
            let rvalue = UnsafeMutableRawPointer(ret.baseAddress!)
            rvalue.storeBytes(of: ArgSlot(low: 0, high: 0), as: ArgSlot.self)
            guard takesContext else {
                try rawCall(rvalue, argv)
                return try convertReturn(rvalue, error: nil)
            }
            var state = CallState(goal: goal, plugin: plugin.identity, services: plugin.services, error: nil)
            return try goal.withCString { (goalPtr) throws -> Value in
                try withUnsafeMutablePointer(to: &state) { (statePtr) throws -> Value in
                    var ctx = ph_call_context(
                        struct_size: UInt32(MemoryLayout<ph_call_context>.size), host: HostAPITable.pointer,
                        goal: goalPtr, plugin: UnsafePointer(plugin.cName), host_data: UnsafeMutableRawPointer(statePtr))
                    return try withUnsafeMutablePointer(to: &ctx) { (ctxPtr) throws -> Value in
                        contextSlot.storeBytes(of: UnsafeRawPointer(ctxPtr), as: UnsafeRawPointer.self)
                        argv[0] = contextSlot
                        // The context is live on this thread, for this call only (see CallState.from).
                        let previous = ph_rt_swap_current_context(ctxPtr)
                        defer { _ = ph_rt_swap_current_context(previous) }
                        try rawCall(rvalue, argv)
                        return try convertReturn(rvalue, error: statePtr.pointee.error)
                    }
                }
            }
        }
    }

    /// `ffi_call`, serialised per plugin unless the function is thread-safe.
    @inline(__always)
    func rawCall(_ rvalue: UnsafeMutableRawPointer, _ argv: UnsafeMutablePointer<UnsafeMutableRawPointer?>) throws {
        guard !shutdown.isSet else {
            throw CallError(.unloaded, function: qualifiedName, "plugin \(plugin.name) was shut down (its host was closed)")
        }
        if threadSafe {
            ffi_call(cif, fn, rvalue, argv)
        } else {
            plugin.callLock.withLock { _ in ffi_call(cif, fn, rvalue, argv) }
        }
        // A plugin that forked: its child must not go on running the host.
        if ph_rt_is_forked_child() != 0 { _exit(0) }
    }

    /// Converts the return slot to a `Value`, copying and releasing returned memory as the
    /// function's ownership flags say.
    @inline(__always)
    func convertReturn(_ rvalue: UnsafeMutableRawPointer, error: String?) throws -> Value {
        // libffi widens integral results narrower than a register to a full ffi_arg.
        let word = rvalue.load(as: UInt64.self)
        let result: Value
        switch returnType {
        case .void: result = .void
        case .bool: result = .bool(UInt8(truncatingIfNeeded: word) != 0)
        case .int8: result = .int(Int64(Int8(truncatingIfNeeded: word)))
        case .int16: result = .int(Int64(Int16(truncatingIfNeeded: word)))
        case .int32: result = .int(Int64(Int32(truncatingIfNeeded: word)))
        case .int64: result = .int(Int64(bitPattern: word))
        case .uint8: result = .uint(UInt64(UInt8(truncatingIfNeeded: word)))
        case .uint16: result = .uint(UInt64(UInt16(truncatingIfNeeded: word)))
        case .uint32: result = .uint(UInt64(UInt32(truncatingIfNeeded: word)))
        case .uint64: result = .uint(word)
        case .float: result = .double(Double(rvalue.load(as: Float.self)))
        case .double: result = .double(rvalue.load(as: Double.self))
        case .pointer: result = .pointer(rvalue.load(as: UInt.self))
        case .string:
            let ptr = rvalue.load(as: UnsafeMutablePointer<CChar>?.self)
            defer { if let ptr { release(UnsafeMutableRawPointer(ptr)) } }
            if let error { throw CallError(.pluginError, function: qualifiedName, error) }
            guard let ptr else {
                throw CallError(.badReturn, function: qualifiedName, "returned NULL for a string without reporting an error")
            }
            let length = strnlen(ptr, plugin.maxResultBytes + 1)
            guard length <= plugin.maxResultBytes else {
                throw CallError(
                    .resultTooBig, function: qualifiedName,
                    "returned a string longer than the limit of \(plugin.maxResultBytes) bytes")
            }
            guard let s = String(validatingCString: ptr) else {
                throw CallError(.badReturn, function: qualifiedName, "returned a string that is not valid UTF-8")
            }
            result = .string(s)
        case .buffer:
            let buf = rvalue.load(as: ph_buffer.self)
            defer { if let data = buf.data { release(UnsafeMutableRawPointer(mutating: data)) } }
            if let error { throw CallError(.pluginError, function: qualifiedName, error) }
            if buf.data == nil && buf.len > 0 {
                throw CallError(.badReturn, function: qualifiedName, "returned a buffer with NULL data and length \(buf.len)")
            }
            guard buf.len <= plugin.maxResultBytes else {
                throw CallError(
                    .resultTooBig, function: qualifiedName,
                    "returned a buffer of \(buf.len) bytes, over the limit of \(plugin.maxResultBytes) bytes")
            }
            result = .buffer(buf.len == 0 ? [] : Array(UnsafeBufferPointer(start: buf.data, count: buf.len)))
        }
        if let error { throw CallError(.pluginError, function: qualifiedName, error) }
        return result
    }

    private func release(_ pointer: UnsafeMutableRawPointer) {
        switch ownership {
        case .plugin: break
        case .hostAllocated: Foundation.free(pointer)
        case .pluginAllocated: plugin.freeValue?(pointer)
        }
    }

    /// Marshals `arguments` once for repeated calls (see ``PreparedCall``).
    public func prepare(_ arguments: [Value]) throws -> PreparedCall {
        if constrained && arguments.count == parameters.count { try checkDeclared(arguments) }
        return try PreparedCall(function: self, arguments: arguments, slotCount: max(cArgumentCount, 1))
    }

    /// Checks arguments against the parameters' declared ranges and allowed values.
    func checkDeclared(_ arguments: [Value]) throws {
        for (p, v) in zip(parameters, arguments) where p.hasConstraints { try p.check(v, function: qualifiedName) }
    }
}
