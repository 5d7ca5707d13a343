import EcomPostgres
import Foundation
import Logging

/// Databases of their own for tests, on the shared test server (`ECOM_TEST_DATABASE_URL`), each
/// with a fresh random name and dropped afterwards, whatever the test did.
package enum ThrowawayDatabase {
    package static let serverURL = ProcessInfo.processInfo.environment["ECOM_TEST_DATABASE_URL"]
    package static let isAvailable = serverURL != nil
    package static let skipReason = "set ECOM_TEST_DATABASE_URL to run PostgreSQL tests"

    /// Runs `body` with the URL of a new database named `prefix` and random hex digits.
    package static func withDatabase<T>(prefix: String = "ecom_test", _ body: (_ url: String) async throws -> T) async throws -> T {
        guard let serverURL else { throw TestDatabaseUnavailable() }
        let name = prefix + "_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try await createDatabaseIfNeeded(serverURL: serverURL, name: name)
        let result = await Result { try await body(postgresURL(serverURL, replacingDatabaseWith: name)) }
        try await withPool(url: serverURL, size: 1) { admin in
            // A name is an identifier, spelled into the statement, never a parameter to bind.
            try await admin.execute("DROP DATABASE IF EXISTS \"\(unescaped: name)\" WITH (FORCE)")
        }
        return try result.get()
    }

    /// Runs `body` with a pool on a new database to which `migrations` have been applied.
    package static func withPool<T>(
        prefix: String = "ecom_test", size: Int, migrations: [Migration] = [], logger: Logger = Logger(label: "test"),
        _ body: (PostgresPool) async throws -> T
    ) async throws -> T {
        try await withDatabase(prefix: prefix) { url in
            try await withPool(url: url, size: size, logger: logger) { pool in
                if !migrations.isEmpty { try await migrate(pool, migrations: migrations, logger: logger) }
                return try await body(pool)
            }
        }
    }

    /// Runs `body` with a pool on `url`, shut down afterwards.
    @discardableResult
    package static func withPool<T>(
        url: String, size: Int, schema: String? = nil, logger: Logger = Logger(label: "test"), _ body: (PostgresPool) async throws -> T
    ) async throws -> T {
        let pool = PostgresPool(url: url, size: size, schema: schema, logger: logger)
        let result = await Result { try await body(pool) }
        await pool.shutdown()
        return try result.get()
    }
}

package struct TestDatabaseUnavailable: Error, CustomStringConvertible {
    package var description: String { "no test database: \(ThrowawayDatabase.skipReason)" }
}

extension Result where Failure == any Error {
    /// The outcome of `body`, kept so that clean-up runs before it is rethrown.
    package init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
