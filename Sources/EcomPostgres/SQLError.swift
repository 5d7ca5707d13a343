/// A failure reported by libpq or the server, classified so callers can react without parsing messages.
package struct SQLError: Error, CustomStringConvertible, Sendable {
    package enum Kind: Sendable, Equatable {
        case uniqueViolation
        case foreignKeyViolation
        case checkViolation
        case notNullViolation
        case serializationFailure
        case deadlock
        case connectionFailure
        case queryCanceled
        case other
    }

    package var kind: Kind
    /// The five-character SQLSTATE, e.g. "23505"; nil when the failure happened on the client side.
    package var sqlState: String?
    /// The violated constraint's name, for integrity violations.
    package var constraint: String?
    /// The server's (or libpq's) primary message: for logs only, never for API clients.
    package var message: String
    /// The connection was lost while COMMIT was on its way: the transaction may have committed or
    /// not, so it must not simply be run again.
    package var commitOutcomeUnknown = false

    package init(kind: Kind, sqlState: String? = nil, constraint: String? = nil, message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.constraint = constraint
        self.message = message
    }

    package var description: String {
        var text = "PostgreSQL \(kind)"
        if let sqlState { text += " [\(sqlState)]" }
        if let constraint { text += " on \(constraint)" }
        return text + ": \(message)"
    }

    /// Whether the transaction lost a race with another one, so that running it again at once may succeed.
    package var isConcurrencyConflict: Bool {
        kind == .serializationFailure || kind == .deadlock
    }

    /// Whether a statement gave up waiting for a lock (`lock_timeout`): lock_not_available.
    package var isLockTimeout: Bool { sqlState == "55P03" }

    /// Whether the connection was lost, or the server went away (shutting down, restarting, not
    /// yet accepting sessions, a standby being promoted), before a transaction could commit: it
    /// was rolled back, and running it again on a new connection (to a new primary, with a
    /// multi-host URL) is safe.
    package var isLostBeforeCommit: Bool {
        guard !commitOutcomeUnknown else { return false }
        return kind == .connectionFailure || ["57P01", "57P02", "57P03"].contains(sqlState ?? "")
    }
}

/// An error of a condition that passes on its own (a database restarting or out of disk, a lock
/// held for a while, a connection pool that stays full): work that fails with one is retried for
/// as long as it lasts instead of being given up. An error type conforms as a whole (the default),
/// or decides per value, as `SQLError` does by SQLSTATE.
package protocol TransientError: Error {
    var isTransient: Bool { get }
}

extension TransientError {
    package var isTransient: Bool { true }
}

/// Whether `error` is transient: the one place that decides whether a failure is waited out or counted.
package func isTransient(_ error: any Error) -> Bool {
    (error as? any TransientError)?.isTransient ?? false
}

extension SQLError: TransientError {
    /// A failure of the database or of the way to it rather than of the work (Appendix A of the
    /// PostgreSQL manual): a lost connection, including libpq's own failures that carry no
    /// SQLSTATE; a lost race (serialization failure, deadlock); a lock or statement timeout; a
    /// server short of disk, memory or connections; a server shutting down or starting up.
    package var isTransient: Bool {
        if kind == .connectionFailure || isConcurrencyConflict || isLockTimeout { return true }
        guard let sqlState else { return false }
        switch sqlState {
        case "57014",  // query_canceled: statement_timeout
            "57P01", "57P02", "57P03",  // admin_shutdown, crash_shutdown, cannot_connect_now
            "57P05", "25P03",  // idle_session_timeout, idle_in_transaction_session_timeout
            "58000", "58030",  // system_error, io_error
            "72000":  // snapshot_too_old
            return true
        default:
            // Connection exceptions; insufficient resources (disk full, out of memory, too many connections).
            return sqlState.hasPrefix("08") || sqlState.hasPrefix("53")
        }
    }
}

extension SQLError.Kind {
    /// Classifies a SQLSTATE (Appendix A of the PostgreSQL manual).
    package init(sqlState: String?) {
        switch sqlState {
        case "23505": self = .uniqueViolation
        case "23503": self = .foreignKeyViolation
        case "23514": self = .checkViolation
        case "23502": self = .notNullViolation
        case "40001": self = .serializationFailure
        case "40P01": self = .deadlock
        case "57014": self = .queryCanceled
        case let state? where state.hasPrefix("08"): self = .connectionFailure
        default: self = .other
        }
    }
}
