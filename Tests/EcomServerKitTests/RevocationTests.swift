import EcomAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOFoundationCompat
import Logging
import Synchronization
import Testing

@testable import EcomServerKit

@Suite struct RevocationTableTests {
    let user = UUID()
    let other = UUID()
    let now = Date()
    var second: Int64 { Int64(now.timeIntervalSince1970.rounded(.down)) }

    @Test("a token issued before the revocation's second, or in it, is void; one issued after is not")
    func boundary() {
        let table = RevocationTable()
        // Recorded during second `second`: the feed says tokens issued before `second + 1` are void.
        table.apply(RevocationPage(items: [Revocation(cursor: 1, userID: user, issuedBefore: second + 1)], cursor: 1), now: now)
        #expect(table.isRevoked(userID: user, issuedAt: second - 100))
        #expect(table.isRevoked(userID: user, issuedAt: second))
        #expect(!table.isRevoked(userID: user, issuedAt: second + 1))
        #expect(!table.isRevoked(userID: other, issuedAt: second - 100))
        #expect(table.issuedBefore(user) == second + 1)
        #expect(table.issuedBefore(other) == nil)
    }

    @Test("entries only tighten the table, and the cursor only moves forward, whatever order pages come in")
    func merging() {
        let table = RevocationTable()
        #expect(table.cursor == nil)
        table.apply(RevocationPage(items: [Revocation(cursor: 7, userID: user, issuedBefore: second + 1)], cursor: 7), now: now)
        table.apply(RevocationPage(items: [Revocation(cursor: 3, userID: user, issuedBefore: second - 30)], cursor: 3), now: now)
        #expect(table.issuedBefore(user) == second + 1)
        #expect(table.cursor == 7)
        table.apply(RevocationPage(items: [], cursor: 9), now: now)
        #expect(table.cursor == 9)
        #expect(table.issuedBefore(user) == second + 1)
    }

    @Test("entries older than a token's lifetime and the clock margin are dropped: such tokens have expired")
    func pruning() {
        let table = RevocationTable()
        let old = second - Int64(RevocationPage.initialWindow) - 1
        table.apply(
            RevocationPage(items: [Revocation(cursor: 1, userID: user, issuedBefore: old), Revocation(cursor: 2, userID: other, issuedBefore: second)], cursor: 2),
            now: now)
        #expect(table.issuedBefore(user) == nil)
        #expect(table.issuedBefore(other) == second)
        // Later, the surviving entry ages out as well.
        table.apply(RevocationPage(items: [], cursor: 2), now: now.addingTimeInterval(RevocationPage.initialWindow + 1))
        #expect(table.issuedBefore(other) == nil)
    }

    @Test("the table is current only once read, and for the grace period after the read began")
    func freshness() {
        let table = RevocationTable(grace: .seconds(5))
        let start = ContinuousClock.now
        #expect(!table.isCurrent(at: start))
        table.markRefreshed(at: start)
        #expect(table.isCurrent(at: start + .seconds(5)))
        #expect(!table.isCurrent(at: start + .seconds(6)))
        // An older read finishing late does not make the table look fresher or staler.
        table.markRefreshed(at: start - .seconds(3))
        #expect(table.isCurrent(at: start + .seconds(5)))
    }
}

@Suite struct RevocationTokenTests {
    static let key = "a-test-signing-key-that-is-long-enough-0123456789"
    let user = UUID()

    @Test("a revoked account's earlier token is refused; a token issued in the revocation's second still verifies")
    func revokedToken() async throws {
        let table = RevocationTable()
        let tokens = await TokenService(key: try SigningKey(Self.key), revocations: table)
        let now = Date()
        let earlier = try await tokens.issueAccessToken(userID: user, role: .admin, sessionID: nil, now: now.addingTimeInterval(-60))
        let sameSecond = try await tokens.issueAccessToken(userID: user, role: .admin, sessionID: nil, now: now)
        let service = try await tokens.issueServiceToken(service: "orders", now: now)
        let second = Int64(now.timeIntervalSince1970.rounded(.down))
        table.apply(RevocationPage(items: [Revocation(cursor: 1, userID: user, issuedBefore: second + 1)], cursor: 1))

        await #expect(throws: TokenService.Failure.revoked) { try await tokens.verify(earlier) }
        await #expect(throws: TokenService.Failure.revoked) { try await tokens.verify(sameSecond) }
        #expect(try await tokens.verify(service).role == .service)

        // Issued after the revocation within the same second: its iat is moved to the next second.
        let after = try await tokens.issueAccessToken(userID: user, role: .user, sessionID: nil, now: now)
        #expect(try await tokens.verify(after).role == .user)
        // Other accounts are untouched.
        let bystander = try await tokens.issueAccessToken(userID: UUID(), role: .user, sessionID: nil, now: now.addingTimeInterval(-60))
        #expect(try await tokens.verify(bystander).role == .user)
    }
}

