import Logging

/// One schema change, applied at most once per database (or per schema) and recorded in `schema_migrations`.
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

/// The `pg_advisory_lock` key that serializes migration runs on one database ("ecom" in ASCII). A pool with a
/// schema takes the two-key lock (this key, the schema's), so services sharing a database do not wait on one another.
private let migrationLockKey = 0x6563_6F6D

/// Applies the migrations not yet recorded in `schema_migrations`, in version order, each in its own
/// transaction. A session advisory lock is held throughout, so a concurrent starter waits and then
/// finds nothing left to do.
///
/// With a pool that has a schema, everything happens in that schema: it is created if missing, holds its
/// own `schema_migrations`, and, the first time, takes over the tables an earlier release left in `public`
/// for it (`adoptReleaseTables`).
package func migrate(_ pool: PostgresPool, migrations: [Migration], logger: Logger) async throws {
    let schema = pool.schema
    try await pool.withConnection { connection in
        let keys = migrationLockKeys(schema: schema)
        try connection.execute("SELECT pg_advisory_lock(\(keys))")
        // Each transaction below ends (committed or rolled back) before this runs.
        defer { _ = try? connection.execute("SELECT pg_advisory_unlock(\(keys))") }

        if let schema {
            try adoptReleaseTables(into: schema, knownVersions: migrations.map(\.version), on: connection, logger: logger)
            try connection.execute("CREATE SCHEMA IF NOT EXISTS \(unescaped: quotedIdentifier(schema))")
        }
        let history = migrationHistoryTable(in: schema)
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS \(unescaped: history) (
                version int PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let applied = try Set(connection.query("SELECT version FROM \(unescaped: history)").map { try $0.decode("version", as: Int.self) })
        for migration in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) {
            try connection.transaction(isolation: .readCommitted) {
                try connection.executeScript(migration.sql)
                try connection.execute(
                    "INSERT INTO \(unescaped: history) (version, name) VALUES (\(migration.version), \(migration.name))"
                )
            }
            logger.info("Applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
    }
}

/// Whether every one of `migrations` is recorded as applied (in the pool's schema, if it has one); false if
/// the database cannot be asked.
package func migrationsApplied(_ pool: PostgresPool, migrations: [Migration]) async -> Bool {
    guard let rows = try? await pool.query("SELECT version FROM \(unescaped: migrationHistoryTable(in: pool.schema))") else { return false }
    let applied = Set(rows.compactMap { try? $0.decode("version", as: Int.self) })
    return migrations.allSatisfy { applied.contains($0.version) }
}

/// Qualified with the schema, so a `public.schema_migrations` an earlier release left is never read instead.
private func migrationHistoryTable(in schema: String?) -> String {
    schema.map { quotedIdentifier($0) + ".schema_migrations" } ?? "schema_migrations"
}

/// The arguments of the `pg_advisory_lock` a migration run on `schema` holds.
package func migrationLockKeys(schema: String?) -> SQLQuery {
    schema.map { "\(migrationLockKey), \(advisoryKey(of: $0))" } ?? "\(migrationLockKey)"
}

/// The second advisory lock key of `schema`: its FNV-1a hash, stable across runs and releases, unlike `Hasher`.
private func advisoryKey(of schema: String) -> Int {
    Int(Int32(bitPattern: schema.utf8.reduce(0x811C_9DC5 as UInt32) { ($0 ^ UInt32($1)) &* 0x0100_0193 }))
}
