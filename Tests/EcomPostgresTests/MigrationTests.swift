import EcomPostgres
import Logging
import Testing

@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason))
struct MigrationTests {
    static let migrations = [
        Migration(version: 1, name: "create products", sql: """
            CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL);
            CREATE TABLE events (note text);
            """),
        Migration(version: 2, name: "seed", sql: """
            SELECT pg_sleep(0.2);
            INSERT INTO events VALUES ('seeded');
            """),
    ]

    @Test("Migrations apply once however often migrate runs")
    func idempotent() async throws {
        try await TestDatabase.withPool { pool, _ in
            #expect(await !migrationsApplied(pool, migrations: Self.migrations))
            try await migrate(pool, migrations: Self.migrations, logger: Logger(label: "test"))
            try await migrate(pool, migrations: Self.migrations, logger: Logger(label: "test"))

            #expect(try await pool.query("SELECT version FROM schema_migrations").count == 2)
            #expect(try await pool.query("SELECT * FROM events").count == 1)
            #expect(await migrationsApplied(pool, migrations: Self.migrations))
            let later = Self.migrations + [Migration(version: 3, name: "later", sql: "SELECT 1")]
            #expect(await !migrationsApplied(pool, migrations: later))
        }
    }

    @Test("Concurrent migrate calls from separate pools apply each migration exactly once")
    func concurrent() async throws {
        try await TestDatabase.withPool { pool, url in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await TestDatabase.withPool(url: url, size: 1) { pool in
                            try await migrate(pool, migrations: Self.migrations, logger: Logger(label: "test"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await pool.query("SELECT * FROM events").count == 1)
            #expect(try await pool.query("SELECT version FROM schema_migrations").count == 2)
        }
    }

    @Test("A failing migration is rolled back and not recorded", .timeLimit(.minutes(3)))
    func failingMigration() async throws {
        try await TestDatabase.withPool { pool, _ in
            let broken = Self.migrations + [Migration(version: 3, name: "broken", sql: """
                CREATE TABLE half_done (id int);
                SELECT 1/0;
                """)]
            await #expect(throws: PostgresError.self) {
                try await migrate(pool, migrations: broken, logger: Logger(label: "test"))
            }
            #expect(try await pool.query("SELECT version FROM schema_migrations").count == 2)
            #expect(try await pool.query("SELECT to_regclass('half_done') IS NULL AS gone")[0].decode("gone", as: Bool.self))
            // The advisory lock was released: another run is not blocked.
            try await migrate(pool, migrations: Self.migrations, logger: Logger(label: "test"))
        }
    }
}
