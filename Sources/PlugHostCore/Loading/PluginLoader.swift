import CPlugHostABI
import CPlugHostRuntime
import Foundation
import Synchronization

/// Opens plugin shared objects and checks them against the ABI before anything of theirs runs
/// beyond the entry point.
public enum PluginLoader {
    /// Loads are serialised: `dlerror` and the init log are process-wide.
    private static let lock = Mutex<Void>(())

    /// Opens the plugin at `path`, validates its descriptor, prepares every function's libffi
    /// call interface and runs its `init`.
    ///
    /// - Parameters:
    ///   - path: The shared object's path.
    ///   - alias: The name to know the plugin by; the descriptor's name when nil.
    ///   - services: Where the plugin's memory and context calls go.
    ///   - maxResultBytes: The biggest string or buffer a function may return.
    public static func load(
        path: String, as alias: String? = nil, services: any HostServices, maxResultBytes: Int = PluginLimits.default.maxResultBytes
    ) throws -> LoadedPlugin {
        try lock.withLock { (_) throws -> LoadedPlugin in
            try loadLocked(path: path, alias: alias, services: services, maxResultBytes: maxResultBytes)
        }
    }

    private static func loadLocked(path: String, alias: String?, services: any HostServices, maxResultBytes: Int) throws -> LoadedPlugin {
        func fail(_ code: LoadError.Code, _ message: String) -> LoadError { LoadError(code, path: path, message) }

        try PluginFile.check(path)
        ph_rt_install_fork_guard()

        _ = dlerror()
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            // PluginFile.check has already refused files that are not ELF.
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            throw fail(.openFailed, "dlopen failed: \(reason)")
        }
        // From here on a failure leaves the library mapped only if its init ran (see below).
        var keepMapped = false
        defer { if !keepMapped { dlclose(handle) } }

        _ = dlerror()
        guard let symbol = dlsym(handle, PLUGHOST_ENTRY_NAME) else {
            let reason = dlerror().map { String(cString: $0) } ?? "symbol not found"
            throw fail(.noEntryPoint, "does not export \(PLUGHOST_ENTRY_NAME) (dlsym: \(reason))")
        }
        let entry = unsafeBitCast(symbol, to: (@convention(c) () -> UnsafePointer<ph_plugin>?).self)
        guard let descriptorPointer = entry() else {
            throw fail(.entryReturnedNull, "\(PLUGHOST_ENTRY_NAME) returned NULL")
        }
        let sizeField = UnsafeRawPointer(descriptorPointer).load(as: UInt32.self)
        guard sizeField >= MemoryLayout<ph_plugin>.size else {
            throw fail(
                .descriptorTooSmall,
                "descriptor struct_size is \(sizeField), smaller than ph_plugin of ABI \(PLUGHOST_ABI_MAJOR).0 (\(MemoryLayout<ph_plugin>.size) bytes)"
            )
        }
        let d = descriptorPointer.pointee
        guard d.abi_major == UInt32(PLUGHOST_ABI_MAJOR) else {
            throw fail(
                .abiMajorMismatch,
                "built for plugin ABI \(d.abi_major).\(d.abi_minor), but this host speaks ABI \(PLUGHOST_ABI_MAJOR).\(PLUGHOST_ABI_MINOR); rebuild it against this host's plughost.h"
            )
        }
        guard d.min_host_abi_minor <= UInt32(PLUGHOST_ABI_MINOR) else {
            throw fail(
                .needsNewerHost,
                "needs a host with ABI \(PLUGHOST_ABI_MAJOR).\(d.min_host_abi_minor) or newer; this host is \(PLUGHOST_ABI_MAJOR).\(PLUGHOST_ABI_MINOR)"
            )
        }

        let name = try requiredString(d.name, field: "name", path: path)
        guard isValidPluginName(name) else {
            throw fail(.invalidDescriptor, "plugin name \(name.debugDescription) is not allowed: use letters, digits, '_' and '-'")
        }
        let version = try requiredString(d.version, field: "version", path: path)
        let description = try optionalString(d.description, field: "description", path: path) ?? ""
        guard d.function_count <= UInt32(PH_MAX_FUNCTIONS) else {
            throw fail(.invalidDescriptor, "function_count \(d.function_count) is over PH_MAX_FUNCTIONS (\(PH_MAX_FUNCTIONS))")
        }
        guard d.function_count == 0 || d.functions != nil else {
            throw fail(.invalidDescriptor, "functions is NULL but function_count is \(d.function_count)")
        }

