import Logging

/// One schema change, applied at most once per database and recorded in `schema_migrations`.
package struct Migration: Sendable {
    package var version: Int
    package var name: String
    /// One or more statements, run in one transaction (so nothing like `CREATE INDEX CONCURRENTLY`).
    package var sql: String

    package init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// The `pg_advisory_lock` key that serializes migration runs on one database ("ecom" in ASCII).
private let migrationLockKey = 0x6563_6F6D

/// Applies the migrations not yet recorded in `schema_migrations`, in version order, each in its own
/// transaction. A session advisory lock is held throughout, so a concurrent starter waits and then
/// finds nothing left to do.
package func migrate(_ pool: PostgresPool, migrations: [Migration], logger: Logger) async throws {
    try await pool.withConnection { connection in
        try connection.execute("SELECT pg_advisory_lock($1)", [migrationLockKey])
        // Each transaction below ends (committed or rolled back) before this runs.
        defer { _ = try? connection.execute("SELECT pg_advisory_unlock($1)", [migrationLockKey]) }

        try connection.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version int PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let applied = try Set(connection.query("SELECT version FROM schema_migrations").map { try $0.decode("version", as: Int.self) })
        for migration in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) {
            try connection.transaction(isolation: .readCommitted) {
                try connection.executeScript(migration.sql)
                try connection.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [migration.version, migration.name]
                )
            }
            logger.info("Applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
    }
}

/// Whether every one of `migrations` is recorded as applied; false if the database cannot be asked.
package func migrationsApplied(_ pool: PostgresPool, migrations: [Migration]) async -> Bool {
    guard let rows = try? await pool.query("SELECT version FROM schema_migrations") else { return false }
    let applied = Set(rows.compactMap { try? $0.decode("version", as: Int.self) })
    return migrations.allSatisfy { applied.contains($0.version) }
}
