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
            await #expect(throws: SQLError.self) {
                try await migrate(pool, migrations: broken, logger: Logger(label: "test"))
            }
            #expect(try await pool.query("SELECT version FROM schema_migrations").count == 2)
            #expect(try await pool.query("SELECT to_regclass('half_done') IS NULL AS gone")[0].decode("gone", as: Bool.self))
            // The advisory lock was released: another run is not blocked.
            try await migrate(pool, migrations: Self.migrations, logger: Logger(label: "test"))
        }
    }

    @Test("Services sharing one database migrate their own schemas, overlapping versions and all")
    func schemasShareADatabase() async throws {
        try await TestDatabase.withPool { pool, url in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for schema in ["alpha", "beta", "alpha"] {
                    group.addTask {
                        try await TestDatabase.withPool(url: url, size: 1, schema: schema) { pool in
                            try await migrate(pool, migrations: Self.migrations, logger: Logger(label: "test"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            for schema in ["alpha", "beta"] {
                #expect(try await pool.query("SELECT * FROM \(unescaped: schema).events").count == 1)
                #expect(try await pool.query("SELECT version FROM \(unescaped: schema).schema_migrations").count == 2)
                try await TestDatabase.withPool(url: url, size: 1, schema: schema) { pool in
                    #expect(await migrationsApplied(pool, migrations: Self.migrations))
                    // Unqualified names resolve in the pool's schema.
                    let events = try await pool.query("SELECT * FROM events")
                    #expect(events.count == 1)
                }
            }
            #expect(try await pool.query("SELECT to_regclass('public.schema_migrations') IS NULL AS none")[0].decode("none", as: Bool.self))
        }
    }

    @Test("Tables an earlier release left in public move into the service's schema once, with their history and rows")
    func releaseTablesMove() async throws {
        try await TestDatabase.withPool { pool, url in
            // The earlier layout: the products service's tables and history in public.
            let release = [Migration(version: 1, name: "catalog", sql: """
                CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL);
                CREATE TABLE stock_ledger (id int);
                CREATE TABLE reservations (id int);
                CREATE TABLE reservation_lines (id int);
                CREATE TABLE outbox (seq bigserial PRIMARY KEY, body text);
                """)]
            try await migrate(pool, migrations: release, logger: Logger(label: "test"))
            // A row another service's migration left in the shared history: not this service's to keep.
            try await pool.execute("INSERT INTO schema_migrations (version, name) VALUES (100, 'someone else''s')")
            try await pool.execute("INSERT INTO products VALUES (1, 'kept')")
            try await pool.execute("INSERT INTO outbox (body) VALUES ('first')")

            let current = release + [Migration(version: 2, name: "later", sql: "ALTER TABLE products ADD COLUMN note text")]
            try await TestDatabase.withPool(url: url, size: 1, schema: "products") { products in
                try await migrate(products, migrations: current, logger: Logger(label: "test"))
                try await migrate(products, migrations: current, logger: Logger(label: "test"))
                let kept = try await products.query("SELECT name FROM products WHERE note IS NULL")
                #expect(try kept.map { try $0.decode("name", as: String.self) } == ["kept"])
                // The owned sequence came along and goes on counting.
                let inserted = try await products.query("INSERT INTO outbox (body) VALUES ('second') RETURNING seq")
                #expect(try inserted[0].decode("seq", as: Int.self) == 2)
            }
            let history = try await pool.query("SELECT version, name FROM products.schema_migrations ORDER BY version")
            #expect(try history.map { try $0.decode("name", as: String.self) } == ["catalog", "later"])
            let left = try await pool.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            #expect(left.isEmpty)
        }
    }

    @Test("A public schema mixing several services' tables is refused, naming them, and left untouched")
    func mixedReleaseTablesRefused() async throws {
        try await TestDatabase.withPool { pool, url in
            let users = ["login_failures", "refresh_families", "refresh_tokens", "users"]
            let products = ["products", "reservation_lines", "reservations", "stock_ledger"]
            let tables = (users + products).map { "CREATE TABLE \($0) (id int);" }.joined(separator: "\n")
            try await migrate(pool, migrations: [Migration(version: 1, name: "both", sql: tables)], logger: Logger(label: "test"))
            for schema in ["users", "products"] {
                try await TestDatabase.withPool(url: url, size: 1, schema: schema) { service in
                    let error = await #expect(throws: MixedReleaseTablesError.self) {
                        try await migrate(service, migrations: [], logger: Logger(label: "test"))
                    }
                    #expect(error?.own == (schema == "users" ? users : products))
                    #expect(error?.foreign == (schema == "users" ? products : users))
                }
            }
            #expect(try await pool.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").count == 9)
            #expect(try await pool.query("SELECT nspname FROM pg_namespace WHERE nspname IN ('users', 'products')").isEmpty)
        }
    }

    @Test("Tables of another application in public that share a service's names stay there; the service starts empty")
    func unrelatedPublicTablesStay() async throws {
        try await TestDatabase.withPool { pool, url in
            try await pool.execute("CREATE TABLE public.schema_migrations (version text PRIMARY KEY)")
            try await pool.execute("CREATE TABLE public.inbox (id int)")
            try await pool.execute("CREATE TABLE public.users (id int)")
            for schema in ["cart", "users"] {
                try await TestDatabase.withPool(url: url, size: 1, schema: schema) { service in
                    try await migrate(service, migrations: Self.migrations, logger: Logger(label: "test"))
                }
                #expect(try await pool.query("SELECT version FROM \(unescaped: schema).schema_migrations").count == 2)
            }
            #expect(try await pool.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").count == 3)
        }
    }
}
