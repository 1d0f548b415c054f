import Foundation
import Synchronization
import XCTest

@testable import PlugHostMCP

/// The server's threads for blocking work.
final class CallPoolTests: XCTestCase {
    /// Blocked jobs do not wait for each other: 16 jobs of 200 ms end together.
    func testCallPoolRunsBlockedJobsAtOnce() {
        let pool = CallPool(limit: 64, keepAlive: .milliseconds(200))
        let done = DispatchGroup()
        let start = ContinuousClock.now
        for _ in 0..<16 {
            done.enter()
            pool.run {
                Thread.sleep(forTimeInterval: 0.2)
                done.leave()
            }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        let elapsed = ContinuousClock.now - start
        XCTAssertLessThan(elapsed, .milliseconds(800), "16 jobs of 200 ms took \(elapsed)")
        // Idle threads retire, and the pool still runs jobs afterwards.
        Thread.sleep(forTimeInterval: 0.5)
        let again = DispatchGroup()
        for _ in 0..<4 {
            again.enter()
            pool.run { again.leave() }
        }
        XCTAssertEqual(again.wait(timeout: .now() + 10), .success)
    }

    /// Up to `limit` jobs run at once; the others wait for a thread.
    func testCallPoolLimit() {
        final class Running: Sendable {
            let count = Mutex<(now: Int, most: Int)>((0, 0))
        }
        let pool = CallPool(limit: 2)
        let running = Running()
        let done = DispatchGroup()
        for _ in 0..<6 {
            done.enter()
            pool.run {
                running.count.withLock {
                    $0.now += 1
                    $0.most = max($0.most, $0.now)
                }
                Thread.sleep(forTimeInterval: 0.05)
                running.count.withLock { $0.now -= 1 }
                done.leave()
            }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(running.count.withLock { $0.most }, 2)
    }
}