/// A feed whose reads fail while `failing` is set.
final class ScriptedSource: RevocationSource, Sendable {
    let failing = Mutex(false)
    let reads = Atomic<Int>(0)
    let entries: [Revocation]

    init(entries: [Revocation]) {
        self.entries = entries
    }

    func revocations(since cursor: Int64?) async throws -> RevocationPage {
        reads.add(1, ordering: .relaxed)
        if failing.withLock({ $0 }) { throw APIError.unavailable }
        let items = entries.filter { $0.cursor > (cursor ?? 0) }.prefix(2)
        return RevocationPage(items: Array(items), cursor: items.last?.cursor ?? cursor ?? 0, more: items.count == 2)
    }
}

/// A feed that entries can be added to.
final class GrowingSource: RevocationSource, Sendable {
    let entries = Mutex<[Revocation]>([])
    let reads = Atomic<Int>(0)
    /// How long each read takes.
    let delay = Mutex<Duration>(.zero)

    func add(_ entry: Revocation) {
        entries.withLock { $0.append(entry) }
    }

    func revocations(since cursor: Int64?) async throws -> RevocationPage {
        reads.add(1, ordering: .relaxed)
        let delay = delay.withLock { $0 }
        if delay > .zero { try await Task.sleep(for: delay) }
        let items = entries.withLock { $0.filter { $0.cursor > (cursor ?? 0) } }
        return RevocationPage(items: items, cursor: items.last?.cursor ?? cursor ?? 0)
    }
}

@Suite struct RevocationPollerTests {
    static func waitUntil(_ condition: @Sendable () -> Bool, within limit: Duration = .seconds(20)) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    @Test("the poller reads every page, goes stale when reads fail past the grace period, and recovers")
    func outage() async throws {
        let users = (0..<5).map { _ in UUID() }
        let future = Int64(Date().timeIntervalSince1970) + 10
        let source = ScriptedSource(entries: users.enumerated().map { Revocation(cursor: Int64($0 + 1), userID: $1, issuedBefore: future) })
        let table = RevocationTable(grace: .milliseconds(400))
        let poller = RevocationPoller(table: table, source: source, interval: .milliseconds(50), logger: Logger(label: "test"))
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await poller.run() }
            #expect(await Self.waitUntil { table.isCurrent() })
            // Five entries in pages of two, all read before the table counted as current.
            #expect(users.allSatisfy { table.isRevoked(userID: $0, issuedAt: future - 1) })
            #expect(table.cursor == 5)

