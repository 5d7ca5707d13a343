import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A bounded set of connections to one database, opened lazily and reopened after failures.
///
/// libpq blocks, so bodies run on the pool's own `NIOThreadPool` (one thread per connection), never on the
/// Swift concurrency pool. Call `shutdown()` before releasing the pool.
///
/// Waiting for a connection is bounded: a caller that waits longer than its class allows, or finds too many
/// callers already waiting, gets `PostgresPoolBusy`. Clients' requests may hold at most `size - reserved`
/// connections and wait behind the process's own work (service calls, event handlers), so a flood of
/// public reads can slow them but never starve checkout's lookups or the saga. The class of a caller is
/// the task-local `PostgresPool.caller`.
package final class PostgresPool: Sendable {
    /// Who is asking for a connection, which decides its share of the pool and its place in the queue.
    package enum Caller: Sendable, Equatable {
        /// A client's request (public reads, signed-in users): waits behind `.service` callers.
        case request
        /// Another service with a service token, or the process's own background work (event handlers,
        /// outbox, migrations, timers).
        case service
    }

    /// The class of the current task's database calls; HTTP middleware sets `.request` for clients.
    @TaskLocal package static var caller: Caller = .service

    /// How long and how many callers may wait, and how much of the pool clients' requests may hold.
    package struct Limits: Sendable, Equatable {
        /// Connections that `.request` callers can never take, kept for `.service` callers.
        package var reservedForServices: Int
        /// The longest a `.request` caller waits for a connection.
        package var requestWait: Duration
        /// The longest a `.service` caller waits for a connection.
        package var serviceWait: Duration
        /// `.request` callers allowed to wait at once; the next one is refused at once.
        package var maxRequestWaiters: Int

        package init(
            reservedForServices: Int, requestWait: Duration = .seconds(5), serviceWait: Duration = .seconds(30),
            maxRequestWaiters: Int = 256
        ) {
            self.reservedForServices = reservedForServices
            self.requestWait = requestWait
            self.serviceWait = serviceWait
            self.maxRequestWaiters = maxRequestWaiters
        }

        /// A quarter of the pool (at least one connection, none for a pool of one) kept for services.
        package static func standard(size: Int) -> Limits {
            Limits(reservedForServices: size > 1 ? max(1, size / 4) : 0)
        }
    }

    private final class Waiter: Sendable {
        let id: Int
        let continuation: CheckedContinuation<SQLConnection?, any Error>
        /// The timer that gives up on this waiter; cancelled once it is served.
        let timeout = Mutex<Scheduled<Void>?>(nil)

        init(id: Int, continuation: CheckedContinuation<SQLConnection?, any Error>) {
            self.id = id
            self.continuation = continuation
        }
    }

    private struct State {
        /// Permits handed out; never more than `size`, so never more than `size` connections.
        var leased = 0
        /// Of those, the permits `.request` callers hold; never more than `size - reserved`.
        var leasedByRequests = 0
        var idle: [SQLConnection] = []
        /// Callers waiting for a permit, by class, each served first come, first served.
        var serviceWaiters: [Waiter] = []
        var requestWaiters: [Waiter] = []
        var isShutDown = false

        mutating func remove(_ id: Int) -> Waiter? {
            if let index = serviceWaiters.firstIndex(where: { $0.id == id }) { return serviceWaiters.remove(at: index) }
            if let index = requestWaiters.firstIndex(where: { $0.id == id }) { return requestWaiters.remove(at: index) }
            return nil
        }
    }

    /// How often a transaction that fails with a serialization failure or deadlock is attempted in all.
    private static let transactionAttempts = 8
    /// Runs of a transaction whose connection was lost before COMMIT: pauses of 100, 200, 400, then
    /// 500 ms between them, about two seconds in all.
    private static let reconnectAttempts = 6

    private let url: String
    /// The schema the pool's connections work in (their `search_path`), nil for the server's default.
    package let schema: String?
    private let size: Int
    package let limits: Limits
    private let logger: Logger
    private let threadPool: NIOThreadPool
    /// Guards the permits, idle connections and waiters, so a permit and its connection move together.
    private let state = Mutex(State())
    private let nextWaiterID = Atomic(0)

    /// Creates the pool without connecting; the first caller opens the first connection. With a `schema`,
    /// every connection works in that schema (see `migrate`).
    package init(url: String, size: Int = 8, schema: String? = nil, logger: Logger, limits: Limits? = nil) {
        precondition(size > 0, "a pool needs at least one connection")
        self.url = url
        self.schema = schema
        self.size = size
        let limits = limits ?? .standard(size: size)
        precondition(limits.reservedForServices < size, "clients' requests need at least one connection")
        self.limits = limits
        self.logger = logger
        threadPool = NIOThreadPool(numberOfThreads: size)
        threadPool.start()
    }

    /// Runs `body` with a connection of its own on the pool's thread pool. The connection returns to the
    /// pool only after `body` finishes, rolled back if `body` left a transaction open, and is dropped if broken.
    package func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (SQLConnection) throws -> T
    ) async throws -> T {
        let caller = Self.caller
        let leased = try await acquire(as: caller)
        let outcome: (connection: SQLConnection?, result: Result<T, any Error>)
        do {
            outcome = try await threadPool.runIfActive { [self, logger] in
                let connection: SQLConnection
                do {
                    connection = try usable(leased)
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
            release(leased, by: caller)
            throw error
        }
        release(outcome.connection, by: caller)
        return try outcome.result.get()
    }

    /// The connection that came with a permit if it is still usable, or a new one in place of one
    /// the server closed, or of none. Blocks: for the pool's threads.
    private func usable(_ leased: SQLConnection?) throws -> SQLConnection {
        if let leased, leased.isUsableWhenIdle { return leased }
        if leased != nil { logger.info("Replacing a PostgreSQL connection the server closed") }
        return try SQLConnection(url: url, schema: schema, logger: logger)
    }

    /// Runs `body` with a connection held until it returns, across its suspension points: for a
    /// transaction that stays open while its caller waits on something else (the outbox relay keeps
    /// the rows it publishes locked until the transport has them). Statements run through
    /// `Lease.run`, on the pool's threads; what is left open when `body` returns is rolled back.
    package func withLease<T: Sendable>(_ body: (Lease) async throws -> T) async throws -> T {
        let caller = Self.caller
        let lease = Lease(pool: self, idle: try await acquire(as: caller))
        let result: Result<T, any Error>
        do {
            result = .success(try await body(lease))
        } catch {
            result = .failure(error)
        }
        var kept: SQLConnection?
        if let connection = lease.end() {
            // Rolled back on the pool's threads; dropped if broken, or if the pool no longer runs.
            kept = (try? await threadPool.runIfActive { connection.recover() ? connection : nil }) ?? nil
        }
        release(kept, by: caller)
        return try result.get()
    }

    /// A connection of the pool held by `withLease`.
    package final class Lease: Sendable {
        private let pool: PostgresPool
        private let state: Mutex<(connection: SQLConnection?, used: Bool, ended: Bool)>

        fileprivate init(pool: PostgresPool, idle: SQLConnection?) {
            self.pool = pool
            state = Mutex((idle, false, false))
        }

        /// Runs `body` on the leased connection, on the pool's threads. The first call opens a
        /// connection if the pool had no usable idle one; once one has been used, a lost connection
        /// is not replaced (what it had open is gone), and every later call fails.
        package func run<T: Sendable>(_ body: @escaping @Sendable (SQLConnection) throws -> T) async throws -> T {
            try await pool.threadPool.runIfActive { [self] in try body(try connection()) }
        }

        private func connection() throws -> SQLConnection {
            let (held, used, ended) = state.withLock { state in
                defer { state.used = true }
                return state
            }
            guard !ended else { throw SQLError(kind: .other, message: "the connection's lease has ended") }
            if used {
                guard let held else { throw SQLError(kind: .connectionFailure, message: "the leased connection was lost") }
                return held
            }
            state.withLock { $0.connection = nil }
            let usable = try pool.usable(held)
            state.withLock { $0.connection = usable }
            return usable
        }

        /// Ends the lease; returns its connection, if it has one, for the pool to take back.
        fileprivate func end() -> SQLConnection? {
            state.withLock { state in
                state.ended = true
                return state.connection
            }
        }
    }

    package func query(_ query: SQLQuery) async throws -> [SQLRow] {
        try await withConnection { try $0.query(query) }
    }

    @discardableResult
    package func execute(_ query: SQLQuery) async throws -> Int {
        try await withConnection { try $0.execute(query) }
    }

    /// Runs one statement in a transaction of its own whose commit does not wait for the disk, in one
    /// round trip (`SQLConnection.queryCommittingLazily`): for writes a crash may undo at no cost but a repeat.
    @discardableResult
    package func queryCommittingLazily(_ query: SQLQuery) async throws -> [SQLRow] {
        try await withConnection { try $0.queryCommittingLazily(query) }
    }

    /// Runs `body` in one transaction: BEGIN, then COMMIT, or ROLLBACK if anything throws.
    ///
    /// A transaction that fails with a serialization failure or deadlock is run again, on a fresh permit and
    /// after a short random pause, so `body` may run more than once and must not have other side effects.
    /// So is one whose connection was lost before COMMIT was sent (the server rolled it back), for about
    /// two seconds: long enough for a new connection to reach a promoted standby through a multi-host URL.
    /// A connection lost during COMMIT leaves the outcome unknown, and that error reaches the caller.
    package func transaction<T: Sendable>(
        isolation: IsolationLevel = .readCommitted,
        _ body: @escaping @Sendable (SQLConnection) throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await withConnection { connection in
                    try connection.transaction(isolation: isolation) { try body(connection) }
                }
            } catch let error as SQLError where error.isConcurrencyConflict && attempt < Self.transactionAttempts {
                logger.debug("Retrying transaction", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                // Full jitter, so transactions that collided do not collide again in lockstep.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...min(250, 5 << attempt))))
                attempt += 1
            } catch let error as SQLError where error.isLostBeforeCommit && attempt < Self.reconnectAttempts {
                logger.debug("Retrying a transaction whose connection was lost", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: .milliseconds(min(500, 50 << attempt)))
                attempt += 1
            }
        }
    }

    /// Sends each payload as a NOTIFY on `channel`, all in one round trip and one transaction of their own
    /// with `synchronous_commit` off: a NOTIFY inside a business transaction would hold the cluster's
    /// notification lock until that commit, serializing every committing transaction, and waiting for the
    /// WAL flush of a transaction that only notifies buys nothing. Listeners get the payloads in order.
    package func notify(channel: String, payloads: [String]) async throws {
        guard !payloads.isEmpty else { return }
        let channel = quotedLiteral(channel)
        let notifies = payloads.map { "SELECT pg_notify(\(channel), \(quotedLiteral($0)));" }.joined()
        try await withConnection { connection in
            try connection.executeScript("BEGIN; \(SQLConnection.lazyCommit); \(notifies) COMMIT;")
        }
    }

    /// Whether `SELECT 1` succeeds within 2 seconds, for readiness checks. It asks as a service, so a pool
    /// busy with clients' requests still reports the database as reachable.
    package func ping() async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await Self.$caller.withValue(.service) { (try? await self.query("SELECT 1")) != nil } }
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                return false
            }
            let answer = await group.next() ?? false
            group.cancelAll()
            return answer
        }
    }

    /// Callers waiting for a connection now, by class.
    package var waiting: (requests: Int, services: Int) {
        state.withLock { ($0.requestWaiters.count, $0.serviceWaiters.count) }
    }

    /// Closes idle connections, fails waiting callers and stops the thread pool once running bodies finish.
    package func shutdown() async {
        let waiters = state.withLock { state in
            state.isShutDown = true
            state.idle.removeAll()
            defer {
                state.serviceWaiters.removeAll()
                state.requestWaiters.removeAll()
            }
            return state.serviceWaiters + state.requestWaiters
        }
        for waiter in waiters {
            waiter.timeout.withLock { $0?.cancel() }
            waiter.continuation.resume(throwing: Self.shutDownError)
        }
        try? await threadPool.shutdownGracefully()
    }

    private static let shutDownError = SQLError(kind: .connectionFailure, message: "the connection pool is shut down")

    /// Waits for a permit, within the caller's bounds; returns the idle connection that comes with it, if any.
    private func acquire(as caller: Caller) async throws -> SQLConnection? {
        let id = nextWaiterID.wrappingAdd(1, ordering: .relaxed).newValue
        let wait = caller == .request ? limits.requestWait : limits.serviceWait
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let waiter = Waiter(id: id, continuation: continuation)
                let queued = state.withLock { state -> Bool in
                    if state.isShutDown {
                        continuation.resume(throwing: Self.shutDownError)
                    } else if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else if state.leased < size && (caller == .service || state.leasedByRequests < size - limits.reservedForServices) {
                        state.leased += 1
                        if caller == .request { state.leasedByRequests += 1 }
                        continuation.resume(returning: state.idle.popLast())
                    } else if caller == .request && state.requestWaiters.count >= limits.maxRequestWaiters {
                        continuation.resume(throwing: PostgresPoolBusy(caller: caller, waited: .zero))
                    } else if caller == .request {
                        state.requestWaiters.append(waiter)
                        return true
                    } else {
                        state.serviceWaiters.append(waiter)
                        return true
                    }
                    return false
                }
                guard queued else { return }
                // Scheduled outside the lock: the timer takes the lock when it fires.
                let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(wait)) {
                    self.giveUp(waiterID: id, error: PostgresPoolBusy(caller: caller, waited: wait))
                }
                waiter.timeout.withLock { $0 = timer }
                // A waiter served before its timer was stored keeps a timer that will find nothing to do.
            }
        } onCancel: {
            giveUp(waiterID: id, error: CancellationError())
        }
    }

    /// Takes a waiter out of the queue and fails it, unless it was served meanwhile.
    private func giveUp(waiterID: Int, error: any Error) {
        guard let waiter = state.withLock({ $0.remove(waiterID) }) else { return }
        waiter.timeout.withLock { $0?.cancel() }
        waiter.continuation.resume(throwing: error)
    }

    /// Gives back a permit with its connection (nil if none or broken). A waiting service caller takes both
    /// over first, then a waiting request if requests hold less than their share; otherwise the connection
    /// goes idle.
    private func release(_ connection: SQLConnection?, by caller: Caller) {
        let waiter = state.withLock { state -> Waiter? in
            if caller == .request { state.leasedByRequests -= 1 }
            let next: Waiter?
            if !state.serviceWaiters.isEmpty {
                next = state.serviceWaiters.removeFirst()
            } else if !state.requestWaiters.isEmpty && state.leasedByRequests < size - limits.reservedForServices {
                next = state.requestWaiters.removeFirst()
                state.leasedByRequests += 1
            } else {
                next = nil
            }
            if next != nil { return next }
            state.leased -= 1
            if let connection, !state.isShutDown {
                state.idle.append(connection)
            }
            return nil
        }
        guard let waiter else { return }
        waiter.timeout.withLock { $0?.cancel() }
        waiter.continuation.resume(returning: connection)
    }
}

/// No database connection became free within the caller's bound, or too many callers were already waiting.
///
/// Transient: the database is busy, not broken; the same work may succeed a moment later. The services answer
/// it with 503 `service_busy` and `Retry-After`.
package struct PostgresPoolBusy: TransientError, CustomStringConvertible, Sendable {
    package var caller: PostgresPool.Caller
    /// How long the caller waited; zero when it was refused because the queue was full.
    package var waited: Duration

    package init(caller: PostgresPool.Caller, waited: Duration) {
        self.caller = caller
        self.waited = waited
    }

    package var description: String {
        waited == .zero
            ? "no database connection free and too many callers waiting (\(caller))"
            : "no database connection free within \(waited) (\(caller))"
    }
}
