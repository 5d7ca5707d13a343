import EcomAPI
import EcomServerKit
import EcomTestSupport
import Foundation
import Testing

@testable import EcomUsers

/// What the routes rely on from a `UserRepository`, checked on the in-memory one and, with a
/// database, on PostgreSQL: the in-memory repository answers as the real one does.
@Suite struct UserRepositoryContractTests {
    static func withRepository(_ backend: RepositoryBackend, _ body: (any UserRepository) async throws -> Void) async throws {
        switch backend {
        case .memory: try await body(MemoryUserRepository())
        case .postgres: try await UsersTestDatabase.withPool { pool in try await body(PostgresUserRepository(pool: pool)) }
        }
    }

    @Test("emails are unique; the list pages in sign-up order from the key of the last account shown", arguments: RepositoryBackend.available)
    func accounts(_ backend: RepositoryBackend) async throws {
        try await Self.withRepository(backend) { repository in
            var created: [UserRecord] = []
            for index in 0..<5 {
                created.append(try await repository.create(email: "u\(index)@b.co", passwordHash: "x", role: .user))
            }
            do {
                _ = try await repository.create(email: "u0@b.co", passwordHash: "y", role: .admin)
                Issue.record("a second account with one email")
            } catch let error as APIError {
                #expect(error.code == ErrorCode.emailTaken && error.field == "email")
            }
            #expect(try await repository.find(email: "u3@b.co") == created[3])
            #expect(try await repository.find(id: UUID()) == nil)

            let first = try await repository.list(idPrefix: nil, limit: 2, after: nil)
            let rest = try await repository.list(idPrefix: nil, limit: 10, after: try #require(first.last).1)
            #expect((first + rest).map(\.0) == created)
            let prefix = try #require(IDPrefix(String(created[2].id.lowercased.prefix(8))))
            #expect(try await repository.list(idPrefix: prefix, limit: 10, after: nil).map(\.0.id) == [created[2].id])
        }
    }

    @Test("disabling, demoting an admin and a password change revoke; promoting and enabling do not", arguments: RepositoryBackend.available)
    func revocations(_ backend: RepositoryBackend) async throws {
        try await Self.withRepository(backend) { repository in
            let admin = try await repository.create(email: "a@b.co", passwordHash: "x", role: .admin)
            let user = try await repository.create(email: "u@b.co", passwordHash: "x", role: .user)
            #expect(try await repository.update(id: UUID(), role: .admin, disabled: nil) == nil)
            #expect(try await repository.update(id: user.id, role: .admin, disabled: false)?.role == .admin)
            #expect(try await repository.revocations(since: 0, limit: 10).items.isEmpty)

            #expect(try await repository.update(id: admin.id, role: .user, disabled: nil)?.role == .user)
            #expect(try await repository.update(id: user.id, role: nil, disabled: true)?.disabled == true)
            try await repository.changePassword(id: admin.id, passwordHash: "y", keeping: nil)
            let page = try await repository.revocations(since: 0, limit: 2)
            #expect(page.items.map(\.userID) == [admin.id, user.id] && page.more)
            let rest = try await repository.revocations(since: page.cursor, limit: 2)
            #expect(rest.items.map(\.userID) == [admin.id] && !rest.more)
            #expect(try await repository.find(id: admin.id)?.passwordHash == "y")
            #expect(try await repository.revocations(since: nil, limit: 10).items.count == 3)
        }
    }

    @Test("a refresh token rotates once; presented again it revokes its family; a disabled account's is invalid", arguments: RepositoryBackend.available)
    func refreshTokens(_ backend: RepositoryBackend) async throws {
        try await Self.withRepository(backend) { repository in
            let user = try await repository.create(email: "r@b.co", passwordHash: "x", role: .user)
            let later = Date().addingTimeInterval(3600)
            let family = try await repository.startFamily(userID: user.id, tokenHash: "t1", expiresAt: later)
            #expect(try await repository.rotate(tokenHash: "t1", newTokenHash: "t2", expiresAt: later) == .rotated(user, familyID: family))
            #expect(try await repository.rotate(tokenHash: "t1", newTokenHash: "t3", expiresAt: later) == .reused)
            #expect(try await repository.rotate(tokenHash: "t2", newTokenHash: "t4", expiresAt: later) == .invalid)
            #expect(try await repository.rotate(tokenHash: "unknown", newTokenHash: "t5", expiresAt: later) == .invalid)

            _ = try await repository.startFamily(userID: user.id, tokenHash: "s1", expiresAt: later)
            try await repository.revokeFamily(ofTokenHash: "s1")
            #expect(try await repository.rotate(tokenHash: "s1", newTokenHash: "s2", expiresAt: later) == .invalid)
            let kept = try await repository.startFamily(userID: user.id, tokenHash: "k1", expiresAt: later)
            _ = try await repository.startFamily(userID: user.id, tokenHash: "o1", expiresAt: later)
            try await repository.changePassword(id: user.id, passwordHash: "y", keeping: kept)
            #expect(try await repository.rotate(tokenHash: "o1", newTokenHash: "o2", expiresAt: later) == .invalid)
            guard case .rotated = try await repository.rotate(tokenHash: "k1", newTokenHash: "k2", expiresAt: later) else {
                Issue.record("the kept family was revoked")
                return
            }
            _ = try await repository.update(id: user.id, role: nil, disabled: true)
            #expect(try await repository.rotate(tokenHash: "k2", newTokenHash: "k3", expiresAt: later) == .invalid)
        }
    }

    @Test("attempts pass until the free ones are used, the last of them locking the key; a given-back attempt lifts the lock", arguments: RepositoryBackend.available)
    func throttle(_ backend: RepositoryBackend) async throws {
        try await Self.withRepository(backend) { repository in
            let policy = LoginThrottle(freeAttempts: 3, firstLockSeconds: 300)
            for _ in 0..<3 { #expect(try await repository.reserveAttempt(key: "k", policy: policy) == nil) }
            let until = try #require(try await repository.reserveAttempt(key: "k", policy: policy))
            #expect(until.timeIntervalSinceNow > 250)
            try await repository.returnAttempt(key: "k", policy: policy)
            #expect(try await repository.reserveAttempt(key: "k", policy: policy) == nil)
            #expect(try await repository.reserveAttempt(key: "k", policy: policy) != nil)
            #expect(try await repository.reserveAttempt(key: "other", policy: policy) == nil)
            try await repository.clearFailures(key: "k")
            #expect(try await repository.reserveAttempt(key: "k", policy: policy) == nil)
        }
    }
}
