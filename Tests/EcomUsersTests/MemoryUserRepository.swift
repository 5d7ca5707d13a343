import EcomAPI
import EcomServerKit
import Foundation

@testable import EcomUsers

/// `UserRepository` in memory, for tests of the routes' own logic: the same answers as
/// `PostgresUserRepository` for one caller at a time. What only the database can show (row
/// locks, concurrent writers, the feed's commit order) stays with the PostgreSQL tests.
actor MemoryUserRepository: UserRepository {
    private struct Family {
        var userID: UUID
        var revoked = false
    }

    private struct RefreshToken {
        var family: UUID
        var expiresAt: Date
        var used = false
    }

    private struct Failures {
        var count: Int
        var lastFailure: Date
        var lockedUntil: Date?
    }

    private var users: [UUID: UserRecord] = [:]
    /// The list key of each account: where it comes in sign-up order, which is what the database's
    /// key of creation time and id gives.
    private var createdKeys: [UUID: String] = [:]
    private var families: [UUID: Family] = [:]
    private var tokens: [String: RefreshToken] = [:]
    private var failures: [String: Failures] = [:]
    private var feed: [(revocation: Revocation, at: Date)] = []

    /// The revocation entries recorded so far, oldest first.
    var revocationEntries: [Revocation] { feed.map(\.revocation) }

    func create(email: String, passwordHash: String, role: Role) throws -> UserRecord {
        guard !users.values.contains(where: { $0.email == email }) else {
            throw APIError.conflict(ErrorCode.emailTaken, "an account with this email exists", field: "email")
        }
        // In whole seconds, as the API's JSON shows it.
        let createdAt = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let user = UserRecord(id: UUID(), email: email, passwordHash: passwordHash, role: role, disabled: false, createdAt: createdAt)
        users[user.id] = user
        let position = String(createdKeys.count)
        createdKeys[user.id] = String(repeating: "0", count: 20 - position.count) + position
        return user
    }

    func find(email: String) -> UserRecord? {
        users.values.first { $0.email == email }
    }

    func find(id: UUID) -> UserRecord? {
        users[id]
    }

    func list(idPrefix: IDPrefix?, limit: Int, after: UserListKey?) -> [(UserRecord, UserListKey)] {
        let keyed = users.values.map { user in (user, UserListKey(createdAt: createdKeys[user.id]!, id: user.id)) }
        return keyed
            .filter { _, key in idPrefix.map { ($0.lower.lowercased...$0.upper.lowercased).contains(key.id.lowercased) } ?? true }
            .filter { _, key in after.map { Self.precedes($0, key) } ?? true }
            .sorted { Self.precedes($0.1, $1.1) }
            .prefix(limit).map { $0 }
    }

    func update(id: UUID, role: Role?, disabled: Bool?) -> UserRecord? {
        guard var user = users[id] else { return nil }
        let previousRole = user.role
        user.role = role ?? user.role
        user.disabled = disabled ?? user.disabled
        users[id] = user
        if disabled == true {
            revokeFamilies(of: id, except: nil)
            recordRevocation(userID: id)
        } else if previousRole == .admin, role != nil, role != .admin {
            recordRevocation(userID: id)
        }
        return user
    }

    func changePassword(id: UUID, passwordHash: String, keeping family: UUID?) {
        users[id]?.passwordHash = passwordHash
        revokeFamilies(of: id, except: family)
        recordRevocation(userID: id)
    }

    func revocations(since cursor: Int64?, limit: Int) -> RevocationPage {
        let latest = feed.last?.revocation.cursor ?? 0
        if let cursor, cursor <= latest {
            let items = feed.map(\.revocation).filter { $0.cursor > cursor }.prefix(limit)
            return RevocationPage(items: Array(items), cursor: items.last?.cursor ?? cursor, more: items.count == limit)
        }
        // A cursor past the end means the feed was made anew: start over with what a starting service needs.
        let horizon = Date().addingTimeInterval(-RevocationPage.initialWindow)
        let items = Array(feed.filter { $0.at > horizon }.map(\.revocation).prefix(limit))
        let more = items.count == limit
        return RevocationPage(items: items, cursor: more ? items.last!.cursor : max(latest, items.last?.cursor ?? 0), more: more)
    }

    func startFamily(userID: UUID, tokenHash: String, expiresAt: Date) -> UUID {
        let family = UUID()
        families[family] = Family(userID: userID)
        tokens[tokenHash] = RefreshToken(family: family, expiresAt: expiresAt)
        return family
    }

    func rotate(tokenHash: String, newTokenHash: String, expiresAt: Date) -> RefreshOutcome {
        guard let token = tokens[tokenHash], let family = families[token.family], !family.revoked, token.expiresAt >= Date() else {
            return .invalid
        }
        if token.used {
            families[token.family]?.revoked = true
            return .reused
        }
        guard let user = users[family.userID], !user.disabled else { return .invalid }
        tokens[tokenHash]?.used = true
        tokens[newTokenHash] = RefreshToken(family: token.family, expiresAt: expiresAt)
        return .rotated(user, familyID: token.family)
    }

    func revokeFamily(ofTokenHash tokenHash: String) {
        guard let family = tokens[tokenHash]?.family else { return }
        families[family]?.revoked = true
    }

    func reserveAttempt(key: String, policy: LoginThrottle) -> Date? {
        let now = Date()
        guard let current = failures[key] else {
            failures[key] = Failures(count: 1, lastFailure: now, lockedUntil: Self.lock(after: 1, policy: policy, now: now))
            return nil
        }
        if let lockedUntil = current.lockedUntil, lockedUntil > now {
            return max(lockedUntil, now.addingTimeInterval(1))
        }
        let quiet = current.lastFailure < now.addingTimeInterval(-TimeInterval(policy.quietSeconds))
        let count = quiet ? 1 : current.count + 1
        failures[key] = Failures(count: count, lastFailure: now, lockedUntil: Self.lock(after: count, policy: policy, now: now))
        return nil
    }

    func returnAttempt(key: String, policy: LoginThrottle) {
        guard let current = failures[key] else { return }
        failures[key]?.count = max(current.count - 1, 0)
        if current.count - 1 < policy.freeAttempts { failures[key]?.lockedUntil = nil }
    }

    func clearFailures(key: String) {
        failures[key] = nil
    }

    func purgeExpired() -> Int {
        let dayAgo = Date().addingTimeInterval(-24 * 3600)
        let expired = tokens.filter { $0.value.expiresAt < dayAgo }.map(\.key)
        let stale = failures.filter { $0.value.lastFailure < dayAgo }.map(\.key)
        let old = feed.dropLast().filter { $0.at < dayAgo }.count
        expired.forEach { tokens[$0] = nil }
        stale.forEach { failures[$0] = nil }
        feed.removeFirst(old)
        return expired.count + stale.count + old
    }

    // MARK: - Helpers

    /// The lock the attempt numbered `count` sets: none before the free attempts are used, then
    /// twice as long each time, up to the longest.
    private static func lock(after count: Int, policy: LoginThrottle, now: Date) -> Date? {
        guard count >= policy.freeAttempts else { return nil }
        let seconds = min(policy.firstLockSeconds << min(count - policy.freeAttempts, 20), policy.longestLockSeconds)
        return now.addingTimeInterval(TimeInterval(seconds))
    }

    private func revokeFamilies(of userID: UUID, except kept: UUID?) {
        for (id, family) in families where family.userID == userID && id != kept {
            families[id]?.revoked = true
        }
    }

    private func recordRevocation(userID: UUID) {
        let now = Date()
        let cursor = (feed.last?.revocation.cursor ?? 0) + 1
        feed.append((Revocation(cursor: cursor, userID: userID, issuedBefore: Int64(now.timeIntervalSince1970.rounded(.down)) + 1), now))
    }

    private static func precedes(_ left: UserListKey, _ right: UserListKey) -> Bool {
        (left.createdAt, left.id.lowercased) < (right.createdAt, right.id.lowercased)
    }
}