            source.failing.withLock { $0 = true }
            #expect(await Self.waitUntil { !table.isCurrent() })
            // What was known is kept.
            #expect(table.isRevoked(userID: users[0], issuedAt: future - 1))
            source.failing.withLock { $0 = false }
            #expect(await Self.waitUntil { table.isCurrent() })
            group.cancelAll()
        }
    }

    @Test("an admin request on a stale table reads the feed itself rather than be refused, and is judged by what it read")
    func catchUpOnDemand() async throws {
        let demoted = UUID()
        let source = GrowingSource()
        let table = RevocationTable(grace: .milliseconds(300))
        // A poller that reads once and then not for an hour: a process whose poller is starved.
        let poller = RevocationPoller(table: table, source: source, interval: .seconds(3600), logger: Logger(label: "test"))
        let tokens = await TokenService(key: try SigningKey(RevocationTokenTests.key), revocations: table)
        let admin = try await tokens.issueAccessToken(userID: UUID(), role: .admin, sessionID: nil)
        let demotedToken = try await tokens.issueAccessToken(
            userID: demoted, role: .admin, sessionID: nil, now: Date().addingTimeInterval(-30))
        let app = Application(router: Self.router(tokens))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await poller.run() }
            // The first read done (the table is current for only 300 ms after it, which a busy
            // machine can let pass before a check sees it).
            #expect(await Self.waitUntil { table.cursor != nil })
            try await Task.sleep(for: .milliseconds(400))
            #expect(!table.isCurrent())
            let readsBefore = source.reads.load(ordering: .relaxed)
            // Demoted while the poller slept: only a fresh read knows.
            source.add(Revocation(cursor: 1, userID: demoted, issuedBefore: Int64(Date().timeIntervalSince1970) + 1))
            try await app.test(.router) { client in
                try await client.execute(uri: "/admin/thing", method: .get, headers: [.authorization: "Bearer \(demotedToken)"]) { response in
                    #expect(response.status == .unauthorized)
                }
                try await client.execute(uri: "/admin/thing", method: .get, headers: [.authorization: "Bearer \(admin)"]) { response in
                    #expect(response.status == .ok)
                }
            }
            #expect(source.reads.load(ordering: .relaxed) > readsBefore)
            group.cancelAll()
        }
    }

    @Test("a catch-up read longer than the grace period lets through the admin request that started it, not one that joined it once begun")
    func slowCatchUp() async throws {
        let source = GrowingSource()
        let table = RevocationTable(grace: .milliseconds(100))
        // No polling loop: the table is stale until a request has the feed read, which takes
        // four times the grace period (a starved process).
        let poller = RevocationPoller(table: table, source: source, interval: .seconds(3600), logger: Logger(label: "test"))
        table.setRefresher { try await poller.refresh() }
        source.delay.withLock { $0 = .seconds(1) }
        #expect(!table.isCurrent())
        let tokens = await TokenService(key: try SigningKey(RevocationTokenTests.key), revocations: table)
        let admin = try await tokens.issueAccessToken(userID: UUID(), role: .admin, sessionID: nil)
        let app = Application(router: Self.router(tokens))
        try await app.test(.router) { client in
            async let first = client.execute(uri: "/admin/thing", method: .get, headers: [.authorization: "Bearer \(admin)"]) { $0.status }
            // A request that comes once that read has begun shares it, but the read may have begun
            // before a revocation this request must see: it does not count for it.
            while source.reads.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(5)) }
            let second = try await client.execute(uri: "/admin/thing", method: .get, headers: [.authorization: "Bearer \(admin)"]) { $0.status }
            #expect(try await first == .ok)
            #expect(second == .serviceUnavailable)
        }
        #expect(source.reads.load(ordering: .relaxed) == 1)
    }

    static func router(_ tokens: TokenService) -> Router<EcomRequestContext> {
        let router = Router.service("test", tokens: tokens, checks: [])
        router.get("/admin/thing") { _, context -> String in
            _ = try context.requireAdmin()
            return "admin"
        }
        router.get("/api/thing") { _, context -> String in
            _ = try context.requireAccount()
            return "account"
        }
        return router
    }

    @Test("with a stale table, admin routes answer 503 with Retry-After and /ready says why; account routes keep working")
    func failClosed() async throws {
        let table = RevocationTable(grace: .seconds(5))
        let tokens = await TokenService(key: try SigningKey(RevocationTokenTests.key), revocations: table)
        let admin = try await tokens.issueAccessToken(userID: UUID(), role: .admin, sessionID: nil)
        let revoked = UUID()
        let revokedToken = try await tokens.issueAccessToken(userID: revoked, role: .user, sessionID: nil, now: Date().addingTimeInterval(-30))
        table.apply(RevocationPage(items: [Revocation(cursor: 1, userID: revoked, issuedBefore: Int64(Date().timeIntervalSince1970) - 5)], cursor: 1))
        table.markRefreshed(at: .now - .seconds(10))
        let app = Application(router: Self.router(tokens))
        try await app.test(.router) { client in
            try await client.execute(uri: "/admin/thing", method: .get, headers: [.authorization: "Bearer \(admin)"]) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "2")
                let error = try JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                #expect(error.error.code == ErrorCode.revocationsUnavailable)
            }
            try await client.execute(uri: "/api/thing", method: .get, headers: [.authorization: "Bearer \(admin)"]) { response in
                #expect(response.status == .ok)
            }
            // The last known table still refuses a revoked token.
            try await client.execute(uri: "/api/thing", method: .get, headers: [.authorization: "Bearer \(revokedToken)"]) { response in
                #expect(response.status == .unauthorized)
                let error = try JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                #expect(error.error.code == ErrorCode.unauthorized)
                #expect(error.error.message.contains("revoked"))
            }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let status = try JSONDecoder().decode(HealthStatus.self, from: Data(buffer: response.body))
                #expect(status.checks?["revocations"] == false)
            }
            table.markRefreshed(at: .now)
            try await client.execute(uri: "/admin/thing", method: .get, headers: [.authorization: "Bearer \(admin)"]) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }
}
