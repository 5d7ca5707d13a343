import Crypto
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
    /// Whether start-up (migrations and seeding) has finished; until then the demo-admin
    /// answer could be "no demo admin" merely because it is not created yet.
    let seeded: @Sendable () -> Bool
    /// Reads the revocation feed into this process's table at once, after a change that revokes tokens.
    let revocationsChanged: @Sendable () async -> Void

    package init(
        repository: any UserRepository, hasher: PasswordHasher, tokens: TokenService, demoAdmin: DemoAdmin = .standard,
        seeded: @escaping @Sendable () -> Bool = { true }, revocationsChanged: @escaping @Sendable () async -> Void = {}
    ) {
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
        router.get("/internal/demo-admin", use: demoAdminStatus)
        router.get("/internal/revocations", use: revocations)
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
        guard let user = try await repository.find(id: principal.userID!) else { throw APIError.notFound("account") }
        return user.api
    }

    @Sendable func changePassword(_ request: Request, context: EcomRequestContext) async throws -> Response {
        let principal = try context.requireAccount()
        let body = try await request.decode(as: PasswordChange.self, context: context)
        try Validation.password(body.newPassword, field: "new_password")
        guard let user = try await repository.find(id: principal.userID!) else { throw APIError.notFound("account") }
        try await checkThrottle(email: user.email)
        guard try await hasher.verify(body.currentPassword, against: user.passwordHash) else {
            try await recordFailure(email: user.email)
            throw APIError(.forbidden, code: ErrorCode.invalidCredentials, message: "current password is wrong", field: "current_password")
        }
        let hash = try await hasher.hash(body.newPassword)
        try await repository.changePassword(id: user.id, passwordHash: hash, keeping: principal.sessionID)
        await revocationsChanged()
        return Response(status: .noContent)
    }

    // MARK: - Sign-in and tokens

    @Sendable func login(_ request: Request, context: EcomRequestContext) async throws -> Response {
        let body = try await request.decode(as: Credentials.self, context: context)
        let email = body.email.trimmingCharacters(in: .whitespaces).lowercased()
        try await checkThrottle(email: email)
        let user = try await repository.find(email: email)
        // Unknown email and wrong password take the same work and get the same answer.
        guard try await hasher.verify(body.password, against: user?.passwordHash), let user else {
            try await recordFailure(email: email)
            throw APIError(.unauthorized, code: ErrorCode.invalidCredentials, message: "email or password is wrong")
        }
        try await repository.clearFailures(key: Self.throttleKey(email))
        guard !user.disabled else {
            throw APIError(.forbidden, code: ErrorCode.accountDisabled, message: "this account is disabled")
        }
        let refreshToken = Self.newRefreshToken()
        let family = try await repository.startFamily(
            userID: user.id, tokenHash: Self.digest(refreshToken),
            expiresAt: Date().addingTimeInterval(Self.refreshTokenLifetime))
        context.logger.info("signed in", metadata: ["user_id": "\(user.id.lowercased)"])
        return try await tokenResponse(user: user, family: family, refreshToken: refreshToken, request: request, context: context)
    }

    @Sendable func refresh(_ request: Request, context: EcomRequestContext) async throws -> Response {
        // No token at all is answered like a token that is no longer valid: the caller must sign in.
        guard let presented = try await presentedRefreshToken(request, context: context) else {
            throw APIError(
                .unauthorized, code: ErrorCode.invalidRefreshToken,
                message: "no refresh token: send refresh_token in the body or the cookie, or sign in again")
        }
        let successor = Self.newRefreshToken()
        let outcome = try await repository.rotate(
            tokenHash: Self.digest(presented), newTokenHash: Self.digest(successor),
            expiresAt: Date().addingTimeInterval(Self.refreshTokenLifetime))
        switch outcome {
        case .rotated(let user, let family):
            return try await tokenResponse(user: user, family: family, refreshToken: successor, request: request, context: context)
        case .reused:
            context.logger.warning("refresh token reused; family revoked")
            throw APIError(.unauthorized, code: ErrorCode.invalidRefreshToken, message: "refresh token is no longer valid; sign in again")
        case .invalid:
            throw APIError(.unauthorized, code: ErrorCode.invalidRefreshToken, message: "refresh token is no longer valid; sign in again")
        }
    }

    @Sendable func revoke(_ request: Request, context: EcomRequestContext) async throws -> Response {
        if let presented = try await presentedRefreshToken(request, context: context) {
            try await repository.revokeFamily(ofTokenHash: Self.digest(presented))
        }
        var response = Response(status: .noContent)
        response.setCookie(Cookie(name: Self.refreshCookie, value: "", maxAge: 0, path: "/api", secure: true, httpOnly: true, sameSite: .strict))
        return response
    }

    private func tokenResponse(
        user: UserRecord, family: UUID, refreshToken: String, request: Request, context: EcomRequestContext
    ) async throws -> Response {
        let user = try await currentState(of: user)
        let access = try await tokens.issueAccessToken(userID: user.id, role: user.role, sessionID: family)
        let pair = TokenPair(
            token: access, refreshToken: refreshToken, expiresIn: Int(TokenService.accessTokenLifetime), user: user.api)
        var response = try context.responseEncoder.encode(pair, from: request, context: context)
        response.setCookie(
            Cookie(
                name: Self.refreshCookie, value: refreshToken, maxAge: Int(Self.refreshTokenLifetime),
                path: "/api", secure: true, httpOnly: true, sameSite: .strict))
        return response
    }

    /// The account as it is now, when a revocation may have come after `user` was read.
    ///
    /// A token issued right after a revocation carries the next second as `iat` and so survives
    /// it; without this second read, a sign-in that read the account just before an admin
    /// disabled or demoted it would get such a token with the old state.
    private func currentState(of user: UserRecord) async throws -> UserRecord {
        guard let issuedBefore = tokens.revocations?.issuedBefore(user.id),
            TimeInterval(issuedBefore) > Date().timeIntervalSince1970 - 60
        else { return user }
        guard let current = try await repository.find(id: user.id) else { throw APIError.notFound("account") }
        guard !current.disabled else {
            throw APIError(.forbidden, code: ErrorCode.accountDisabled, message: "this account is disabled")
        }
        return current
    }

    /// The refresh token from the JSON body (CLI) or the cookie (browsers).
    private func presentedRefreshToken(_ request: Request, context: EcomRequestContext) async throws -> String? {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        if buffer.readableBytes > 0 {
            let body = try StrictJSONDecoder.decode(RefreshRequest.self, from: Data(buffer.readableBytesView))
            if let token = body.refreshToken, !token.isEmpty { return token }
        }
        return request.cookies[Self.refreshCookie]?.value
    }

    private func checkThrottle(email: String) async throws {
        if let until = try await repository.lockedUntil(key: Self.throttleKey(email)) {
            throw Self.throttled(until: until)
        }
    }

    private func recordFailure(email: String) async throws {
        if let until = try await repository.recordFailure(key: Self.throttleKey(email)) {
            throw Self.throttled(until: until)
        }
    }

    static func throttled(until: Date) -> APIError {
        let seconds = max(1, Int(until.timeIntervalSinceNow.rounded(.up)))
        return APIError(
            .tooManyRequests, code: ErrorCode.tooManyRequests,
            message: "too many failed sign-ins; try again in \(seconds) s", retryAfter: seconds)
    }

    static func throttleKey(_ email: String) -> String { "account:\(email)" }

    /// 32 random bytes, base64url: opaque to clients, stored only as a digest.
    static func newRefreshToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64URLEncodedString()
    }

    static func digest(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    // MARK: - Administration

    @Sendable func list(_ request: Request, context: EcomRequestContext) async throws -> Page<User> {
        _ = try context.requireAdmin()
        let limit = try request.pageLimit()
        let after = try request.queryString("cursor").map(Cursor.decodeTimestampKey).map { UserListKey(createdAt: $0.timestamp, id: $0.id) }
        let rows = try await repository.list(limit: limit + 1, after: after)
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


enum Validation {
    static let passwordRange = 8...1024
    static let maximumEmailLength = 254

    /// Trimmed and lowercased: printable ASCII without spaces, one `@`, a non-empty local part
    /// and a domain with a dot inside it, at most 254 characters as sent.
    ///
    /// ASCII only, so lowercasing here and PostgreSQL's `lower()` agree whatever the database's
    /// locale; the length is that of the text as sent, so the OpenAPI document's `maxLength`
    /// states the rule exactly.
    static func email(_ raw: String) throws -> String {
        let email = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        let printable = email.utf8.allSatisfy { (0x21...0x7E).contains($0) }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard raw.unicodeScalars.count <= maximumEmailLength, printable, parts.count == 2, !parts[0].isEmpty,
            parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".")
        else {
            throw APIError.invalidField("email", "email must be a valid address")
        }
        return email.lowercased()
    }

    /// 8 to 1024 characters (Unicode scalars, as JSON Schema counts them).
    static func password(_ password: String, field: String) throws {
        guard passwordRange.contains(password.unicodeScalars.count) else {
            throw APIError.invalidField(field, "\(field) must be 8 to 1024 characters long")
        }
    }
}
