import CLibPQ
import Foundation
import Logging
import Synchronization

/// The isolation level a transaction starts with (`BEGIN ISOLATION LEVEL …`).
package enum IsolationLevel: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}

/// One libpq connection. libpq calls block, so use it from a thread pool thread (as `PostgresPool` does);
/// `PGconn` is not thread-safe, so the handle sits behind a mutex that confines it to one thread at a time.
///
/// Each statement text is prepared once per connection and then only executed, so PostgreSQL parses and
/// plans it once rather than on every call (about half of the server's work for a short query).
///
/// A transaction's BEGIN (and any `SET LOCAL` asked for before its first statement) is not sent on its
/// own: it goes with the first statement, in one round trip through libpq's pipeline mode, and a
/// transaction that runs no statement sends nothing at all.
package final class SQLConnection: Sendable {
    private let handle: Mutex<Handle>
    private let logger: Logger

    /// Statement texts kept prepared per connection; texts beyond this many run unprepared, so SQL
    /// built from varying pieces cannot grow a connection's memory without bound.
    package static let preparedStatementLimit = 256

    /// The libpq connection and the names of the statements prepared on it, by statement text.
    private struct Handle {
        let connection: OpaquePointer
        var prepared: [String: String] = [:]
        /// What to run once the open transaction commits (see `afterCommit`).
        var afterCommit: [@Sendable () -> Void] = []
        /// Statements without parameters (BEGIN, SET LOCAL) still to be sent, ahead of the next statement.
        var prologue: [String] = []
        /// The `SET LOCAL`s asked for in the open transaction, each sent once however often asked.
        var localSettings: Set<String> = []
        /// Savepoints made on this connection, for their names.
        var savepoints = 0
        /// Whether the open transaction's COMMIT went with its last statement (`queryCommitting`).
        var committedWithStatement = false
    }

    /// Connects at once (blocking). `url` is a libpq URI or keyword/value string; unless it says otherwise,
    /// the connection gives up after 5 seconds and speaks UTF-8. With a `schema`, unqualified names resolve
    /// (and new tables land) in that schema first, then in `public`, where shared extensions live.
    /// `options` are further libpq keywords the URL may override.
    init(url: String, schema: String? = nil, options: [(String, String)] = [], logger: Logger) throws {
        // TCP keepalives notice a database host that vanished without closing its connections
        // (a power cut, a partition) within about 30 seconds rather than the system's two hours.
        let defaults = [
            ("connect_timeout", "5"), ("client_encoding", "UTF8"), ("fallback_application_name", "ecom"),
            ("keepalives_idle", "15"), ("keepalives_interval", "5"), ("keepalives_count", "3"),
        ] + options
        // Entries before the expanded `dbname` (the URL) are defaults the URL may override.
        let keywords = defaults.map(\.0) + ["dbname"]
        let values = defaults.map(\.1) + [url]
        let connection = withCStringArray(keywords + [nil]) { keywords in
            withCStringArray(values + [nil]) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let connection else {
            throw SQLError(kind: .connectionFailure, message: "out of memory")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(connection)
            throw SQLError(kind: .connectionFailure, message: message)
        }
        self.logger = logger
        self.handle = Mutex(Handle(connection: connection))
        handle.withLock { _ = PQsetNoticeProcessor($0.connection, noticeProcessor, Unmanaged.passUnretained(self).toOpaque()) }
        // A SET rather than the `options` startup parameter, which PgBouncer refuses unless told to ignore it.
        if let schema { try executeScript("SET search_path TO \(quotedIdentifier(schema)), public") }
    }

    deinit {
        handle.withLock { PQfinish($0.connection) }
    }

    /// Runs one statement, its interpolated values bound as parameters, and returns its rows.
    package func query(_ query: SQLQuery) throws -> [SQLRow] {
        let (sql, params) = query.statement
        return try handle.withLock { handle in
            try Self.checkStillOpen(handle)
            return try Self.run(sql, params, on: &handle, read: Self.rows)
        }
    }

    /// The setting that lets a transaction commit without waiting for the disk.
    static let lazyCommit = "SET LOCAL synchronous_commit TO off"

    /// Runs one statement outside any transaction, in one of its own whose commit does not wait for
    /// the disk (`synchronous_commit` off): BEGIN, the statement and COMMIT in one round trip. For
    /// writes whose loss in a crash costs only a repeat: a lease taken again, or an event sent again
    /// that its inboxes drop. Returns the statement's rows; on an error nothing is committed.
    package func queryCommittingLazily(_ query: SQLQuery) throws -> [SQLRow] {
        let (sql, params) = query.statement
        return try handle.withLock { handle in
            let status = PQtransactionStatus(handle.connection)
            guard handle.prologue.isEmpty, status != PQTRANS_INTRANS, status != PQTRANS_INERROR else {
                throw SQLError(kind: .other, message: "a statement to commit lazily must run outside a transaction")
            }
            handle.prologue = ["BEGIN", Self.lazyCommit]
            return try Self.runPipelined([(sql, params)], on: &handle, epilogue: ["COMMIT"], read: Self.rows)[0]
        }
    }

    /// Runs `queries` in order in one round trip (libpq's pipeline mode) and returns each one's rows: for
    /// statements none of which needs an answer of one before it. Each still sees what those before it
    /// wrote, as when they run one at a time. The first error is reported, and those after it do not
    /// run; outside a transaction they commit together or not at all.
    package func queries(_ queries: [SQLQuery]) throws -> [[SQLRow]] {
        let statements = queries.map { query in
            let (sql, params) = query.statement
            return (sql, params)
        }
        return try handle.withLock { handle in
            try Self.checkStillOpen(handle)
            return try Self.runPipelined(statements, on: &handle, read: Self.rows)
        }
    }

    /// Runs `query` as the open transaction's last statement and commits, in one round trip, for a
    /// statement whose answer decides nothing: an error in it rolls the transaction back, as it would
    /// have anyway. What was registered with `afterCommit` runs when the transaction's `commit()` comes,
    /// and no statement may follow; nor may the transaction's body throw after it, which would report
    /// a committed transaction as failed.
    package func queryCommitting(_ query: SQLQuery) throws -> [SQLRow] {
        let (sql, params) = query.statement
        return try handle.withLock { handle in
            try Self.checkStillOpen(handle)
            guard !handle.prologue.isEmpty || PQtransactionStatus(handle.connection) == PQTRANS_INTRANS else {
                throw SQLError(kind: .other, message: "a statement to commit with needs an open transaction that has not failed")
            }
            do {
                let rows = try Self.runPipelined([(sql, params)], on: &handle, epilogue: ["COMMIT"], read: Self.rows)[0]
                handle.committedWithStatement = true
                return rows
            } catch var error as SQLError where error.kind == .connectionFailure {
                // The COMMIT may have reached the server before the connection went.
                error.commitOutcomeUnknown = true
                throw error
            }
        }
    }

    /// Refuses a statement after `queryCommitting`, which would run outside the transaction it belongs to.
    private static func checkStillOpen(_ handle: Handle) throws {
        guard !handle.committedWithStatement else {
            throw SQLError(kind: .other, message: "a statement after the transaction committed with its last one")
        }
    }

    private static func rows(_ result: OpaquePointer) -> [SQLRow] {
        let columnCount = PQnfields(result)
        var columns = [String: Int]()
        // Backwards, so that of two same-named columns the first wins.
        for column in (0..<columnCount).reversed() {
            columns[String(cString: PQfname(result, column))] = Int(column)
        }
        return (0..<PQntuples(result)).map { row in
            SQLRow(columns: columns, values: (0..<columnCount).map { column in
                PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
            })
        }
    }

    /// Runs one statement, its interpolated values bound as parameters, and returns the number of rows it affected.
    @discardableResult
    package func execute(_ query: SQLQuery) throws -> Int {
        let (sql, params) = query.statement
        return try handle.withLock { handle in
            try Self.checkStillOpen(handle)
            return try Self.run(sql, params, on: &handle) { Int(String(cString: PQcmdTuples($0))) ?? 0 }
        }
    }

    /// Runs a script of one or more statements without parameters (simple query protocol), for migrations.
    func executeScript(_ sql: String) throws {
        try handle.withLock { handle in
            // The simple query protocol takes several statements in one string: the prologue goes first.
            let script = handle.prologue.isEmpty ? sql : (handle.prologue + [sql]).joined(separator: "; ")
            handle.prologue = []
            let result = PQexec(handle.connection, script)
            defer { PQclear(result) }
            try Self.check(result, on: handle.connection)
        }
    }

    /// Runs `body` between BEGIN and COMMIT; any error rolls back, so the connection leaves clean.
    /// What `body` registered with `afterCommit` runs once COMMIT has succeeded, and is dropped otherwise.
    func transaction<T>(isolation: IsolationLevel, _ body: () throws -> T) throws -> T {
        handle.withLock { handle in
            handle.afterCommit.removeAll()
            handle.localSettings.removeAll()
            handle.committedWithStatement = false
            handle.prologue = ["BEGIN ISOLATION LEVEL \(isolation.rawValue)"]
        }
        do {
            let value = try body()
            try commit()
            return value
        } catch {
            _ = recover()
            throw error
        }
    }

    /// Opens a transaction whose commit does not wait for the disk, for a caller that holds the
    /// connection across waits of its own (`PostgresPool.withLease`): BEGIN goes with the next
    /// statement, and `commit()` ends it. A lease that ends first rolls it back.
    package func beginCommittingLazily() throws {
        try handle.withLock { handle in
            guard handle.prologue.isEmpty, PQtransactionStatus(handle.connection) == PQTRANS_IDLE else {
                throw SQLError(kind: .other, message: "a transaction is already open on this connection")
            }
            handle.afterCommit.removeAll()
            handle.localSettings = [Self.lazyCommit]
            handle.committedWithStatement = false
            handle.prologue = ["BEGIN", Self.lazyCommit]
        }
    }

    /// Commits the open transaction (of `transaction`, or the one `beginCommittingLazily` opened);
    /// nothing is sent if no statement ran, or if COMMIT went with the last one (`queryCommitting`).
    /// What was registered with `afterCommit` runs once COMMIT has succeeded.
    package func commit() throws {
        // COMMIT in a failed transaction silently rolls back: report the failure instead.
        guard !isInFailedTransaction else {
            throw SQLError(kind: .other, message: "transaction aborted by an earlier error")
        }
        // Nothing to commit when BEGIN was never sent, or COMMIT was.
        let open = handle.withLock { handle in
            defer {
                handle.prologue = []
                handle.localSettings.removeAll()
                handle.committedWithStatement = false
            }
            return handle.prologue.isEmpty && !handle.committedWithStatement
        }
        if open {
            do {
                try execute("COMMIT")
            } catch var error as SQLError where error.kind == .connectionFailure {
                error.commitOutcomeUnknown = true
                throw error
            }
        }
        let actions = handle.withLock { handle in
            defer { handle.afterCommit.removeAll() }
            return handle.afterCommit
        }
        for action in actions { action() }
    }

    /// Runs `action` once the transaction open on this connection has committed, on the thread that
    /// committed it, and never if it rolls back; outside a transaction, at once. For what must follow
    /// a commit, never precede it: telling other processes about a change they could not see yet
    /// would let them cache what the commit is about to replace.
    package func afterCommit(_ action: @escaping @Sendable () -> Void) {
        let deferred = handle.withLock { handle in
            // Open once BEGIN has been sent, or while it waits to go with the first statement.
            guard !handle.prologue.isEmpty || PQtransactionStatus(handle.connection) != PQTRANS_IDLE else { return false }
            handle.afterCommit.append(action)
            return true
        }
        if !deferred { action() }
    }

    /// A point of the open transaction that `rollback(to:)` returns to (`SAVEPOINT`).
    package struct Savepoint: Sendable {
        /// Unique on its connection, so that a rollback to it never reaches a newer one of the same name.
        fileprivate let name: String
        /// How many `afterCommit` actions had been registered when it was made.
        fileprivate let actions: Int
    }

    /// Makes a savepoint in the open transaction.
    package func savepoint() throws -> Savepoint {
        let savepoint = handle.withLock { handle in
            handle.savepoints += 1
            return Savepoint(name: "ecom_savepoint_\(handle.savepoints)", actions: handle.afterCommit.count)
        }
        // Unprepared: each name is a text of its own, which would fill the connection's prepared statements.
        try executeScript("SAVEPOINT \(savepoint.name)")
        return savepoint
    }

    /// Undoes what ran since `savepoint` (`ROLLBACK TO SAVEPOINT`), and drops what was registered with
    /// `afterCommit` since then: it announced writes that will now never commit.
    package func rollback(to savepoint: Savepoint) throws {
        try executeScript("ROLLBACK TO SAVEPOINT \(savepoint.name)")
        handle.withLock { handle in
            if handle.afterCommit.count > savepoint.actions { handle.afterCommit.removeSubrange(savepoint.actions...) }
        }
    }

    /// Has the rest of the open transaction run its prepared statements on generic plans, planned once
    /// per connection, rather than on plans made for each call's values. PostgreSQL keeps re-planning
    /// a statement that takes an array (`unnest`, `= ANY`) at every call, because a plan made for the
    /// array's actual length always looks cheaper than one for a length it cannot know; for statements
    /// that find their rows by primary key the generic plan is the same plan, without the planning.
    /// Not for searches or filters whose best plan depends on the values (a pattern's selectivity, a
    /// partial index's predicate).
    package func useGenericPlans() throws {
        try setLocally("SET LOCAL plan_cache_mode = force_generic_plan")
    }

    /// Lets the open transaction commit without waiting for the disk (`synchronous_commit` off),
    /// for writes whose loss in a crash costs only a repeat.
    package func commitWithoutWaitingForDisk() throws {
        try setLocally(Self.lazyCommit)
    }

    /// Has the rest of the open transaction give up on a lock it waits for longer than `timeout`
    /// (`lock_timeout`): its statement then fails with SQLSTATE 55P03 (`isLockTimeout`).
    package func limitLockWaits(to timeout: Duration) throws {
        try setLocally("SET LOCAL lock_timeout = \(max(1, timeout.wholeMilliseconds))")
    }

    /// Runs `setting` (a `SET LOCAL`) in the open transaction: with its BEGIN, in the same round trip
    /// as its first statement, when that has not been sent yet; else at once; and not again in the
    /// same transaction (each handler of a batch of events asks for its own). Outside a transaction
    /// PostgreSQL would ignore it with a warning, so that is an error here. These are settings of
    /// speed and waiting: one that a rollback to a savepoint undoes is made again only by the next
    /// transaction.
    private func setLocally(_ setting: String) throws {
        let deferred = try handle.withLock { handle in
            guard !handle.localSettings.contains(setting) else { return true }
            guard handle.prologue.isEmpty else {
                handle.prologue.append(setting)
                handle.localSettings.insert(setting)
                return true
            }
            guard PQtransactionStatus(handle.connection) == PQTRANS_INTRANS else {
                throw SQLError(kind: .other, message: "\(setting) needs an open transaction")
            }
            handle.localSettings.insert(setting)
            return false
        }
        if !deferred { try execute("\(unescaped: setting)") }
    }

    /// Waits up to `timeout` for notifications on a connection that has run LISTEN, and returns those
    /// that arrived (possibly none). Throws once the connection is lost, e.g. when the server restarts.
    func notifications(waitingUpTo timeout: Duration) throws -> [SQLNotification] {
        try handle.withLock { handle in
            let connection = handle.connection
            var arrived = Self.takeNotifications(from: connection)
            if arrived.isEmpty {
                let socket = PQsocket(connection)
                guard socket >= 0 else { throw SQLError(kind: .connectionFailure, message: "the connection has no socket") }
                var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
                let ready = poll(&descriptor, 1, Int32(timeout.wholeMilliseconds))
                if ready < 0 && errno != EINTR {
                    throw SQLError(kind: .connectionFailure, message: "poll failed: \(String(cString: strerror(errno)))")
                }
                if ready > 0 {
                    guard PQconsumeInput(connection) == 1 else {
                        let message = String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
                        throw SQLError(kind: .connectionFailure, message: message)
                    }
                    arrived = Self.takeNotifications(from: connection)
                }
            }
            guard PQstatus(connection) == CONNECTION_OK else {
                throw SQLError(kind: .connectionFailure, message: "the connection was lost")
            }
            return arrived
        }
    }

    private static func takeNotifications(from connection: OpaquePointer) -> [SQLNotification] {
        var arrived: [SQLNotification] = []
        while let notification = PQnotifies(connection) {
            arrived.append(
                SQLNotification(
                    channel: String(cString: notification.pointee.relname), payload: String(cString: notification.pointee.extra),
                    backendPID: notification.pointee.be_pid))
            PQfreemem(notification)
        }
        return arrived
    }

    /// Whether an idle connection still looks usable: connected, and with nothing to read. An idle
    /// connection hears from the server only when it is going away (a FATAL message before the
    /// server shuts down, or the connection's end), so one with input waiting is not worth a
    /// statement that would fail.
    var isUsableWhenIdle: Bool {
        handle.withLock { handle in
            let connection = handle.connection
            guard PQstatus(connection) == CONNECTION_OK else { return false }
            let socket = PQsocket(connection)
            guard socket >= 0 else { return false }
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            return poll(&descriptor, 1, 0) == 0
        }
    }

    private var isInFailedTransaction: Bool {
        handle.withLock { PQtransactionStatus($0.connection) == PQTRANS_INERROR }
    }

    /// Brings the connection back to idle, rolling back any transaction left open (e.g. by a body that threw
    /// after BEGIN) and dropping what was to run after its commit; false if it is broken and must be dropped.
    func recover() -> Bool {
        handle.withLock { handle in
            handle.prologue = []
            handle.afterCommit.removeAll()
            handle.localSettings.removeAll()
            handle.committedWithStatement = false
            let connection = handle.connection
            guard PQstatus(connection) == CONNECTION_OK else { return false }
            switch PQtransactionStatus(connection) {
            case PQTRANS_IDLE:
                return true
            case PQTRANS_INTRANS, PQTRANS_INERROR:
                let result = PQexec(connection, "ROLLBACK")
                defer { PQclear(result) }
                return (try? Self.check(result, on: connection)) != nil && PQtransactionStatus(connection) == PQTRANS_IDLE
            default:
                return false
            }
        }
    }

    private static func run<R: Sendable>(
        _ sql: String, _ params: [any SQLEncodable], on handle: inout Handle, read: (OpaquePointer) -> R
    ) throws -> R {
        if !handle.prologue.isEmpty {
            return try runPipelined([(sql, params)], on: &handle, read: read)[0]
        }
        let connection = handle.connection
        let name = try prepare(sql, parameterCount: params.count, on: &handle)
        let result = withCStringArray(params.map(\.postgresText)) { values in
            if let name {
                PQexecPrepared(connection, name, Int32(params.count), values, nil, nil, 0)
            } else {
                PQexecParams(connection, sql, Int32(params.count), nil, values, nil, nil, 0)
            }
        }
        defer { PQclear(result) }
        try check(result, on: connection)
        return read(result!)
    }

    /// Sends the prologue, each statement (after its preparation, when it is new) and the epilogue, in one
    /// round trip (libpq's pipeline mode, one Sync at the end), then reads their results in order, and returns
    /// what `read` makes of each statement's. The first error is the one reported: PostgreSQL skips what
    /// follows it up to the Sync.
    private static func runPipelined<R: Sendable>(
        _ statements: [(sql: String, params: [any SQLEncodable])], on handle: inout Handle, epilogue: [String] = [],
        read: (OpaquePointer) -> R
    ) throws -> [R] {
        let connection = handle.connection
        let prologue = handle.prologue
        handle.prologue = []
        guard PQenterPipelineMode(connection) == 1 else { throw connectionError(connection) }
        var sent = 0
        var queued = true
        func send(_ enqueue: () -> Int32) {
            guard queued else { return }
            queued = enqueue() == 1
            sent += queued ? 1 : 0
        }
        for statement in prologue {
            send { PQsendQueryParams(connection, statement, 0, nil, nil, nil, nil, 0) }
        }
        // Statements prepared in this round trip, by text, with the index of their preparation's result.
        var preparing: [String: (name: String, index: Int)] = [:]
        var statementIndexes: [Int] = []
        for (sql, params) in statements {
            var name = handle.prepared[sql] ?? preparing[sql]?.name
            if name == nil, handle.prepared.count + preparing.count < preparedStatementLimit {
                let new = "ecom_\(handle.prepared.count + preparing.count + 1)"
                send { PQsendPrepare(connection, new, sql, Int32(params.count), nil) }
                if queued {
                    preparing[sql] = (new, sent - 1)
                    name = new
                }
            }
            send {
                withCStringArray(params.map(\.postgresText)) { values in
                    if let name {
                        PQsendQueryPrepared(connection, name, Int32(params.count), values, nil, nil, 0)
                    } else {
                        PQsendQueryParams(connection, sql, Int32(params.count), nil, values, nil, nil, 0)
                    }
                }
            }
            statementIndexes.append(sent - 1)
        }
        for statement in epilogue {
            send { PQsendQueryParams(connection, statement, 0, nil, nil, nil, nil, 0) }
        }
        guard queued, PQpipelineSync(connection) == 1 else {
            let error = connectionError(connection)
            PQexitPipelineMode(connection)
            throw error
        }
        // One result for each statement, each followed by a null; then the Sync's.
        var results: [OpaquePointer?] = []
        for _ in 0..<sent {
            var first: OpaquePointer?
            while let result = PQgetResult(connection) {
                if first == nil { first = result } else { PQclear(result) }
            }
            results.append(first)
        }
        defer { results.forEach { PQclear($0) } }
        var synced = false
        while !synced, let result = PQgetResult(connection) {
            synced = PQresultStatus(result) == PGRES_PIPELINE_SYNC
            PQclear(result)
        }
        guard synced, PQexitPipelineMode(connection) == 1 else { throw connectionError(connection) }
        // A statement prepared here stays prepared whatever came after it (preparing is not undone by a
        // rollback), so it is remembered before any error is reported: preparing it again would fail.
        for (sql, prepared) in preparing where prepared.index < results.count && PQresultStatus(results[prepared.index]) == PGRES_COMMAND_OK {
            handle.prepared[sql] = prepared.name
        }
        for result in results where PQresultStatus(result) != PGRES_PIPELINE_ABORTED {
            try check(result, on: connection)
        }
        guard results.count == sent else { throw connectionError(connection) }
        return try statementIndexes.map { index in
            guard let result = results[index] else { throw connectionError(connection) }
            return read(result)
        }
    }

    private static func connectionError(_ connection: OpaquePointer) -> SQLError {
        let message = String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
        return SQLError(
            kind: PQstatus(connection) == CONNECTION_OK ? .other : .connectionFailure,
            message: message.isEmpty ? "the connection was lost" : message)
    }

    /// The name `sql` is prepared under on this connection, preparing it the first time; nil once the
    /// connection holds its limit of prepared statements. Parameter types are inferred as for an
    /// unprepared statement. A statement that fails to prepare throws the error running it would.
    private static func prepare(_ sql: String, parameterCount: Int, on handle: inout Handle) throws -> String? {
        let (name, preparing) = statementName(for: sql, on: handle)
        guard let preparing else { return name }
        let result = PQprepare(handle.connection, preparing, sql, Int32(parameterCount), nil)
        defer { PQclear(result) }
        try check(result, on: handle.connection)
        handle.prepared[sql] = preparing
        return preparing
    }

    /// The name `sql` runs under on this connection, and that name again as `preparing` when it is
    /// new and the statement must be prepared under it first; no name once the connection holds its
    /// limit of prepared statements.
    private static func statementName(for sql: String, on handle: Handle) -> (name: String?, preparing: String?) {
        if let name = handle.prepared[sql] { return (name, nil) }
        guard handle.prepared.count < preparedStatementLimit else { return (nil, nil) }
        let name = "ecom_\(handle.prepared.count + 1)"
        return (name, name)
    }

    private static func check(_ result: OpaquePointer?, on connection: OpaquePointer) throws {
        let status = result.map(PQresultStatus)
        guard status != PGRES_COMMAND_OK, status != PGRES_TUPLES_OK, status != PGRES_EMPTY_QUERY else { return }
        func field(_ code: Unicode.Scalar) -> String? {
            PQresultErrorField(result, Int32(code.value)).map { String(cString: $0) }
        }
        let sqlState = field("C")
        let message = field("M") ?? String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
        let kind = PQstatus(connection) == CONNECTION_OK ? SQLError.Kind(sqlState: sqlState) : .connectionFailure
        throw SQLError(kind: kind, sqlState: sqlState, constraint: field("n"), message: message)
    }
}

/// A NOTIFY another session sent on a channel this connection listens on.
package struct SQLNotification: Sendable, Equatable {
    package var channel: String
    package var payload: String
    /// The process id of the server backend that sent it.
    package var backendPID: Int32
}

/// Routes server notices (e.g. "relation already exists, skipping") to the connection's logger instead of stderr.
private let noticeProcessor: PQnoticeProcessor = { context, message in
    guard let context, let message else { return }
    let connection = Unmanaged<SQLConnection>.fromOpaque(context).takeUnretainedValue()
    connection.logNotice(String(cString: message))
}

extension SQLConnection {
    fileprivate func logNotice(_ message: String) {
        logger.debug("PostgreSQL notice: \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
}

/// `name` as a double-quoted SQL identifier.
func quotedIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// `text` as a SQL string literal (`standard_conforming_strings` is on, as it has been by default since 9.1).
func quotedLiteral(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
}

/// Calls `body` with a C array of C strings (nil for a NULL entry) that stay valid for the whole call.
private func withCStringArray<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { $0.map { strdup($0) } ?? nil }
    defer { copies.forEach { free($0) } }
    return copies.map { $0.map { UnsafePointer($0) } }.withUnsafeBufferPointer { body($0.baseAddress!) }
}

extension Duration {
    /// The duration in whole milliseconds, rounded down: what `poll` and PostgreSQL's timeouts take.
    fileprivate var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
