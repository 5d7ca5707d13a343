import EcomPostgres
import Foundation
import Logging
import Synchronization
import Testing

@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason))
struct PostgresPoolTests {
    @Test("Every supported type survives a round trip through a real table")
    func roundTrip() async throws {
        try await TestDatabase.withPool { pool, _ in
            try await pool.execute("""
                CREATE TABLE samples (
                    s text, i bigint, i32 int, i64 bigint, b bool, u uuid, d timestamptz, bytes bytea, missing int
                )
                """)
            let id = UUID()
            let date = Date(timeIntervalSince1970: 1_795_636_608.123456)
            let bytes = Data([0x00, 0x01, 0x7F, 0x80, 0xFF])
            let inserted = try await pool.execute(
                "INSERT INTO samples VALUES (\("Grüße, 'quotes' \\ and \"more\""), \(Int.min), \(Int32.max), \(Int64(-1)), \(true), \(id), \(date), \(bytes), \(Int?.none))"
            )
            #expect(inserted == 1)

            let row = try #require(try await pool.query("SELECT * FROM samples").first)
            #expect(try row.decode("s", as: String.self) == "Grüße, 'quotes' \\ and \"more\"")
            #expect(try row.decode("i", as: Int.self) == Int.min)
            #expect(try row.decode("i32", as: Int32.self) == Int32.max)
            #expect(try row.decode("i64", as: Int64.self) == -1)
            #expect(try row.decode("b", as: Bool.self))
            #expect(try row.decode("u", as: UUID.self) == id)
            #expect(try abs(row.decode("d", as: Date.self).timeIntervalSince(date)) < 0.000_000_5)
            #expect(try row.decode("bytes", as: Data.self) == bytes)
            #expect(try row.decode("missing", as: Int?.self) == nil)
            #expect(try row.decode("i", as: Int?.self) == Int.min)
            #expect(throws: SQLDecodingError.self) { try row.decode("missing", as: Int.self) }
            #expect(throws: SQLDecodingError.self) { try row.decode("nonexistent", as: Int.self) }
        }
    }

    @Test("A duplicate key surfaces as a unique violation naming the constraint")
    func uniqueViolation() async throws {
        try await TestDatabase.withPool { pool, _ in
            try await pool.execute("CREATE TABLE users (email text CONSTRAINT users_email_key UNIQUE)")
            try await pool.execute("INSERT INTO users VALUES (\("a@example.com"))")
            let error = try await #require(throws: SQLError.self) {
                try await pool.execute("INSERT INTO users VALUES (\("a@example.com"))")
            }
            #expect(error.kind == .uniqueViolation)
            #expect(error.sqlState == "23505")
            #expect(error.constraint == "users_email_key")
        }
    }

    /// The plan cache mode in effect on `connection`.
    static func planCacheMode(_ connection: SQLConnection) throws -> String {
        try connection.query("SELECT current_setting('plan_cache_mode') AS mode")[0].decode("mode")
    }

    @Test("Generic plans last as long as the transaction that asked for them: the connection's next statements plan as PostgreSQL chooses")
    func genericPlansInOneTransaction() async throws {
        try await TestDatabase.withPool(size: 1) { pool, _ in
            let inside = try await pool.transaction { connection in
                try connection.useGenericPlans()
                return try Self.planCacheMode(connection)
            }
            #expect(inside == "force_generic_plan")
            let after: String = try await pool.query("SELECT current_setting('plan_cache_mode') AS mode")[0].decode("mode")
            #expect(after == "auto")
            #expect(try await pool.transaction { try Self.planCacheMode($0) } == "auto")
            await #expect(throws: ExpectedFailure.self) {
                try await pool.transaction { connection in
                    try connection.useGenericPlans()
                    throw ExpectedFailure()
                }
            }
            #expect(try await pool.transaction { try Self.planCacheMode($0) } == "auto")
        }
    }

    @Test("A setting asked for again in the same transaction is not sent again (each handler of a batch asks); the next transaction sends it afresh")
    func settingSentOncePerTransaction() async throws {
        try await TestDatabase.withPool(size: 1) { pool, _ in
            let modes = try await pool.transaction { connection in
                try connection.useGenericPlans()
                let first = try Self.planCacheMode(connection)
                // Changed behind its back: asking again sends nothing, so the change stands.
                try connection.execute("SET LOCAL plan_cache_mode = force_custom_plan")
                try connection.useGenericPlans()
                return [first, try Self.planCacheMode(connection)]
            }
            #expect(modes == ["force_generic_plan", "force_custom_plan"])
            let next = try await pool.transaction { connection in
                _ = try Self.planCacheMode(connection)
                try connection.useGenericPlans()
                return try Self.planCacheMode(connection)
            }
            #expect(next == "force_generic_plan")
        }
    }

    @Test("A transaction that commits without waiting for the disk has synchronous_commit off, for itself only")
    func lazyCommitInOneTransaction() async throws {
        try await TestDatabase.withPool(size: 1) { pool, _ in
            @Sendable func sync(_ connection: SQLConnection) throws -> String {
                try connection.query("SELECT current_setting('synchronous_commit') AS sync")[0].decode("sync")
            }
            try await pool.execute("SET synchronous_commit TO on")
            // Asked for before the first statement (with BEGIN) and after one (at once).
            let first = try await pool.transaction { connection in
                try connection.commitWithoutWaitingForDisk()
                return try sync(connection)
            }
            let later = try await pool.transaction { connection in
                _ = try sync(connection)
                try connection.commitWithoutWaitingForDisk()
                return try sync(connection)
            }
            #expect(first == "off" && later == "off")
            #expect(try await pool.transaction { try sync($0) } == "on")
            // Outside a transaction PostgreSQL would ignore it with a warning.
            await #expect(throws: SQLError.self) { try await pool.withConnection { try $0.commitWithoutWaitingForDisk() } }
        }
    }

    @Test("A statement committed lazily runs in a transaction of its own without synchronous_commit, commits, and on failure leaves nothing and a clean connection")
    func committedLazily() async throws {
        try await TestDatabase.withPool(size: 1) { pool, url in
            try await pool.execute("CREATE TABLE leases (id int PRIMARY KEY, holder text)")
            let setting: String = try await pool.query("SELECT current_setting('synchronous_commit') AS sync")[0].decode("sync")
            try await pool.execute("SET synchronous_commit TO on")
            let rows = try await pool.queryCommittingLazily(
                """
                INSERT INTO leases VALUES (\(1), \("relay")) RETURNING holder,
                    current_setting('synchronous_commit') AS sync, txid_current_if_assigned() IS NOT NULL AS in_transaction
                """)
            #expect(try rows[0].decode("holder", as: String.self) == "relay")
            #expect(try rows[0].decode("sync", as: String.self) == "off")
            #expect(try rows[0].decode("in_transaction", as: Bool.self))
            // Committed: another connection sees it; and the setting ended with the transaction.
            let seen = try await TestDatabase.withPool(url: url, size: 1) { other in
                try await other.query("SELECT count(*) AS n FROM leases")[0].decode("n", as: Int.self)
            }
            #expect(seen == 1)
            #expect(try await pool.query("SELECT current_setting('synchronous_commit') AS sync")[0].decode("sync", as: String.self) == "on")
            try await pool.execute("SET synchronous_commit TO \(unescaped: setting)")
            // A failing statement, prepared in that round trip (a text not run before on this
            // connection), commits nothing, reports its own error, stays prepared, and the connection goes on. statement commits nothing, reports its own error, and the connection goes on.
            let duplicate = try await #require(throws: SQLError.self) {
                try await pool.queryCommittingLazily("INSERT INTO leases VALUES (\(1), \("other")) RETURNING holder")
            }
            #expect(duplicate.kind == .uniqueViolation)
            let again = try await #require(throws: SQLError.self) {
                try await pool.queryCommittingLazily("INSERT INTO leases VALUES (\(1), \("other")) RETURNING holder")
            }
            #expect(again.kind == .uniqueViolation)
            let next = try await pool.queryCommittingLazily("UPDATE leases SET holder = \("next") WHERE id = \(1) RETURNING holder")
            #expect(try next[0].decode("holder", as: String.self) == "next")
            #expect(try await pool.query("SELECT count(*) AS n FROM leases")[0].decode("n", as: Int.self) == 1)
            // Inside a transaction it refuses, rather than commit the caller's work.
            await #expect(throws: SQLError.self) {
                try await pool.transaction { connection in
                    try connection.execute("DELETE FROM leases")
                    _ = try connection.queryCommittingLazily("SELECT 1 AS one")
                }
            }
            #expect(try await pool.query("SELECT count(*) AS n FROM leases")[0].decode("n", as: Int.self) == 1)
        }
    }

    @Test("A lease keeps one connection and its open transaction across waits, commits lazily when told, and rolls back what is left open")
    func lease() async throws {
        try await TestDatabase.withPool(size: 1) { pool, url in
            try await pool.execute("CREATE TABLE held (id int PRIMARY KEY)")
            func seen() async throws -> Int {
                try await TestDatabase.withPool(url: url, size: 1) { other in
                    try await other.query("SELECT count(*) AS n FROM held")[0].decode("n", as: Int.self)
                }
            }
            let pids = try await pool.withLease { lease -> [Int] in
                let first = try await lease.run { connection in
                    try connection.beginCommittingLazily()
                    return try connection.query(
                        """
                        INSERT INTO held VALUES (\(1)) RETURNING pg_backend_pid() AS pid, current_setting('synchronous_commit') AS sync
                        """)[0]
                }
                #expect(try first.decode("sync", as: String.self) == "off")
                // Open across a wait: nobody else sees the row yet.
                try await Task.sleep(for: .milliseconds(50))
                #expect(try await seen() == 0)
                let committed = Mutex(false)
                let second = try await lease.run { connection in
                    let pid: Int = try connection.query("SELECT pg_backend_pid() AS pid")[0].decode("pid")
                    connection.afterCommit { committed.withLock { $0 = true } }
                    #expect(!committed.withLock { $0 })
                    try connection.commit()
                    return pid
                }
                #expect(committed.withLock { $0 })
                return [try first.decode("pid"), second]
            }
            #expect(pids[0] == pids[1])
            #expect(try await seen() == 1)

            // Left open, it is rolled back, and the connection goes back to the pool clean.
            struct Abandoned: Error {}
            let ranAfterRollback = Mutex(false)
            await #expect(throws: Abandoned.self) {
                try await pool.withLease { lease in
                    try await lease.run { connection in
                        try connection.beginCommittingLazily()
                        try connection.execute("INSERT INTO held VALUES (\(2))")
                        connection.afterCommit { ranAfterRollback.withLock { $0 = true } }
                    }
                    throw Abandoned()
                }
            }
            #expect(try await seen() == 1)
            #expect(!ranAfterRollback.withLock { $0 })
            #expect(try await pool.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int.self) == pids[0])
            // A commit after a failed statement reports it rather than rolling back in silence.
            await #expect(throws: SQLError.self) {
                try await pool.withLease { lease in
                    try await lease.run { connection in
                        try connection.beginCommittingLazily()
                        _ = try? connection.execute("INSERT INTO held VALUES (\(1))")
                        try connection.commit()
                    }
                }
            }
            #expect(try await seen() == 1)
        }
    }

    @Test("BEGIN goes out with the transaction's first statement: the transaction starts then, at the isolation level asked for")
    func beginWithFirstStatement() async throws {
        try await TestDatabase.withPool(size: 1) { pool, _ in
            let row = try await pool.transaction(isolation: .serializable) { connection in
                // Sent at once, BEGIN would date the transaction (now()) a second before the statement.
                Thread.sleep(forTimeInterval: 1)
                let first = try connection.query(
                    "SELECT (extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint AS waited, txid_current() AS txid, current_setting('transaction_isolation') AS isolation"
                )[0]
                let second = try connection.query("SELECT txid_current() AS txid")[0]
                return (
                    waited: try first.decode("waited", as: Int.self), isolation: try first.decode("isolation", as: String.self),
                    same: try first.decode("txid", as: Int64.self) == second.decode("txid", as: Int64.self))
            }
            #expect(row.waited < 500, "the transaction began \(row.waited) ms before its first statement")
            #expect(row.isolation == "serializable")
            #expect(row.same)
            // A transaction that runs no statement has nothing to commit, and its afterCommit actions run.
            let ran = Counter()
            try await pool.transaction { connection in connection.afterCommit { ran.increment() } }
            #expect(ran.value == 1)
            // Registered before any statement and rolled back: never run.
            await #expect(throws: ExpectedFailure.self) {
                try await pool.transaction { connection in
                    connection.afterCommit { ran.increment() }
                    throw ExpectedFailure()
                }
            }
            #expect(ran.value == 1)
            #expect(try await pool.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
        }
    }

    /// The names in the `marks` table the transaction tests write, in order.
    static func marks(in pool: PostgresPool) async throws -> [String] {
        try await pool.query("SELECT name FROM marks ORDER BY name").map { try $0.decode("name", as: String.self) }
    }

    @Test("A rollback to a savepoint undoes its writes and drops the afterCommit actions registered since; the others run")
    func savepointDropsLaterActions() async throws {
        try await TestDatabase.withPool(size: 1) { pool, _ in
            try await pool.execute("CREATE TABLE marks (name text)")
            let ran = Mutex<[String]>([])
            try await pool.transaction { connection in
                try connection.execute("INSERT INTO marks VALUES ('kept')")
                connection.afterCommit { ran.withLock { $0.append("before") } }
                let savepoint = try connection.savepoint()
                try connection.execute("INSERT INTO marks VALUES ('undone')")
                connection.afterCommit { ran.withLock { $0.append("undone") } }
                try connection.rollback(to: savepoint)
                connection.afterCommit { ran.withLock { $0.append("after") } }
                // Nested: a rollback to the outer one undoes the inner one's too.
                let outer = try connection.savepoint()
                connection.afterCommit { ran.withLock { $0.append("outer") } }
                try connection.execute("INSERT INTO marks VALUES ('between')")
                _ = try connection.savepoint()
                try connection.execute("INSERT INTO marks VALUES ('inner')")
                connection.afterCommit { ran.withLock { $0.append("inner") } }
                try connection.rollback(to: outer)
            }
            #expect(ran.withLock { $0 } == ["before", "after"])
            let names = try await Self.marks(in: pool)
            #expect(names == ["kept"])
            // Savepoints, each named afresh, do not take the connection's prepared statements.
            let prepared = try await pool.query("SELECT count(*) AS n FROM pg_prepared_statements WHERE statement ~* '^(SAVEPOINT|ROLLBACK TO)'")
            #expect(try prepared[0].decode("n", as: Int.self) == 0)
        }
    }

    @Test("Statements sent in one round trip run in order, each seeing what those before it wrote; the first error stops the rest and rolls back")
    func pipelinedStatements() async throws {
        try await TestDatabase.withPool(size: 1) { pool, _ in
            try await pool.execute("CREATE TABLE marks (name text CONSTRAINT marks_name_key UNIQUE)")
            let results = try await pool.transaction { connection in
                try connection.queries([
                    "INSERT INTO marks VALUES (\("a")) RETURNING name",
                    "SELECT count(*) AS n FROM marks",
                    "INSERT INTO marks VALUES (\("b")) RETURNING name",
                    // The same text twice: prepared once, run twice.
                    "SELECT count(*) AS n FROM marks",
                ])
            }
            #expect(results.map { $0.first.flatMap { try? $0.decode("name", as: String.self) } } == ["a", nil, "b", nil])
            #expect(try results[1][0].decode("n", as: Int.self) == 1 && results[3][0].decode("n", as: Int.self) == 2)
            let failed = try await #require(throws: SQLError.self) {
                try await pool.transaction { connection in
                    _ = try connection.queries(["INSERT INTO marks VALUES (\("c"))", "INSERT INTO marks VALUES (\("a"))", "INSERT INTO marks VALUES (\("d"))"])
                }
            }
            #expect(failed.constraint == "marks_name_key")
            let names = try await Self.marks(in: pool)
            #expect(names == ["a", "b"])
            // The connection prepared each new text once, and goes on working.
            let prepared = try await pool.query("SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE 'SELECT count(*) AS n FROM marks'")
            #expect(try prepared[0].decode("n", as: Int.self) == 1)
        }
    }

    @Test("A last statement sent with COMMIT commits the transaction and runs its afterCommit actions; one that fails rolls it all back, and none may follow")
    func statementWithCommit() async throws {
        try await TestDatabase.withPool(size: 1) { pool, _ in
            try await pool.execute("CREATE TABLE marks (name text CONSTRAINT marks_name_key UNIQUE)")
            let ran = Mutex<[String]>([])
            let last = try await pool.transaction { connection in
                try connection.execute("INSERT INTO marks VALUES (\("x"))")
                connection.afterCommit { ran.withLock { $0.append("x") } }
                return try connection.queryCommitting("INSERT INTO marks VALUES (\("y")) RETURNING name")
            }
            #expect(try last.map { try $0.decode("name", as: String.self) } == ["y"])
            #expect(ran.withLock { $0 } == ["x"])

            let failed = try await #require(throws: SQLError.self) {
                try await pool.transaction { connection in
                    try connection.execute("INSERT INTO marks VALUES (\("z"))")
                    connection.afterCommit { ran.withLock { $0.append("z") } }
                    _ = try connection.queryCommitting("INSERT INTO marks VALUES (\("x"))")
                }
            }
            #expect(failed.constraint == "marks_name_key")
            #expect(ran.withLock { $0 } == ["x"])

            await #expect(throws: SQLError.self) {
                try await pool.transaction { connection in
                    _ = try connection.queryCommitting("INSERT INTO marks VALUES (\("w"))")
                    try connection.execute("INSERT INTO marks VALUES (\("v"))")
                }
            }
            await #expect(throws: SQLError.self) {
                try await pool.withConnection { connection in _ = try connection.queryCommitting("INSERT INTO marks VALUES (\("u"))") }
            }
            let names = try await Self.marks(in: pool)
            #expect(names == ["w", "x", "y"])
            // The connection is back to normal use.
            try await pool.transaction { connection in try connection.execute("INSERT INTO marks VALUES (\("t"))") }
            #expect(try await pool.query("SELECT count(*) AS n FROM marks")[0].decode("n", as: Int.self) == 4)
        }
    }

    @Test("A first statement that fails, or fails to prepare, reports its own error and rolls the transaction back")
    func firstStatementFails() async throws {
        try await TestDatabase.withPool(size: 1) { pool, url in
            try await pool.execute("CREATE TABLE users (email text CONSTRAINT users_email_key UNIQUE)")
            try await pool.execute("INSERT INTO users VALUES (\("a@example.com"))")
            let duplicate = try await #require(throws: SQLError.self) {
                try await pool.transaction { connection in
                    try connection.execute("INSERT INTO users VALUES (\("a@example.com"))")
                }
            }
            #expect(duplicate.kind == .uniqueViolation)
            #expect(duplicate.constraint == "users_email_key")
            let missing = try await #require(throws: SQLError.self) {
                try await pool.transaction { connection in
                    try connection.useGenericPlans()
                    try connection.execute("INSERT INTO nowhere VALUES (\(1))")
                }
            }
            #expect(missing.sqlState == "42P01")
            // The statement that failed to prepare was not remembered as prepared, and the connection is clean.
            try await pool.execute("CREATE TABLE nowhere (id int)")
            try await pool.transaction { connection in
                try connection.execute("INSERT INTO nowhere VALUES (\(1))")
                try connection.execute("INSERT INTO users VALUES (\("b@example.com"))")
            }
            let counts = try await TestDatabase.withPool(url: url, size: 1) { other in
                try await other.query("SELECT (SELECT count(*) FROM nowhere) AS n, (SELECT count(*) FROM users) AS u")[0]
            }
            #expect(try counts.decode("n", as: Int.self) == 1)
            #expect(try counts.decode("u", as: Int.self) == 2)
        }
    }

    @Test("A transaction whose body throws is rolled back and its connection reused cleanly")
    func rollback() async throws {
        try await TestDatabase.withPool(size: 1) { pool, url in
            try await pool.execute("CREATE TABLE items (id int)")
            await #expect(throws: ExpectedFailure.self) {
                try await pool.transaction { connection in
                    try connection.execute("INSERT INTO items VALUES (1)")
                    throw ExpectedFailure()
                }
            }
            await #expect(throws: SQLError.self) {
                try await pool.withConnection { connection in
                    try connection.execute("BEGIN")
                    try connection.execute("INSERT INTO items VALUES (2)")
                    try connection.execute("SELECT 1/0")
                }
            }
            // Had the connection stayed in a transaction, this row would be invisible to other sessions.
            try await pool.execute("INSERT INTO items VALUES (3)")
            let ids = try await TestDatabase.withPool(url: url, size: 1) { other in
                try await other.query("SELECT id FROM items").map { try $0.decode("id", as: Int.self) }
            }
            #expect(ids == [3])
        }
    }

    @Test("Statements are prepared once per connection, survive rollbacks, and still run past the limit")
    func preparedStatements() async throws {
        try await TestDatabase.withPool(size: 1) { pool, _ in
            try await pool.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
            @Sendable func insert(_ body: String) -> SQLQuery { "INSERT INTO notes VALUES (\(1), \(body))" }
            // Prepared inside a transaction that rolls back: the statement outlives it.
            await #expect(throws: ExpectedFailure.self) {
                try await pool.transaction { connection in
                    try connection.execute(insert("rolled back"))
                    throw ExpectedFailure()
                }
            }
            try await pool.execute(insert("kept"))
            let duplicate = try await #require(throws: SQLError.self) { try await pool.execute(insert("again")) }
            #expect(duplicate.kind == .uniqueViolation)
            // A statement that cannot be prepared fails as running it would, and is not remembered.
            let syntax = try await #require(throws: SQLError.self) { try await pool.execute("INSERT INTO nowhere VALUES (\(1))") }
            #expect(syntax.sqlState == "42P01")
            // More distinct texts than a connection keeps prepared: the rest run unprepared.
            let texts = (0..<SQLConnection.preparedStatementLimit + 10).map { number -> SQLQuery in
                "SELECT \(unescaped: String(number)) AS n, \("x")::text AS body"
            }
            for (number, text) in texts.enumerated() {
                let row = try #require(try await pool.query(text).first)
                #expect(try row.decode("n", as: Int.self) == number)
            }
            #expect(try await pool.query("SELECT body FROM notes WHERE id = \(1)").first?.decode("body", as: String.self) == "kept")
            let prepared = try await pool.query("SELECT count(*) AS n FROM pg_prepared_statements")[0].decode("n", as: Int.self)
            #expect(prepared == SQLConnection.preparedStatementLimit)
        }
    }

    @Test("Conflicting serializable transactions are retried until both succeed")
    func serializationRetry() async throws {
        try await TestDatabase.withPool(size: 2) { pool, _ in
            try await pool.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)")
            try await pool.execute("INSERT INTO accounts VALUES (1, 0), (2, 0)")
            let attempts = Counter()
            // Write skew: each reads both rows, then writes its own, so SSI must abort one of the first attempts.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for id in [1, 2] {
                    group.addTask {
                        try await pool.transaction(isolation: .serializable) { connection in
                            attempts.increment()
                            _ = try connection.query("SELECT sum(balance) FROM accounts")
                            _ = try connection.query("SELECT pg_sleep(0.3)")
                            try connection.execute("UPDATE accounts SET balance = balance + 1 WHERE id = \(id)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(attempts.value > 2)
            let total = try await pool.query("SELECT sum(balance) AS total FROM accounts")[0].decode("total", as: Int.self)
            #expect(total == 2)
        }
    }

    @Test("The pool never opens more connections than its size, and every caller gets a turn")
    func bounded() async throws {
        try await TestDatabase.withPool(size: 3) { pool, _ in
            let highest = Counter()
            let finished = try await withThrowingTaskGroup(of: Void.self, returning: Int.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await pool.withConnection { connection in
                            let open = try connection.query(
                                // Client backends only: an autovacuum worker visiting the new database counts too.
                                """
                                SELECT count(*) AS n FROM pg_stat_activity
                                WHERE datname = current_database() AND backend_type = 'client backend'
                                """
                            )[0].decode("n", as: Int.self)
                            highest.recordMaximum(open)
                            _ = try connection.query("SELECT pg_sleep(0.05)")
                        }
                    }
                }
                return try await group.reduce(0) { count, _ in count + 1 }
            }
            #expect(finished == 12)
            #expect((1...3).contains(highest.value))
        }
    }

    @Test("A connection the server dropped is replaced on the next call")
    func reconnects() async throws {
        try await TestDatabase.withPool(size: 1) { pool, url in
            let first = try await pool.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int.self)
            try await TestDatabase.withPool(url: url, size: 1) { other in
                _ = try await other.query("SELECT pg_terminate_backend(\(first))")
            }

            // The closed connection is noticed before it is used: the call runs on a new one.
            try await Task.sleep(for: .milliseconds(300))
            let second = try await pool.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int.self)
            #expect(second != first)
            #expect(await pool.ping())
        }
    }

    @Test("A transaction whose connection is lost before COMMIT runs again on a new one, and commits once")
    func lostBeforeCommit() async throws {
        try await TestDatabase.withPool(size: 1) { pool, _ in
            try await pool.execute("CREATE TABLE kept (n int)")
            let runs = Atomic<Int>(0)
            try await pool.transaction { connection in
                try connection.execute("INSERT INTO kept VALUES (1)")
                if runs.add(1, ordering: .relaxed).newValue == 1 {
                    // The server ends this very session, as a primary going away does.
                    _ = try connection.query("SELECT pg_terminate_backend(pg_backend_pid())")
                }
            }
            #expect(runs.load(ordering: .relaxed) == 2)
            #expect(try await pool.query("SELECT count(*) AS n FROM kept")[0].decode("n", as: Int.self) == 1)
        }
    }

    @Test("an array parameter reaches PostgreSQL element for element, quotes, backslashes and NULLs included")
    func arraysRoundTrip() async throws {
        try await TestDatabase.withPool(size: 1) { pool, _ in
            let elements: [String?] = ["", #"a "b", c\d"#, "NULL", "{}", nil, #"{"k":"v \"w\" \\ x"}"#, "é ß 😀"]
            let rows = try await pool.query(
                "SELECT e, e IS NULL AS missing FROM unnest(\(SQLArray(elements))::text[]) WITH ORDINALITY AS u (e, n) ORDER BY n")
            #expect(try rows.map { try $0.decode("missing", as: Bool.self) ? nil : try $0.decode("e", as: String.self) } == elements)
        }
    }
}

@Suite struct PostgresPoolWithoutServerTests {
    @Test("A server that is down makes calls fail with connectionFailure and ping answer false")
    func serverDown() async throws {
        let pool = PostgresPool(url: "postgresql://ecom@127.0.0.1:1/ecom", size: 2, logger: Logger(label: "test"))
        let error = try await #require(throws: SQLError.self) { try await pool.query("SELECT 1") }
        #expect(error.kind == .connectionFailure)
        #expect(await !pool.ping())
        await pool.shutdown()
    }

    @Test("A database name that is not a plain identifier is refused before connecting")
    func invalidDatabaseName() async throws {
        for name in ["", "Shop", "shop; DROP DATABASE x", "\"x\"", String(repeating: "a", count: 64)] {
            await #expect(throws: SQLError.self) {
                try await createDatabaseIfNeeded(serverURL: "postgresql://127.0.0.1:1/postgres", name: name)
            }
        }
    }
}
