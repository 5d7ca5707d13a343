import EcomAPI
import EcomServerKit
import Foundation
import Hummingbird
import Logging

/// The users service's routes: accounts, sign-in, tokens, and account administration.
package struct UsersController: Sendable {
    package static let refreshTokenLifetime: TimeInterval = 30 * 24 * 3600
    static let refreshCookie = "refresh_token"

    let repository: any UserRepository
    let hasher: PasswordHasher
    let tokens: TokenService
    let demoAdmin: DemoAdmin
    let throttles: (account: LoginThrottle, address: LoginThrottle)
    /// Whether start-up (migrations and seeding) has finished; until then the demo-admin
    /// answer could be "no demo admin" merely because it is not created yet.
    let seeded: @Sendable () -> Bool
    /// Reads the revocation feed into this process's table at once, after a change that revokes tokens.
    let revocationsChanged: @Sendable () async -> Void

    package init(
        repository: any UserRepository, hasher: PasswordHasher, tokens: TokenService, demoAdmin: DemoAdmin = .standard,
        throttles: (account: LoginThrottle, address: LoginThrottle) = (.account, .address),
        seeded: @escaping @Sendable () -> Bool = { true }, revocationsChanged: @escaping @Sendable () async -> Void = {}
    ) {
        self.throttles = throttles
        self.repository = repository
        self.hasher = hasher
        self.tokens = tokens
        self.demoAdmin = demoAdmin
        self.seeded = seeded
        self.revocationsChanged = revocationsChanged
    }

    package func addRoutes(to router: Router<EcomRequestContext>) {
        router.post("/api/users", use: register)
        router.post("/api/login", use: login)
        router.post("/api/refresh", use: refresh)
        router.post("/api/revoke", use: revoke)
        router.get("/api/me", use: me)
        router.post("/api/me/password", use: changePassword)
        router.get("/admin/users", use: list)
        router.get("/admin/users/:id", use: get)
        router.patch("/admin/users/:id", use: update)
        router.get(RouterPath(InternalPath.demoAdmin), use: demoAdminStatus)
        router.get(RouterPath(InternalPath.revocations), use: revocations)
    }

    // MARK: - Accounts

    @Sendable func register(_ request: Request, context: EcomRequestContext) async throws -> EditedResponse<User> {
        let body = try await request.decode(as: Credentials.self, context: context)
        let email = try Validation.email(body.email)
        try Validation.password(body.password, field: "password")
        let hash = try await hasher.hash(body.password)
        // Registration always makes a plain user; the role is never read from the request.
        let user = try await repository.create(email: email, passwordHash: hash, role: .user)
        context.logger.info("account registered", metadata: ["user_id": "\(user.id.lowercased)"])
        return EditedResponse(status: .created, response: user.api)
    }

    @Sendable func me(_ request: Request, context: EcomRequestContext) async throws -> User {
        let principal = try context.requireAccount()
        guard let user = try await repository.find(id: principal.userID) else { throw APIError.notFound("account") }
        return user.api
    }

    @Sendable func changePassword(_ request: Request, context: EcomRequestContext) async throws -> Response {
        let principal = try context.requireAccount()
        let body = try await request.decode(as: PasswordChange.self, context: context)
        try Validation.password(body.newPassword, field: "new_password")
        try Validation.maximumLength(body.currentPassword, Validation.passwordRange.upperBound, field: "current_password")
        guard let user = try await repository.find(id: principal.userID) else { throw APIError.notFound("account") }
        let matches = try await throttledVerification(email: user.email, request: request, context: context) {
            try await hasher.verify(body.currentPassword, against: user.passwordHash)
        }
        guard matches else {
            throw APIError(.forbidden, code: ErrorCode.invalidCredentials, message: "current password is wrong", field: "current_password")
        }
        let hash = try await hasher.hash(body.newPassword)
        try await repository.changePassword(id: user.id, passwordHash: hash, keeping: principal.sessionID)
        await revocationsChanged()
        return Response(status: .noContent)
    }

    // MARK: - Administration

    @Sendable func list(_ request: Request, context: EcomRequestContext) async throws -> Page<User> {
        _ = try context.requireAdmin()
        let limit = try request.pageLimit()
        let after = try request.queryString("cursor").map(Cursor.decodeTimestampKey).map { UserListKey(createdAt: $0.timestamp, id: $0.id) }
        let rows = try await repository.list(idPrefix: try request.idPrefix(), limit: limit + 1, after: after)
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { Cursor.encode(timestamp: $0.1.createdAt, id: $0.1.id) } : nil
        return Page(items: page.map { $0.0.api }, nextCursor: next)
    }

    @Sendable func get(_ request: Request, context: EcomRequestContext) async throws -> User {
        _ = try context.requireAdmin()
        let id = try context.uuidParameter()
        guard let user = try await repository.find(id: id) else { throw APIError.notFound("user") }
        return user.api
    }

    @Sendable func update(_ request: Request, context: EcomRequestContext) async throws -> User {
        let admin = try context.requireAdmin()
        let id = try context.uuidParameter()
        let body = try await request.decode(as: UserUpdate.self, context: context)
        guard body.role != nil || body.disabled != nil else {
            throw APIError.badRequest(ErrorCode.invalidBody, "nothing to change: give role and/or disabled")
        }
        if body.role == .service {
            throw APIError.invalidField("role", "role must be user or admin")
        }
        if id == admin.userID {
            throw APIError.conflict("cannot_modify_self", "an admin cannot change their own role or disable themselves")
        }
        guard let user = try await repository.update(id: id, role: body.role, disabled: body.disabled) else {
            throw APIError.notFound("user")
        }
        await revocationsChanged()
        context.logger.info(
            "account updated", metadata: ["user_id": "\(id.lowercased)", "by": "\(admin.subject)", "role": "\(user.role)", "disabled": "\(user.disabled)"])
        return user.api
    }

    // MARK: - Internal

    /// Whether the demo admin still has its published password; the gateway asks before listening beyond loopback.
    @Sendable func demoAdminStatus(_ request: Request, context: EcomRequestContext) async throws -> DemoAdminStatus {
        _ = try context.requireService()
        guard seeded() else { throw APIError.unavailable }
        return DemoAdminStatus(demoPasswordActive: try await demoPasswordActive())
    }

    /// The revocation feed (`?since=` a cursor from an earlier answer), for every service's revocation table.
    @Sendable func revocations(_ request: Request, context: EcomRequestContext) async throws -> RevocationPage {
        _ = try context.requireService()
        guard seeded() else { throw APIError.unavailable }
        var since: Int64?
        if let text = request.queryString("since") {
            guard let value = Int64(text), value >= 0 else {
                throw APIError.badRequest(ErrorCode.invalidQuery, "since must be a cursor from an earlier answer", field: "since")
            }
            since = value
        }
        return try await repository.revocations(since: since, limit: RevocationPage.limit)
    }

    package func demoPasswordActive() async throws -> Bool {
        guard let user = try await repository.find(email: demoAdmin.email), user.role == .admin else { return false }
        return try await hasher.verify(demoAdmin.password, against: user.passwordHash)
    }

    /// Creates an admin account unless the email exists.
    package func seedAdmin(email: String, password: String, logger: Logger) async throws {
        let email = try Validation.email(email)
        guard try await repository.find(email: email) == nil else { return }
        let hash = try await hasher.hash(password)
        do {
            _ = try await repository.create(email: email, passwordHash: hash, role: .admin)
            logger.notice("created admin account", metadata: ["email": "\(email)"])
        } catch let error as APIError where error.code == ErrorCode.emailTaken {
            // Another process seeded it first.
        }
    }
}

/// The published demo credentials, the original platform's.
package struct DemoAdmin: Sendable {
    package var email: String
    package var password: String

    package init(email: String, password: String) {
        self.email = email
        self.password = password
    }

    package static let standard = DemoAdmin(email: "admin@example.com", password: "admin123")
}

package struct DemoAdminStatus: ResponseCodable, Sendable {
    package var demoPasswordActive: Bool

    enum CodingKeys: String, CodingKey {
        case demoPasswordActive = "demo_password_active"
    }
}
