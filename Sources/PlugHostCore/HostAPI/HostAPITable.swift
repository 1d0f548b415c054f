import CPlugHostABI
import Foundation

/// The one `ph_host_api` table handed to every plugin. Every entry checks its pointers, never
/// traps on bad input from a plugin, and reports failures as a status plus the call's error.
enum HostAPITable {
    /// The table; static for the life of the process.
    nonisolated(unsafe) static let pointer: UnsafeMutablePointer<ph_host_api> = {
        let table = UnsafeMutablePointer<ph_host_api>.allocate(capacity: 1)
        table.initialize(
            to: ph_host_api(
                struct_size: UInt32(MemoryLayout<ph_host_api>.size),
                abi_major: UInt32(PLUGHOST_ABI_MAJOR),
                abi_minor: UInt32(PLUGHOST_ABI_MINOR),
                memory_write: { ctx, write, idOut, idCapacity in
                    HostAPITable.memoryWrite(ctx, write, idOut, idCapacity)
                },
                memory_recall: { ctx, query, fn, user in HostAPITable.recall(ctx, query, fn, user) },
                memory_forget: { ctx, id in HostAPITable.forget(ctx, id) },
                context_get: { ctx, key in HostAPITable.contextGet(ctx, key) },
                context_set: { ctx, key, value in HostAPITable.contextSet(ctx, key, value) },
                log: { ctx, level, message in HostAPITable.log(ctx, level, message) },
                set_error: { ctx, message in
                    guard let state = CallState.from(ctx) else { return }
                    state.pointee.error = message.map { String(cString: $0) } ?? "unknown error (set_error with a NULL message)"
                },
                alloc: { size in size == 0 ? nil : malloc(size) },
                free: { ptr in Foundation.free(ptr) }
            ))
        return table
    }()

    /// Messages logged with a NULL context while a plugin's `init` runs, kept so that a failing
    /// init can be reported with what it said.
    static let initLog = InitLog()

    // MARK: - Entries

    static func memoryWrite(
        _ ctx: UnsafePointer<ph_call_context>?, _ write: UnsafePointer<ph_memory_write>?,
        _ idOut: UnsafeMutablePointer<CChar>?, _ idCapacity: Int
    ) -> ph_status {
        guard let state = CallState.from(ctx) else { return PH_ERR_STATE }
        func fail(_ status: ph_status, _ message: String) -> ph_status {
            state.pointee.error = "memory_write: \(message)"
            return status
        }
        guard let write else { return fail(PH_ERR_INVALID, "write is NULL") }
        let w = write.pointee
        guard w.struct_size >= MemoryLayout<ph_memory_write>.size else {
            return fail(PH_ERR_INVALID, "struct_size \(w.struct_size) is smaller than ph_memory_write")
        }
        if idOut != nil && idCapacity < Int(PH_MEMORY_ID_CAPACITY) {
            return fail(PH_ERR_INVALID, "id buffer of \(idCapacity) bytes is smaller than PH_MEMORY_ID_CAPACITY")
        }
        do {
            guard let contentPtr = w.content else { return fail(PH_ERR_INVALID, "content is NULL") }
            let content = try CStrings.utf8(contentPtr, field: "content")
            var concepts: [String] = []
            if w.concept_count > 0 {
                guard let list = w.concepts else { return fail(PH_ERR_INVALID, "concepts is NULL but concept_count is \(w.concept_count)") }
                // Before the array is read; a `.limit` error is PH_ERR_INVALID below.
                try state.pointee.services.limits.check(concepts: w.concept_count)
                concepts.reserveCapacity(w.concept_count)
                for i in 0..<w.concept_count {
                    guard let c = list[i] else { return fail(PH_ERR_INVALID, "concepts[\(i)] is NULL") }
                    concepts.append(try CStrings.utf8(c, field: "concepts[\(i)]"))
                }
            }
            var deps: [Dependency] = []
            if w.depends_on_count > 0 {
                guard let list = w.depends_on else {
                    return fail(PH_ERR_INVALID, "depends_on is NULL but depends_on_count is \(w.depends_on_count)")
                }
                try state.pointee.services.limits.check(dependencies: w.depends_on_count)
                for i in 0..<w.depends_on_count {
                    guard let f = list[i].from, let t = list[i].to else { return fail(PH_ERR_INVALID, "depends_on[\(i)] has a NULL end") }
                    deps.append(
                        Dependency(try CStrings.utf8(f, field: "depends_on[\(i)].from"), try CStrings.utf8(t, field: "depends_on[\(i)].to"))
                    )
                }
            }
            let id = try w.id.map { try CStrings.utf8($0, field: "id") }
            let metadata = try w.metadata_json.map { try CStrings.utf8($0, field: "metadata_json") }
            let memoryWrite = MemoryWrite(
                goal: state.pointee.goal, plugin: state.pointee.plugin, id: id, content: content,
                concepts: concepts, dependsOn: deps, metadata: metadata,
                ttlMilliseconds: w.ttl_ms > 0 ? w.ttl_ms : nil)
            let assigned = try state.pointee.services.write(memoryWrite)
            if let idOut { CStrings.copy(assigned, into: idOut, capacity: idCapacity) }
            return PH_OK
        } catch let error as MemoryError {
            return fail(error.code == .storage ? PH_ERR_STORAGE : PH_ERR_INVALID, error.message)
        } catch {
            return fail(PH_ERR_STORAGE, "\(error)")
        }
    }

