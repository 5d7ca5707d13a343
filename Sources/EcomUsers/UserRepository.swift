import EcomAPI
import EcomPostgres
import EcomServerKit
import Foundation

/// An account row, with what the API never shows.
package struct UserRecord: Sendable, Equatable {
    package var id: UUID
    package var email: String
    package var passwordHash: String
    package var role: Role
    package var disabled: Bool
    package var createdAt: Date

    package var api: User { User(id: id, email: email, role: role, disabled: disabled, createdAt: createdAt) }
}

/// Where a page of the account list ends.
package struct UserListKey: Sendable, Equatable {
    package var createdAt: String
    package var id: UUID
}

/// What presenting a refresh token led to.
package enum RefreshOutcome: Sendable, Equatable {
    /// The token was current: it is now used, and `newTokenHash` is its successor in the family.
    case rotated(UserRecord, familyID: UUID)
    /// The token had been used before: the family is now revoked.
    case reused
    /// Unknown, expired, revoked, or the account is disabled.
    case invalid
}

/// The users service's storage.
package protocol UserRepository: Sendable {
    /// Inserts an account; throws `APIError` `email_taken` (409) when the email exists.
    func create(email: String, passwordHash: String, role: Role) async throws -> UserRecord
    func find(email: String) async throws -> UserRecord?
    func find(id: UUID) async throws -> UserRecord?
    /// Accounts in sign-up order; `after` is the key of the last one already shown.
    /// Returns the key of each account alongside it, to continue from.
    /// Accounts oldest first; `idPrefix` keeps those whose id starts with its digits.
    func list(idPrefix: IDPrefix?, limit: Int, after: UserListKey?) async throws -> [(UserRecord, UserListKey)]
    /// Changes role and/or disabled state; disabling revokes every refresh family of the account.
    /// Disabling, or removing the admin role, also revokes the account's access tokens issued until now.
    func update(id: UUID, role: Role?, disabled: Bool?) async throws -> UserRecord?
    /// Sets a new hash, revokes the account's refresh families except `keeping`, and revokes its
    /// access tokens issued until now.
    func changePassword(id: UUID, passwordHash: String, keeping family: UUID?) async throws
    /// The revocation feed after `cursor`, or, without one, the entries a service starting now needs.
    func revocations(since cursor: Int64?, limit: Int) async throws -> RevocationPage

    /// Starts a refresh family for a sign-in with its first token.
    func startFamily(userID: UUID, tokenHash: String, expiresAt: Date) async throws -> UUID
    /// Uses a refresh token and stores its successor, atomically.
    func rotate(tokenHash: String, newTokenHash: String, expiresAt: Date) async throws -> RefreshOutcome
    func revokeFamily(ofTokenHash tokenHash: String) async throws

    /// Takes one sign-in attempt for `key` before the password is verified, in one statement, so
    /// that concurrent attempts cannot all pass a check made before any of them is recorded.
    /// Returns nil when the attempt is counted (a failure unless given back), or when the key's
    /// lock ends, without counting anything, when it is locked.
    func reserveAttempt(key: String, policy: LoginThrottle) async throws -> Date?
    /// Gives back an attempt that did not fail: the count drops by one, and the lock it set goes.
    func returnAttempt(key: String, policy: LoginThrottle) async throws
    /// Forgets every failure of `key` (a successful sign-in to the account).
    func clearFailures(key: String) async throws

    /// Removes what is past its retention: expired refresh tokens, old revoked families, stale failure counts.
    func purgeExpired() async throws -> Int
}

/// How many sign-in attempts a key (an account, a client address) gets before it is locked,
/// and for how long.
package struct LoginThrottle: Sendable {
    /// Attempts before the first lock; the attempt that reaches it is still verified.
    package var freeAttempts: Int
    package var firstLockSeconds: Int
    package var longestLockSeconds: Int
    /// A key without a failure for this long starts counting again.
    package var quietSeconds: Int

    package init(freeAttempts: Int, firstLockSeconds: Int, longestLockSeconds: Int = 900, quietSeconds: Int = 900) {
        self.freeAttempts = freeAttempts
        self.firstLockSeconds = firstLockSeconds
        self.longestLockSeconds = longestLockSeconds
        self.quietSeconds = quietSeconds
    }

    /// Five password verifications, then one per lock window of 2 s, 4 s, 8 s, … up to 15 minutes.
    package static let account = LoginThrottle(freeAttempts: 5, firstLockSeconds: 2)
    /// Twenty failed sign-ins from one client address, whatever the accounts, then locks of a
    /// minute, two, … up to 15 minutes.
    package static let address = LoginThrottle(freeAttempts: 20, firstLockSeconds: 60)
}

