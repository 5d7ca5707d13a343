import Logging
import NIOPosix
import Synchronization

/// A bounded set of connections to one database, opened lazily and reopened after failures.
///
/// libpq blocks, so bodies run on the pool's own `NIOThreadPool` (one thread per connection), never on the
/// Swift concurrency pool. Call `shutdown()` before releasing the pool.
package final class PostgresPool: Sendable {
    private typealias Waiter = (id: Int, continuation: CheckedContinuation<PostgresConnection?, any Error>)

    private struct State {
        /// Permits handed out; never more than `size`, so never more than `size` connections.
        var leased = 0
        var idle: [PostgresConnection] = []
        /// Callers waiting for a permit, served first come, first served.
        var waiters: [Waiter] = []
        var isShutDown = false
    }

    /// How often a transaction that fails with a serialization failure or deadlock is attempted in all.
    private static let transactionAttempts = 8

    private let url: String
    /// The schema the pool's connections work in (their `search_path`), nil for the server's default.
    package let schema: String?
    private let size: Int
    private let logger: Logger
    private let threadPool: NIOThreadPool
    /// Guards the permits, idle connections and waiters, so a permit and its connection move together.
    private let state = Mutex(State())
    private let nextWaiterID = Atomic(0)

    /// Creates the pool without connecting; the first caller opens the first connection. With a `schema`,
    /// every connection works in that schema (see `migrate`).
    package init(url: String, size: Int = 8, schema: String? = nil, logger: Logger) {
        precondition(size > 0, "a pool needs at least one connection")
        self.url = url
        self.schema = schema
        self.size = size
        self.logger = logger
        threadPool = NIOThreadPool(numberOfThreads: size)
        threadPool.start()
    }

    /// Runs `body` with a connection of its own on the pool's thread pool. The connection returns to the
    /// pool only after `body` finishes, rolled back if `body` left a transaction open, and is dropped if broken.
    package func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        let leased = try await acquire()
        let outcome: (connection: PostgresConnection?, result: Result<T, any Error>)
        do {
            outcome = try await threadPool.runIfActive { [url, schema, logger] in
                let connection: PostgresConnection
                do {
                    connection = try leased ?? PostgresConnection(url: url, schema: schema, logger: logger)
                } catch {
                    return (nil, .failure(error))
                }
                let result = Result { try body(connection) }
                guard connection.recover() else {
                    logger.warning("Dropping a broken PostgreSQL connection")
                    return (nil, result)
                }
                return (connection, result)
            }
        } catch {
            // The body never ran (the task was cancelled or the pool shut down): the connection is untouched.
            release(leased)
            throw error
        }
        release(outcome.connection)
        return try outcome.result.get()
    }

    package func query(_ sql: String, _ params: [any PostgresEncodable] = []) async throws -> [PostgresRow] {
        try await withConnection { try $0.query(sql, params) }
    }

    @discardableResult
    package func execute(_ sql: String, _ params: [any PostgresEncodable] = []) async throws -> Int {
        try await withConnection { try $0.execute(sql, params) }
    }

    /// Runs `body` in one transaction: BEGIN, then COMMIT, or ROLLBACK if anything throws.
    ///
    /// A transaction that fails with a serialization failure or deadlock is run again, on a fresh permit and
    /// after a short random pause, so `body` may run more than once and must not have other side effects.
    package func transaction<T: Sendable>(
        isolation: IsolationLevel = .readCommitted,
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await withConnection { connection in
                    try connection.transaction(isolation: isolation) { try body(connection) }
                }
            } catch let error as PostgresError where error.isConcurrencyConflict && attempt < Self.transactionAttempts {
                logger.debug("Retrying transaction", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                // Full jitter, so transactions that collided do not collide again in lockstep.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...min(250, 5 << attempt))))
                attempt += 1
            }
        }
    }

    /// Whether `SELECT 1` succeeds within 2 seconds, for readiness checks.
    package func ping() async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await self.query("SELECT 1")) != nil }
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                return false
            }
            let answer = await group.next() ?? false
            group.cancelAll()
            return answer
        }
    }

    /// Closes idle connections, fails waiting callers and stops the thread pool once running bodies finish.
    package func shutdown() async {
        let waiters = state.withLock { state in
            state.isShutDown = true
            state.idle.removeAll()
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: Self.shutDownError)
        }
        try? await threadPool.shutdownGracefully()
    }

    private static let shutDownError = PostgresError(kind: .connectionFailure, message: "the connection pool is shut down")

    /// Waits for a permit; returns the idle connection that comes with it, if any.
    private func acquire() async throws -> PostgresConnection? {
        let id = nextWaiterID.wrappingAdd(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                state.withLock { state in
                    if state.isShutDown {
                        continuation.resume(throwing: Self.shutDownError)
                    } else if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else if state.leased < size {
                        state.leased += 1
                        continuation.resume(returning: state.idle.popLast())
                    } else {
                        state.waiters.append((id, continuation))
                    }
                }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Gives back a permit with its connection (nil if none or broken): the longest waiter takes both over,
    /// otherwise the connection goes idle.
    private func release(_ connection: PostgresConnection?) {
        let waiter = state.withLock { state -> Waiter? in
            if !state.waiters.isEmpty {
                return state.waiters.removeFirst()
            }
            state.leased -= 1
            if let connection, !state.isShutDown {
                state.idle.append(connection)
            }
            return nil
        }
        waiter?.continuation.resume(returning: connection)
    }
}
