import XCTest
import PlugHostCore
import PlugHostMemory

/// An engine's one-memory-per-content rule among host-assigned ids, checked through two engine
/// objects (two processes or hosts; the same object for the in-memory engine): the second of
/// two equal memories with host-assigned ids is refused as ``DuplicateContentError`` and stores
/// nothing; with a caller id it is stored, and both are found by content.
package func assertOneHostAssignedMemoryPerContent(
    _ first: any MemoryEngine, _ second: any MemoryEngine, metadata: (String?, String?) = (nil, nil),
    file: StaticString = #filePath, line: UInt = #line
) throws {
    let m = Memory(
        id: "m1", goal: "g", plugin: "p", content: "x", concepts: ["a"], dependsOn: [], metadata: metadata.0, createdAt: 1, expiresAt: nil)
    var m2 = m
    m2.id = "m2"
    m2.metadata = metadata.1
    let batch = { (x: Memory, host: Bool) in
        EngineBatch(goal: "g", inserts: [x], concepts: [ConceptDelta(concept: "a", delta: 1)], hostAssigned: [host])
    }
    _ = try first.apply([batch(m, true)])
    XCTAssertThrowsError(try second.apply([batch(m2, true)]), file: file, line: line) {
        XCTAssertTrue($0 is DuplicateContentError, "\($0)", file: file, line: line)
    }
    XCTAssertNil(try first.memory(id: "m2"), file: file, line: line)
    XCTAssertEqual(try first.conceptGraph(goal: "g").concepts, ["a": 1], file: file, line: line)
    _ = try second.apply([batch(m2, false)])  // a caller id: allowed
    XCTAssertEqual(try first.memoriesWithSameContent(as: [m2]).map { $0.map(\.id) }, [["m1", "m2"]], file: file, line: line)
}