    static func recall(
        _ ctx: UnsafePointer<ph_call_context>?, _ query: UnsafePointer<ph_recall_query>?,
        _ fn: ph_recall_fn?, _ user: UnsafeMutableRawPointer?
    ) -> ph_status {
        guard let state = CallState.from(ctx) else { return PH_ERR_STATE }
        func fail(_ status: ph_status, _ message: String) -> ph_status {
            state.pointee.error = "memory_recall: \(message)"
            return status
        }
        guard let query, let fn else { return fail(PH_ERR_INVALID, "query or callback is NULL") }
        let q = query.pointee
        guard q.struct_size >= MemoryLayout<ph_recall_query>.size else {
            return fail(PH_ERR_INVALID, "struct_size \(q.struct_size) is smaller than ph_recall_query")
        }
        // `flags` was `reserved` (always 0) in ABI minor 0: a minor-0 query is a plain recall.
        let unknown = q.flags & ~UInt32(PH_RECALL_KNOWN_FLAGS)
        guard unknown == 0 else {
            return fail(
                PH_ERR_INVALID,
                "unknown flag bits 0x\(String(unknown, radix: 16)) in ph_recall_query.flags (known: PH_RECALL_RELATED = 0x\(String(PH_RECALL_RELATED, radix: 16)))"
            )
        }
        let related = q.flags & UInt32(PH_RECALL_RELATED) != 0
        do {
            let recallQuery: RecallQuery
            switch (q.concept, q.text) {
            case (let c?, nil):
                let concept = try CStrings.utf8(c, field: "concept")
                recallQuery = related ? .related(concept) : .concept(concept)
            case (nil, let t?):
                guard !related else { return fail(PH_ERR_INVALID, "PH_RECALL_RELATED needs a concept, not text") }
                recallQuery = .text(try CStrings.utf8(t, field: "text"))
            default: return fail(PH_ERR_INVALID, "exactly one of concept and text must be set")
            }
            let limit = q.limit == 0 ? 20 : Int(q.limit)
            let results = try state.pointee.services.recall(goal: state.pointee.goal, recallQuery, limit: limit)
            for result in results {
                let keepGoing = CStrings.withMemory(result) { fn(user, $0) }
                if !keepGoing { break }
            }
            return PH_OK
        } catch let error as MemoryError {
            return fail(error.code == .storage ? PH_ERR_STORAGE : PH_ERR_INVALID, error.message)
        } catch {
            return fail(PH_ERR_STORAGE, "\(error)")
        }
    }

    static func forget(_ ctx: UnsafePointer<ph_call_context>?, _ id: UnsafePointer<CChar>?) -> ph_status {
        guard let state = CallState.from(ctx) else { return PH_ERR_STATE }
        guard let id else {
            state.pointee.error = "memory_forget: id is NULL"
            return PH_ERR_INVALID
        }
        do {
            let found = try state.pointee.services.forget(goal: state.pointee.goal, id: try CStrings.utf8(id, field: "id"))
            return found ? PH_OK : PH_ERR_NOT_FOUND
        } catch {
            state.pointee.error = "memory_forget: \(error)"
            return PH_ERR_STORAGE
        }
    }

    static func contextGet(_ ctx: UnsafePointer<ph_call_context>?, _ key: UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>? {
        guard let state = CallState.from(ctx), let key else { return nil }
        do {
            let k = try CStrings.utf8(key, field: "key")
            guard let value = try state.pointee.services.contextValue(goal: state.pointee.goal, plugin: state.pointee.plugin, key: k) else {
                return nil
            }
            return strdup(value)
        } catch {
            state.pointee.error = "context_get: \(error)"
            return nil
        }
    }

    static func contextSet(
        _ ctx: UnsafePointer<ph_call_context>?, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?
    ) -> ph_status {
        guard let state = CallState.from(ctx) else { return PH_ERR_STATE }
        guard let key else {
            state.pointee.error = "context_set: key is NULL"
            return PH_ERR_INVALID
        }
        do {
            let k = try CStrings.utf8(key, field: "key")
            if let value {
                try state.pointee.services.limits.check(
                    contextValue: strnlen(value, state.pointee.services.limits.maxContextValueBytes + 1))
            }
            let v = try value.map { try CStrings.utf8($0, field: "value") }
            try state.pointee.services.setContextValue(goal: state.pointee.goal, plugin: state.pointee.plugin, key: k, value: v)
            return PH_OK
        } catch let error as MemoryError {
            state.pointee.error = "context_set: \(error.message)"
            return error.code == .storage ? PH_ERR_STORAGE : error.code == .forbidden ? PH_ERR_STATE : PH_ERR_INVALID
        } catch {
            state.pointee.error = "context_set: \(error)"
            return PH_ERR_STORAGE
        }
    }

    /// Below the log level a line costs a level check: the message is not read.
    static func log(_ ctx: UnsafePointer<ph_call_context>?, _ level: ph_log_level, _ message: UnsafePointer<CChar>?) {
        let lvl = LogLevel(rawValue: Int(level.rawValue)) ?? .info
        if ctx != nil {
            guard let state = CallState.from(ctx) else { return }
            guard HostLog.isEnabled(lvl) else { return }
            let text = message.map { String(cString: $0) } ?? "(NULL message)"
            HostLog.plugin(state.pointee.plugin, level: lvl.loggerLevel, text)
        } else {
            initLog.record(level: lvl, message: message.map { String(cString: $0) } ?? "(NULL message)")
        }
    }
}
