/// A failure reported by libpq or the server, classified so callers can react without parsing messages.
package struct PostgresError: Error, CustomStringConvertible, Sendable {
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

    /// Whether running the same transaction again may succeed.
    var isTransient: Bool {
        kind == .serializationFailure || kind == .deadlock
    }
}

extension PostgresError.Kind {
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
