import Dispatch
import Foundation
import Synchronization
import XCTest

import PlugHostTestSupport
@testable import PlugHost
@testable import PlugHostCore
@testable import PlugHostMemory
@testable import PlugHostSQLite
@testable import PlugHostPostgres
@testable import PlugHostPipeline
@testable import PlugHostTools

// Issue 12: The two open points of the memory model.

final class MemoryModelOpenPointTests: XCTestCase {
    /// The ends of a self-dependency do not join the concept set; the ends of any other
    /// dependency do, whether or not they are among `concepts`.
    func testSelfDependencyEndsDoNotJoinTheConceptSet() throws {
        try forEachKind(self) { kind in
            let store = try TestStore.fresh(kind, for: self)
            let s = try store.service(optimized: true)
            _ = try s.write(
                MemoryWrite(
                    goal: "g", plugin: "p", id: "self", content: "", concepts: ["x"],
                    dependsOn: [Dependency("a", "a"), Dependency(" A ", "a")]))
            _ = try s.write(
                MemoryWrite(goal: "g", plugin: "p", id: "ends", content: "", concepts: ["m"], dependsOn: [Dependency("B", "c")]))
            let selfDep = try XCTUnwrap(try s.memory(id: "self"))
            XCTAssertEqual(selfDep.concepts, ["x"], "\(kind)")
            XCTAssertEqual(selfDep.dependsOn, [], "\(kind)")
            let ends = try XCTUnwrap(try s.memory(id: "ends"))
            XCTAssertEqual(ends.concepts, ["b", "c", "m"], "\(kind)")
            XCTAssertEqual(ends.dependsOn, [Dependency("b", "c")], "\(kind)")
            try s.flush()
            XCTAssertEqual(
                engineCountsText(try s.engine.conceptGraph(goal: "g")),
                """
                c b 1
                c c 1
                c m 1
                c x 1
                e b|c 1 1
                e b|m 1 0
                e c|m 1 0
                """, "\(kind)")
            XCTAssertEqual(try s.clusters(goal: "g").first?.clusters.map(\.concepts), [["b", "c"], ["m"], ["x"]], "\(kind)")
            XCTAssertEqual(try s.recall(goal: "g", .concept("a")).count, 0, "\(kind)")
            // The ends of a self-dependency are still validated.
            XCTAssertThrowsError(
                try s.write(MemoryWrite(goal: "g", plugin: "p", content: "", concepts: ["x"], dependsOn: [Dependency(" ", " ")]))
            ) { e in
                XCTAssertTrue("\(e)".contains("depends_on[0].from \" \" is empty after normalisation"), "\(e)")
            }
            XCTAssertEqual(
                Oracle.conceptSet(MemoryWrite(goal: "g", plugin: "p", content: "", concepts: ["x"], dependsOn: [Dependency("a", "a")])).0,
                ["x"],
                "the oracle, written from the model, agrees")
            try store.finish(s)
        }
    }

    private func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }

    /// Lower-casing is per character, without context (no final sigma) and without language
    /// rules; the Unicode data is the Swift runtime's (17.0 for lower-casing with Swift 6.3;
    /// NFC without the compositions new in 16.0).
    func testLowerCasingIgnoresContextAndTheUnicodeVersionIsPinned() throws {
        XCTAssertEqual(scalars(ConceptKey.normalize("ΟΔΟΣ")), [0x3BF, 0x3B4, 0x3BF, 0x3C3], "σ, not the final ς")
        XCTAssertEqual(ConceptKey.normalize("ΟΔΟΣ"), "οδοσ")
        XCTAssertNotEqual(ConceptKey.normalize("ΟΔΟΣ"), ConceptKey.normalize("οδος"), "two different keys")
        XCTAssertEqual(scalars(ConceptKey.normalize("ΛΟΓΟΣ ΚΑΙ")), scalars("λογοσ και"))
        XCTAssertEqual(scalars(ConceptKey.normalize("İ")), [0x69, 0x307], "no Turkish rule; full mapping")
        XCTAssertEqual(ConceptKey.normalize("Iı"), "iı", "dotless ı stays")
        XCTAssertEqual(ConceptKey.normalize("STRASSE Straße"), "strasse straße", "lower-casing, not case folding")
        // Unicode versions: lower-casing knows Unicode 17.0 (U+A7CE LATIN CAPITAL LETTER PHARYNGEAL
        // VOICED FRICATIVE, new in 17.0) …
        XCTAssertEqual(scalars(ConceptKey.normalize("\u{A7CE}")), [0xA7CF])
        XCTAssertEqual(Unicode.Scalar(0xA7CE)!.properties.age.map { "\($0.major).\($0.minor)" }, "17.0")
        // … NFC composes what Unicode 13.0 added (DIVES AKURU VOWEL SIGN O) but not what 16.0 added
        // (KIRAT RAI VOWEL SIGN AI = U+16D67 U+16D67).
        XCTAssertEqual(scalars(ConceptKey.normalize("\u{11935}\u{11930}")), [0x11938])
        XCTAssertEqual(scalars(ConceptKey.normalize("\u{16D67}\u{16D67}")), [0x16D67, 0x16D67])
        XCTAssertEqual(scalars(ConceptKey.normalize("\u{16D68}")), [0x16D68])
        // Through the write path: the key is what recall finds.
        let s = try makeMemoryService(optimized: true, clock: ManualClock())
        _ = try s.write(MemoryWrite(goal: "g", plugin: "p", id: "o", content: "", concepts: ["ΟΔΟΣ"]))
        XCTAssertEqual(try s.recall(goal: "g", .concept("οδοσ")).map(\.memory.id), ["o"])
        XCTAssertEqual(try s.recall(goal: "g", .concept("οδος")).map(\.memory.id), [], "the final sigma is another key")
    }
}