/// `UserRepository` over PostgreSQL.
package struct PostgresUserRepository: UserRepository {
    let pool: PostgresPool

    package init(pool: PostgresPool) {
        self.pool = pool
    }

    private static let columns = "id, email, password_hash, role, disabled_at IS NOT NULL AS disabled, created_at"

    static func record(_ row: SQLRow) throws -> UserRecord {
        UserRecord(
            id: try row.decode("id"), email: try row.decode("email"),
            passwordHash: try row.decode("password_hash"),
            role: Role(rawValue: try row.decode("role", as: String.self)) ?? .user,
            disabled: try row.decode("disabled"), createdAt: try row.decode("created_at"))
    }

    package func create(email: String, passwordHash: String, role: Role) async throws -> UserRecord {
        do {
            let rows = try await pool.query(
                "INSERT INTO users (id, email, password_hash, role) VALUES (\(UUID.random()), \(email), \(passwordHash), \(role.rawValue)) RETURNING \(unescaped: Self.columns)")
            return try Self.record(rows[0])
        } catch let error as SQLError where error.kind == .uniqueViolation {
            throw APIError.conflict(ErrorCode.emailTaken, "an account with this email exists", field: "email")
        }
    }

    package func find(email: String) async throws -> UserRecord? {
        try await pool.query("SELECT \(unescaped: Self.columns) FROM users WHERE email = \(email)").first.map(Self.record)
    }

    package func find(id: UUID) async throws -> UserRecord? {
        try await pool.query("SELECT \(unescaped: Self.columns) FROM users WHERE id = \(id)").first.map(Self.record)
    }

    package func list(idPrefix: IDPrefix?, limit: Int, after: UserListKey?) async throws -> [(UserRecord, UserListKey)] {
        var conditions: [SQLQuery] = []
        if let idPrefix {
            // A range on the primary key's index (see `IDPrefix`).
            conditions.append("id BETWEEN \(idPrefix.lower)::uuid AND \(idPrefix.upper)::uuid")
        }
        if let after {
            conditions.append("(created_at, id) > (\(after.createdAt)::timestamptz, \(after.id))")
        }
        // The key keeps created_at as PostgreSQL prints it, so no precision is lost between pages.
        let rows = try await pool.query("""
            SELECT \(unescaped: Self.columns), created_at::text AS created_key FROM users \(SQLQuery.filter(conditions))
            ORDER BY created_at, id LIMIT \(limit)
            """)
        return try rows.map { row in
            let record = try Self.record(row)
            return (record, UserListKey(createdAt: try row.decode("created_key"), id: record.id))
        }
    }

    package func update(id: UUID, role: Role?, disabled: Bool?) async throws -> UserRecord? {
        try await pool.transaction { connection in
            let previous = try connection.query("SELECT role FROM users WHERE id = \(id) FOR UPDATE")
            guard let previousRole = try previous.first?.decode("role", as: String.self) else { return nil }
            let rows = try connection.query(
                """
                UPDATE users SET
                    role = COALESCE(\(role?.rawValue), role),
                    disabled_at = CASE WHEN \(disabled)::boolean IS NULL THEN disabled_at
                                       WHEN \(disabled)::boolean THEN COALESCE(disabled_at, now())
                                       ELSE NULL END,
                    updated_at = now()
                WHERE id = \(id) RETURNING \(unescaped: Self.columns)
                """)
            guard let row = rows.first else { return nil }
            if disabled == true {
                try connection.execute(
                    """
                    UPDATE refresh_families SET revoked_at = now(), revoked_reason = 'account disabled'
                    WHERE user_id = \(id) AND revoked_at IS NULL
                    """)
                try Self.recordRevocation(userID: id, reason: "account disabled", on: connection)
            } else if previousRole == Role.admin.rawValue, role != nil, role != .admin {
                try Self.recordRevocation(userID: id, reason: "admin role removed", on: connection)
            }
            return try Self.record(row)
        }
    }

    /// Voids the account's access tokens issued until now, in the caller's transaction.
    ///
    /// Writers take turns on the table until they commit, so the ids of the feed become visible
    /// in the order they were handed out and a reader that has seen an id has seen every smaller
    /// one. Readers are not blocked.
    static func recordRevocation(userID: UUID, reason: String, on connection: SQLConnection) throws {
        try connection.execute("LOCK TABLE revocations IN SHARE ROW EXCLUSIVE MODE")
        try connection.execute("INSERT INTO revocations (user_id, reason) VALUES (\(userID), \(reason))")
    }

    package func revocations(since cursor: Int64?, limit: Int) async throws -> RevocationPage {
        let columns = "id, user_id, floor(extract(epoch FROM revoked_at))::bigint + 1 AS issued_before"
        let latest: Int64 = try await pool.query("SELECT COALESCE(max(id), 0) AS latest FROM revocations")[0].decode("latest")
        let rows: [SQLRow]
        // A cursor past the end means the feed was made anew (a new database): start over.
        if let cursor, cursor <= latest {
            rows = try await pool.query(
                "SELECT \(unescaped: columns) FROM revocations WHERE id > \(cursor) ORDER BY id LIMIT \(limit)")
        } else {
            rows = try await pool.query(
                """
                SELECT \(unescaped: columns) FROM revocations
                WHERE revoked_at > now() - \(Int(RevocationPage.initialWindow))::integer * interval '1 second' ORDER BY id LIMIT \(limit)
                """)
        }
        let items = try rows.map { row in
            Revocation(cursor: try row.decode("id"), userID: try row.decode("user_id"), issuedBefore: try row.decode("issued_before"))
        }
        let more = items.count == limit
        let next: Int64
        if let cursor, cursor <= latest {
            next = items.last?.cursor ?? cursor
        } else {
            // Older entries are skipped, not missed: tokens they void have expired.
            next = more ? items.last!.cursor : max(latest, items.last?.cursor ?? 0)
        }
        return RevocationPage(items: items, cursor: next, more: more)
    }

    package func changePassword(id: UUID, passwordHash: String, keeping family: UUID?) async throws {
        try await pool.transaction { connection in
            try connection.execute(
                "UPDATE users SET password_hash = \(passwordHash), updated_at = now() WHERE id = \(id)")
            try connection.execute(
                """
                UPDATE refresh_families SET revoked_at = now(), revoked_reason = 'password changed'
                WHERE user_id = \(id) AND revoked_at IS NULL AND id IS DISTINCT FROM \(family)
                """)
            try Self.recordRevocation(userID: id, reason: "password changed", on: connection)
        }
    }

    package func startFamily(userID: UUID, tokenHash: String, expiresAt: Date) async throws -> UUID {
        let family = UUID.random()
        try await pool.transaction { connection in
            try connection.execute("INSERT INTO refresh_families (id, user_id) VALUES (\(family), \(userID))")
            try connection.execute(
                "INSERT INTO refresh_tokens (token_hash, family_id, expires_at) VALUES (\(tokenHash), \(family), \(expiresAt))")
        }
        return family
    }

    package func rotate(tokenHash: String, newTokenHash: String, expiresAt: Date) async throws -> RefreshOutcome {
        try await pool.transaction { connection in
            // The row lock makes two presentations of one token serialize: the second sees
            // `used_at` set and is treated as reuse.
            let rows = try connection.query(
                """
                SELECT t.family_id, t.used_at IS NOT NULL AS used, t.expires_at < now() AS expired,
                       f.revoked_at IS NOT NULL AS revoked, f.user_id
                FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id
                WHERE t.token_hash = \(tokenHash) FOR UPDATE OF t, f
                """)
            guard let row = rows.first else { return .invalid }
            let family: UUID = try row.decode("family_id")
            if try row.decode("revoked", as: Bool.self) || row.decode("expired", as: Bool.self) {
                return .invalid
            }
            if try row.decode("used", as: Bool.self) {
                try connection.execute(
                    "UPDATE refresh_families SET revoked_at = now(), revoked_reason = 'refresh token reused' WHERE id = \(family)")
                return .reused
            }
            let userRows = try connection.query(
                "SELECT \(unescaped: Self.columns) FROM users WHERE id = \(try row.decode("user_id", as: UUID.self))")
            guard let userRow = userRows.first else { return .invalid }
            let user = try Self.record(userRow)
            guard !user.disabled else { return .invalid }
            try connection.execute("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = \(tokenHash)")
            try connection.execute(
                "INSERT INTO refresh_tokens (token_hash, family_id, expires_at) VALUES (\(newTokenHash), \(family), \(expiresAt))")
            return .rotated(user, familyID: family)
        }
    }

    package func revokeFamily(ofTokenHash tokenHash: String) async throws {
        try await pool.execute(
            """
            UPDATE refresh_families SET revoked_at = now(), revoked_reason = 'signed out'
            WHERE revoked_at IS NULL AND id = (SELECT family_id FROM refresh_tokens WHERE token_hash = \(tokenHash))
            """)
    }

    package func reserveAttempt(key: String, policy: LoginThrottle) async throws -> Date? {
        // The attempt that reaches the free allowance locks the key; each later one, admitted
        // once the lock has ended, locks it twice as long as the last. A key quiet for the
        // policy's window starts again from one.
        let count: SQLQuery =
            "CASE WHEN f.last_failure_at < now() - make_interval(secs => \(policy.quietSeconds)::int) THEN 1 ELSE f.failures + 1 END"
        func lock(_ count: SQLQuery) -> SQLQuery {
            let (first, longest) = (policy.firstLockSeconds, policy.longestLockSeconds)
            return """
                CASE WHEN \(count) >= \(policy.freeAttempts)::int
                     THEN now() + make_interval(secs => least(\(first)::int * power(2, least(\(count) - \(policy.freeAttempts)::int, 20)), \(longest)::int))
                END
                """
        }
        let reserved = try await pool.query(
            """
            INSERT INTO login_failures AS f (key, failures, last_failure_at, locked_until)
            VALUES (\(key), 1, now(), \(lock("1")))
            ON CONFLICT (key) DO UPDATE SET failures = \(count), last_failure_at = now(), locked_until = \(lock(count))
            WHERE f.locked_until IS NULL OR f.locked_until <= now()
            RETURNING failures
            """)
        guard reserved.isEmpty else { return nil }
        let lockedUntil = try await pool.query("SELECT locked_until FROM login_failures WHERE key = \(key)")
            .first?.decode("locked_until", as: Date?.self)
        // The lock may have ended between the two statements; a one-second wait is then enough.
        return max(lockedUntil ?? .distantPast, Date().addingTimeInterval(1))
    }

    package func returnAttempt(key: String, policy: LoginThrottle) async throws {
        try await pool.execute(
            """
            UPDATE login_failures SET failures = greatest(failures - 1, 0),
                locked_until = CASE WHEN failures - 1 < \(policy.freeAttempts)::int THEN NULL ELSE locked_until END
            WHERE key = \(key)
            """)
    }

    package func clearFailures(key: String) async throws {
        try await pool.execute("DELETE FROM login_failures WHERE key = \(key)")
    }

    package func purgeExpired() async throws -> Int {
        try await pool.transaction { connection in
            var removed = try connection.execute(
                "DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day'")
            removed += try connection.execute(
                """
                DELETE FROM refresh_families f WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.id)
                AND f.created_at < now() - interval '1 day'
                """)
            removed += try connection.execute(
                "DELETE FROM login_failures WHERE last_failure_at < now() - interval '1 day'")
            // The feed keeps its newest entry, so a reader's cursor never runs past its end.
            removed += try connection.execute(
                """
                DELETE FROM revocations WHERE revoked_at < now() - interval '1 day'
                AND id < (SELECT max(id) FROM revocations)
                """)
            return removed
        }
    }
}
