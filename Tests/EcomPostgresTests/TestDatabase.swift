import EcomPostgres
import Foundation
import Logging
import Synchronization
import Testing

enum TestDatabase {
    static let serverURL = ProcessInfo.processInfo.environment["ECOM_TEST_DATABASE_URL"]
    static let isAvailable = serverURL != nil
    static let skipReason: Comment = "set ECOM_TEST_DATABASE_URL to run PostgreSQL tests"

    /// Runs `body` with a pool on a fresh, randomly named database, which is dropped afterwards.
    static func withPool<T>(size: Int = 4, _ body: (_ pool: PostgresPool, _ url: String) async throws -> T) async throws -> T {
        let serverURL = try #require(serverURL)
        let name = "ecom_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try await createDatabaseIfNeeded(serverURL: serverURL, name: name)
        let url = postgresURL(serverURL, replacingDatabaseWith: name)
        let result = await Result(catching: { try await withPool(url: url, size: size) { try await body($0, url) } })
        try await withPool(url: serverURL, size: 1) { admin in
            try await admin.execute("DROP DATABASE IF EXISTS \"\(unescaped: name)\" WITH (FORCE)")
        }
        return try result.get()
    }

    /// Runs `body` with a pool on `url`, shut down afterwards.
    @discardableResult
    static func withPool<T>(url: String, size: Int, schema: String? = nil, _ body: (PostgresPool) async throws -> T) async throws -> T {
        let pool = PostgresPool(url: url, size: size, schema: schema, logger: Logger(label: "test"))
        let result = await Result(catching: { try await body(pool) })
        await pool.shutdown()
        return try result.get()
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

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
