import EcomAPI
import EcomPostgres
import EcomServerKit
import Foundation
import Testing

@testable import EcomUsers

/// The users service's revocation feed on a real PostgreSQL database.
@Suite(.enabled(if: UsersTestDatabase.isAvailable, UsersTestDatabase.skipReason))
struct RevocationFeedTests {
    static func withRepository(_ body: (PostgresUserRepository, PostgresPool) async throws -> Void) async throws {
        try await UsersTestDatabase.withPool { pool in try await body(PostgresUserRepository(pool: pool), pool) }
    }

    @Test("disabling, demoting and a password change each add one entry; enabling, promoting and a no-op demotion add none")
    func whatRevokes() async throws {
        try await Self.withRepository { repository, _ in
            let admin = try await repository.create(email: "a@feed.test", passwordHash: "x", role: .admin)
            let user = try await repository.create(email: "u@feed.test", passwordHash: "x", role: .user)
            let before = Int64(Date().timeIntervalSince1970.rounded(.down))

            _ = try await repository.update(id: user.id, role: .admin, disabled: nil)
            _ = try await repository.update(id: user.id, role: nil, disabled: false)
            #expect(try await repository.revocations(since: 0, limit: 10).items.isEmpty)

            _ = try await repository.update(id: admin.id, role: .user, disabled: nil)
            _ = try await repository.update(id: admin.id, role: .user, disabled: nil)
            _ = try await repository.update(id: user.id, role: nil, disabled: true)
            try await repository.changePassword(id: user.id, passwordHash: "y", keeping: nil)
            let page = try await repository.revocations(since: 0, limit: 10)
            #expect(page.items.map(\.userID) == [admin.id, user.id, user.id])
            #expect(page.items.map(\.cursor) == page.items.map(\.cursor).sorted())
            #expect(page.cursor == page.items.last?.cursor)
            #expect(!page.more)
            let after = Int64(Date().timeIntervalSince1970.rounded(.down))
            // The second after the one each was recorded in.
            #expect(page.items.allSatisfy { (before + 1...after + 1).contains($0.issuedBefore) })
            #expect(try await repository.revocations(since: page.cursor, limit: 10) == RevocationPage(items: [], cursor: page.cursor))
        }
    }

    @Test("pages follow the cursor; a fresh reader gets only the last 16 minutes; a cursor past the end starts over")
    func paging() async throws {
        try await Self.withRepository { repository, pool in
            var users: [UUID] = []
            for index in 0..<5 {
                let user = try await repository.create(email: "p\(index)@feed.test", passwordHash: "x", role: .user)
                try await repository.changePassword(id: user.id, passwordHash: "y", keeping: nil)
                users.append(user.id)
            }
            // The first two are older than any token still alive.
            try await pool.execute(
                "UPDATE revocations SET revoked_at = now() - interval '20 minutes' WHERE user_id = ANY(\("{\(users[0].uuidString),\(users[1].uuidString)}")::uuid[])")

            var seen: [UUID] = []
            var cursor: Int64 = 0
            var page: RevocationPage
            repeat {
                page = try await repository.revocations(since: cursor, limit: 2)
                seen += page.items.map(\.userID)
                cursor = page.cursor
            } while page.more
            #expect(seen == users)

            let fresh = try await repository.revocations(since: nil, limit: 10)
            #expect(fresh.items.map(\.userID) == Array(users[2...]))
            #expect(fresh.cursor == cursor)
            #expect(try await repository.revocations(since: cursor + 100, limit: 10) == fresh)
        }
    }

    @Test("concurrent revocations become visible in cursor order: a reader that has seen a cursor has seen every smaller one")
    func ordering() async throws {
        try await Self.withRepository { repository, _ in
            let table = RevocationTable()
            // A few rounds: a reader overtaking a writer is a matter of timing.
            for round in 0..<4 {
                var users: [UUID] = []
                for index in 0..<16 {
                    users.append(try await repository.create(email: "c\(round)-\(index)@feed.test", passwordHash: "x", role: .user).id)
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for user in users {
                        group.addTask { try await repository.changePassword(id: user, passwordHash: "y", keeping: nil) }
                    }
                    // Read while they commit; every cursor handed out must be seen by reading on.
                    group.addTask {
                        for _ in 0..<40 {
                            table.apply(try await repository.revocations(since: table.cursor ?? 0, limit: 100))
                            try await Task.sleep(for: .milliseconds(5))
                        }
                    }
                    try await group.waitForAll()
                }
                table.apply(try await repository.revocations(since: table.cursor ?? 0, limit: 100))
                let aMinuteAgo = Int64(Date().timeIntervalSince1970) - 60
                #expect(users.allSatisfy { table.isRevoked(userID: $0, issuedAt: aMinuteAgo) }, "round \(round)")
            }
        }
    }
}
