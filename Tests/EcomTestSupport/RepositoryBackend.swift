import Foundation

/// Where a repository's contract test runs: on the in-memory repository the route tests use, and
/// on PostgreSQL when a test database is set, so the two are held to the same answers.
package enum RepositoryBackend: String, Sendable, CustomStringConvertible {
    case memory, postgres

    /// The in-memory repository always; PostgreSQL too with `ECOM_TEST_DATABASE_URL` set.
    package static let available: [Self] =
        ProcessInfo.processInfo.environment["ECOM_TEST_DATABASE_URL"] == nil ? [.memory] : [.memory, .postgres]

    package var description: String { rawValue }
}