        let plugin = LoadedPlugin(
            name: alias ?? name, descriptorName: name, version: version, description: description, path: path,
            abiMajor: d.abi_major, abiMinor: d.abi_minor, services: services,
            freeValue: d.free_value, shutdown: d.shutdown, maxResultBytes: maxResultBytes)
        var functions: [PluginFunction] = []
        var seen = Set<String>()
        for index in 0..<Int(d.function_count) {
            let f = try validateFunction(d.functions![index], index: index, plugin: plugin, hasFreeValue: d.free_value != nil)
            guard seen.insert(f.name).inserted else {
                throw fail(.invalidFunction, "function \(index) repeats the name \(f.name.debugDescription)")
            }
            functions.append(f)
        }
        plugin.setFunctions(functions)

        if let initHook = d.`init` {
            _ = HostAPITable.initLog.drain()
            // What init logs (with a NULL context) is tagged with the plugin's name.
            let accepted = LogContext.with(["plugin": .string(alias ?? name)]) { initHook(HostAPITable.pointer) }
            let said = HostAPITable.initLog.drain()
            if !accepted {
                let detail = said.last(where: { $0.0 >= .warn }) ?? said.last
                // The plugin may have started threads or registered callbacks: keep it mapped.
                keepMapped = true
                throw fail(.initFailed, "init returned false" + (detail.map { ": \($0.1)" } ?? " (it logged nothing)"))
            }
        }
        keepMapped = true
        return plugin
    }

    private static func validateFunction(
        _ pointer: UnsafePointer<ph_function>?, index: Int, plugin: LoadedPlugin, hasFreeValue: Bool
    ) throws -> PluginFunction {
        let path = plugin.path
        func fail(_ message: String) -> LoadError { LoadError(.invalidFunction, path: path, message) }
        guard let pointer else { throw fail("functions[\(index)] is NULL") }
        // ABI minor 0's ph_function ends where minor 1's `params` begins.
        let minor0Size = MemoryLayout<ph_function>.offset(of: \ph_function.params)!
        // Read struct_size alone: a minor-0 ph_function is smaller than this host's, and reading
        // the whole struct would read past its end.
        let structSize = Int(UnsafeRawPointer(pointer).load(as: UInt32.self))
        guard structSize >= minor0Size else {
            throw fail("functions[\(index)] has struct_size \(structSize), smaller than ph_function (\(minor0Size))")
        }
        let hasMinor1 = structSize >= MemoryLayout<ph_function>.size
        // Copy what the plugin declared into a zeroed ph_function: fields it does not have read as 0.
        var f = ph_function()
        withUnsafeMutableBytes(of: &f) { local in
            local.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: min(structSize, local.count)))
        }
        guard let rawName = f.name else { throw fail("functions[\(index)] has a NULL name") }
        guard let name = String(validatingCString: rawName) else { throw fail("functions[\(index)]'s name is not valid UTF-8") }
        guard isIdentifier(name) else {
            throw fail("function name \(name.debugDescription) is not an identifier (letters, digits, '_', not starting with a digit)")
        }
        let label = "function \(name)"
        let doc: String
        if let rawDoc = f.doc {
            guard let s = String(validatingCString: rawDoc) else { throw fail("\(label): doc is not valid UTF-8") }
            doc = s
        } else {
            doc = ""
        }
        guard let fn = f.fn else { throw fail("\(label): function pointer is NULL") }
        guard let returnType = ValueType(rawValue: f.return_type) else {
            throw fail("\(label): unknown return type code \(f.return_type)")
        }
        guard f.param_count <= UInt32(PH_MAX_PARAMS) else {
            throw fail("\(label): \(f.param_count) parameters, over PH_MAX_PARAMS (\(PH_MAX_PARAMS))")
        }
        let unknownFlags = f.flags & ~UInt32(PH_FN_KNOWN_FLAGS)
        guard unknownFlags == 0 else {
            throw fail(
                "\(label): unknown flag bits 0x\(String(unknownFlags, radix: 16)) (this host knows 0x\(String(PH_FN_KNOWN_FLAGS, radix: 16)))"
            )
        }
        let hostAlloc = f.flags & UInt32(PH_FN_RETURNS_HOST_ALLOC) != 0
        let pluginAlloc = f.flags & UInt32(PH_FN_RETURNS_PLUGIN_ALLOC) != 0
        guard !(hostAlloc && pluginAlloc) else {
            throw fail("\(label): both PH_FN_RETURNS_HOST_ALLOC and PH_FN_RETURNS_PLUGIN_ALLOC are set")
        }
        guard !pluginAlloc || hasFreeValue else {
            throw fail("\(label): PH_FN_RETURNS_PLUGIN_ALLOC is set but the descriptor's free_value is NULL")
        }
        var parameters: [Parameter] = []
        if f.param_count > 0 {
            guard let types = f.param_types else { throw fail("\(label): param_types is NULL but param_count is \(f.param_count)") }
            guard let names = f.param_names else { throw fail("\(label): param_names is NULL but param_count is \(f.param_count)") }
            var seen = Set<String>()
            for i in 0..<Int(f.param_count) {
                guard let type = ValueType(rawValue: types[i]) else {
                    throw fail("\(label): parameter \(i + 1) has unknown type code \(types[i])")
                }
                guard type != .void else { throw fail("\(label): parameter \(i + 1) is declared void") }
                guard let rawParam = names[i], let pname = String(validatingCString: rawParam), isIdentifier(pname) else {
                    throw fail("\(label): parameter \(i + 1)'s name is NULL, not UTF-8 or not an identifier")
                }
                guard seen.insert(pname).inserted else { throw fail("\(label): parameter name \(pname) is used twice") }
                let info = hasMinor1 ? f.params?[i] : nil
                parameters.append(try ParameterInfo.read(info, name: pname, type: type, label: label, fail: fail))
            }
            if let firstOptional = parameters.firstIndex(where: \.isOptional),
                let required = parameters[firstOptional...].first(where: { !$0.isOptional })
            {
                throw fail("\(label): required parameter \(required.name) follows optional \(parameters[firstOptional].name)")
            }
        }
        var resultDoc = ""
        var resultSchema: String?
        if hasMinor1 {
            if let p = f.result_doc {
                guard let s = String(validatingCString: p) else { throw fail("\(label): result_doc is not valid UTF-8") }
                resultDoc = s
            }
            if let p = f.result_schema_json {
                guard returnType == .string else { throw fail("\(label): result_schema_json is set but the result is not a string") }
                guard let s = String(validatingCString: p), case .object? = try? JSONReader.parse(s) else {
                    throw fail("\(label): result_schema_json is not a JSON object")
                }
                resultSchema = s
            }
        }
        return try PluginFunction(
            plugin: plugin, index: index, name: name, doc: doc, parameters: parameters, returnType: returnType,
            flags: f.flags, fn: fn, resultDoc: resultDoc, resultSchema: resultSchema)
    }

    private static func requiredString(_ p: UnsafePointer<CChar>?, field: String, path: String) throws -> String {
        guard let p else { throw LoadError(.invalidDescriptor, path: path, "descriptor \(field) is NULL") }
        guard let s = String(validatingCString: p) else {
            throw LoadError(.invalidDescriptor, path: path, "descriptor \(field) is not valid UTF-8")
        }
        guard !s.isEmpty else { throw LoadError(.invalidDescriptor, path: path, "descriptor \(field) is empty") }
        return s
    }

    private static func optionalString(_ p: UnsafePointer<CChar>?, field: String, path: String) throws -> String? {
        guard let p else { return nil }
        guard let s = String(validatingCString: p) else {
            throw LoadError(.invalidDescriptor, path: path, "descriptor \(field) is not valid UTF-8")
        }
        return s
    }

    package static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, !(48...57).contains(first) else { return false }
        return s.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
    }

    package static func isValidPluginName(_ s: String) -> Bool {
        !s.isEmpty
            && s.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 45 }
    }
}
