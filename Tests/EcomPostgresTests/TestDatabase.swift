import EcomPostgres
import EcomTestSupport
import Foundation
import Synchronization
import Testing

enum TestDatabase {
    static let isAvailable = ThrowawayDatabase.isAvailable
    static let skipReason = Comment(rawValue: ThrowawayDatabase.skipReason)

    /// Runs `body` with a pool on a fresh, randomly named database, which is dropped afterwards.
    static func withPool<T>(size: Int = 4, _ body: (_ pool: PostgresPool, _ url: String) async throws -> T) async throws -> T {
        try await ThrowawayDatabase.withDatabase { url in try await withPool(url: url, size: size) { try await body($0, url) } }
    }

    /// Runs `body` with a pool on `url`, shut down afterwards.
    @discardableResult
    static func withPool<T>(url: String, size: Int, schema: String? = nil, _ body: (PostgresPool) async throws -> T) async throws -> T {
        try await ThrowawayDatabase.withPool(url: url, size: size, schema: schema, body)
    }
}

/// A count shared with `@Sendable` bodies running on the pool's threads.
final class Counter: Sendable {
    private let count = Mutex(0)

    var value: Int { count.withLock { $0 } }

    func increment() {
        count.withLock { $0 += 1 }
    }

    /// Keeps the largest value recorded.
    func recordMaximum(_ value: Int) {
        count.withLock { $0 = max($0, value) }
    }
}

struct ExpectedFailure: Error {}
