/// The memory vocabulary on a worker channel (host API requests and their replies).
extension WireWriter {
    package mutating func memoryWrite(_ w: MemoryWrite) {
        string(w.goal)
        string(w.plugin)
        optionalString(w.id)
        string(w.content)
        strings(w.concepts)
        dependencies(w.dependsOn)
        optionalString(w.metadata)
        bool(w.ttlMilliseconds != nil)
        i64(w.ttlMilliseconds ?? 0)
    }

    package mutating func dependencies(_ list: [Dependency]) {
        u32(UInt32(list.count))
        for d in list {
            string(d.from)
            string(d.to)
        }
    }

    package mutating func recalled(_ r: RecalledMemory) {
        let m = r.memory
        string(m.id)
        string(m.goal)
        string(m.plugin)
        string(m.content)
        strings(m.concepts)
        dependencies(m.dependsOn)
        optionalString(m.metadata)
        double(m.createdAt)
        bool(m.expiresAt != nil)
        double(m.expiresAt ?? 0)
        double(r.score)
    }

    package mutating func recallQuery(_ q: RecallQuery) {
        switch q {
        case .concept(let c):
            u8(0)
            string(c)
        case .text(let t):
            u8(1)
            string(t)
        case .plugin(let p):
            u8(2)
            string(p)
        case .related(let c):
            u8(3)
            string(c)
        }
    }

    package mutating func memoryLimits(_ l: MemoryLimits) {
        for v in [
            l.maxConcepts, l.maxDependencies, l.maxKeyBytes, l.maxContentBytes, l.maxIdBytes, l.maxMetadataBytes, l.maxContextValueBytes,
        ] {
            int(v)
        }
    }
}

extension WireReader {
    package mutating func memoryWrite() throws -> MemoryWrite {
        let goal = try string(), plugin = try string(), id = try optionalString(), content = try string()
        let concepts = try strings(), deps = try dependencies(), metadata = try optionalString()
        let hasTTL = try bool(), ttl = try i64()
        return MemoryWrite(
            goal: goal, plugin: plugin, id: id, content: content, concepts: concepts, dependsOn: deps, metadata: metadata,
            ttlMilliseconds: hasTTL ? ttl : nil)
    }

    package mutating func dependencies() throws -> [Dependency] {
        let n = Int(try u32())
        guard n <= 1 << 20 else { throw WireError("\(n) dependencies") }
        var list: [Dependency] = []
        for _ in 0..<n { list.append(Dependency(try string(), try string())) }
        return list
    }

    package mutating func recalled() throws -> RecalledMemory {
        let id = try string(), goal = try string(), plugin = try string(), content = try string()
        let concepts = try strings(), deps = try dependencies(), metadata = try optionalString()
        let createdAt = try double(), hasExpiry = try bool(), expiresAt = try double(), score = try double()
        let memory = Memory(
            id: id, goal: goal, plugin: plugin, content: content, concepts: concepts, dependsOn: deps, metadata: metadata,
            createdAt: createdAt, expiresAt: hasExpiry ? expiresAt : nil)
        return RecalledMemory(memory: memory, score: score)
    }

    package mutating func recallQuery() throws -> RecallQuery {
        switch try u8() {
        case 0: return .concept(try string())
        case 1: return .text(try string())
        case 2: return .plugin(try string())
        case 3: return .related(try string())
        case let tag: throw WireError("unknown recall query tag \(tag)")
        }
    }

    package mutating func memoryLimits() throws -> MemoryLimits {
        var l = MemoryLimits()
        l.maxConcepts = try int()
        l.maxDependencies = try int()
        l.maxKeyBytes = try int()
        l.maxContentBytes = try int()
        l.maxIdBytes = try int()
        l.maxMetadataBytes = try int()
        l.maxContextValueBytes = try int()
        return l
    }
}
