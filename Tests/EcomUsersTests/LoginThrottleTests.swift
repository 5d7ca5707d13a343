import EcomAPI
import EcomPostgres
import EcomServerKit
import EcomTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import EcomUsers

enum UsersTestDatabase {
    static let isAvailable = ThrowawayDatabase.isAvailable
    static let skipReason = Comment(rawValue: ThrowawayDatabase.skipReason)

    /// Runs `body` with a pool on a fresh, migrated users database, dropped afterwards.
    static func withPool<T>(_ body: (PostgresPool) async throws -> T) async throws -> T {
        try await ThrowawayDatabase.withPool(prefix: "ecom_users_test", size: 8, migrations: usersMigrations, body)
    }
}

/// The users router with the given throttles, and a hasher that counts its work.
struct UsersTestApp: Sendable {
    let client: any TestClientProtocol
    let hasher: PasswordHasher
    let tokens: TokenService
    let repository: any UserRepository
    /// How many times a route asked for the revocation feed to be read at once.
    let revocationReads: CallCounter

    /// On a fresh PostgreSQL database.
    static func run(
        account: LoginThrottle = .account, address: LoginThrottle = .address,
        _ body: @escaping @Sendable (UsersTestApp) async throws -> Void
    ) async throws {
        try await UsersTestDatabase.withPool { pool in
            try await run(repository: PostgresUserRepository(pool: pool), account: account, address: address, body)
        }
    }

    /// On `repository`; `seeded` false is a service whose start-up has not finished.
    static func run(
        repository: any UserRepository, account: LoginThrottle = .account, address: LoginThrottle = .address, seeded: Bool = true,
        _ body: @escaping @Sendable (UsersTestApp) async throws -> Void
    ) async throws {
        let tokens = await TokenService(key: try SigningKey(String(repeating: "users-test-key-", count: 3)))
        // Cheap parameters: the test counts verifications, it does not time them.
        let hasher = PasswordHasher(parameters: .init(memoryKiB: 1024, iterations: 1, parallelism: 1), concurrency: 2)
        let revocationReads = CallCounter()
        let controller = UsersController(
            repository: repository, hasher: hasher, tokens: tokens, throttles: (account, address), seeded: { seeded },
            revocationsChanged: { revocationReads.increment() })
        let app = Application(router: buildUsersRouter(controller: controller, tokens: tokens, checks: []))
        do {
            try await app.test(.router) { client in
                try await body(
                    UsersTestApp(client: client, hasher: hasher, tokens: tokens, repository: repository, revocationReads: revocationReads))
            }
        } catch {
            await hasher.shutdown()
            throw error
        }
        await hasher.shutdown()
    }

    func register(_ email: String, _ password: String = "password123") async throws {
        let response = try await post("/api/users", ["email": email, "password": password])
        try #require(response.status == .created, "\(String(buffer: response.body))")
    }

    func login(_ email: String, _ password: String, from address: String? = nil) async throws -> TestResponse {
        try await post("/api/login", ["email": email, "password": password], headers: address.map { [.xForwardedFor: $0] } ?? [:])
    }

    func post(_ path: String, _ json: [String: String], headers: HTTPFields = [:]) async throws -> TestResponse {
        try await send(.post, path, json: String(decoding: try JSONEncoder().encode(json), as: UTF8.self), headers: headers)
    }

    func send(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: String? = nil, headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }
}

/// Counts calls from any task.
final class CallCounter: Sendable {
    private let calls = Atomic<Int>(0)

    var count: Int { calls.load(ordering: .relaxed) }

    func increment() {
        calls.add(1, ordering: .relaxed)
    }
}

@Suite(.enabled(if: UsersTestDatabase.isAvailable, UsersTestDatabase.skipReason))
struct LoginThrottleTests {
    @Test("50 concurrent wrong sign-ins for one account verify at most 5 passwords, and then the right one gets 429")
    func concurrentGuesses() async throws {
        // A lock long enough that no second lock window opens while the test runs.
        let account = LoginThrottle(freeAttempts: 5, firstLockSeconds: 300)
        try await UsersTestApp.run(account: account, address: LoginThrottle(freeAttempts: 10_000, firstLockSeconds: 1)) { app in
            try await app.register("target@b.co", "right-password")
            let before = app.hasher.verificationCount
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<50 {
                    group.addTask { try await app.login("target@b.co", "wrong-password-\(index)").status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            let verified = app.hasher.verificationCount - before
            #expect(verified <= 5, "\(verified) passwords verified")
            #expect(statuses.filter { $0 == .unauthorized }.count == verified)
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 50 - verified)

            let right = try await app.login("target@b.co", "right-password")
            #expect(right.status == .tooManyRequests)
            #expect(Int(right.headers[.retryAfter] ?? "") ?? 0 > 0)
            #expect(app.hasher.verificationCount - before == verified)
        }
    }

    @Test("an unknown email costs the same verification as a wrong password and is throttled alike")
    func unknownEmail() async throws {
        let account = LoginThrottle(freeAttempts: 2, firstLockSeconds: 300)
        try await UsersTestApp.run(account: account) { app async throws in
            let before = app.hasher.verificationCount
            #expect(try await app.login("nobody@b.co", "password123").status == .unauthorized)
            #expect(app.hasher.verificationCount - before == 1)
            #expect(try await app.login("nobody@b.co", "password123").status == .unauthorized)
            #expect(try await app.login("nobody@b.co", "password123").status == .tooManyRequests)
            #expect(app.hasher.verificationCount - before == 2)
        }
    }

    @Test("a successful sign-in gives its attempt back, so a user's own sign-ins never lock the account")
    func successesDoNotCount() async throws {
        try await UsersTestApp.run { app in
            try await app.register("often@b.co")
            for _ in 0..<8 {
                #expect(try await app.login("often@b.co", "password123").status == .ok)
            }
            for _ in 0..<4 {
                #expect(try await app.login("often@b.co", "wrong-password").status == .unauthorized)
            }
            #expect(try await app.login("often@b.co", "password123").status == .ok)
            for _ in 0..<4 {
                #expect(try await app.login("often@b.co", "wrong-password").status == .unauthorized)
            }
        }
    }

    @Test("failed sign-ins for many accounts from one address lock that address, and no other")
    func perAddress() async throws {
        let address = LoginThrottle(freeAttempts: 6, firstLockSeconds: 300)
        try await UsersTestApp.run(address: address) { app in
            try await app.register("real@b.co")
            // Successes from the address do not count against it.
            for _ in 0..<8 {
                #expect(try await app.login("real@b.co", "password123", from: "203.0.113.7").status == .ok)
            }
            var statuses: [HTTPResponse.Status] = []
            for index in 0..<10 {
                statuses.append(try await app.login("guess\(index)@b.co", "password123", from: "203.0.113.7").status)
            }
            #expect(statuses.prefix(6).allSatisfy { $0 == .unauthorized }, "\(statuses)")
            #expect(statuses.dropFirst(6).allSatisfy { $0 == .tooManyRequests }, "\(statuses)")
            // The address is locked even for the right password of an account it never guessed.
            let locked = try await app.login("real@b.co", "password123", from: "203.0.113.7")
            #expect(locked.status == .tooManyRequests)
            #expect(Int(locked.headers[.retryAfter] ?? "") ?? 0 > 0)
            // Another address, IPv6 too, is not affected; the last entry of X-Forwarded-For is the one that counts.
            #expect(try await app.login("real@b.co", "password123", from: "2001:db8::1").status == .ok)
            #expect(try await app.login("real@b.co", "password123", from: "203.0.113.7, 198.51.100.2").status == .ok)
        }
    }
}
