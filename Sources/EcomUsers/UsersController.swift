import Crypto
import EcomAPI
import EcomServerKit
import Foundation
import Hummingbird
import Logging

#if canImport(Glibc)
import Glibc
#endif

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

    // MARK: - Sign-in and tokens

    @Sendable func login(_ request: Request, context: EcomRequestContext) async throws -> Response {
        let body = try await request.decode(as: Credentials.self, context: context)
        // Only the lengths are checked: a malformed email is simply not an account.
        try Validation.maximumLength(body.email, Validation.maximumEmailLength, field: "email")
        try Validation.maximumLength(body.password, Validation.passwordRange.upperBound, field: "password")
        let email = body.email.trimmingCharacters(in: .whitespaces).lowercased()
        // Unknown email and wrong password take the same work and get the same answer.
        var user: UserRecord?
        let matches = try await throttledVerification(email: email, request: request, context: context) {
            user = try await repository.find(email: email)
            return try await hasher.verify(body.password, against: user?.passwordHash)
        }
        guard matches, let user else {
            throw APIError(.unauthorized, code: ErrorCode.invalidCredentials, message: "email or password is wrong")
        }
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
        // The cookie is checked even when the body names the token, as the document states it. Only
        // what this service sets is accepted: a value with other characters is one the cookie
        // parser may have cut short (at a quoted `;`), so its length proves nothing.
        let cookie = request.cookies[Self.refreshCookie]?.value
        if let cookie, cookie.utf8.count > Validation.maximumRefreshTokenLength || !cookie.utf8.allSatisfy(Validation.isBase64URL) {
            throw APIError.invalidField(
                "refresh_token",
                "the refresh_token cookie must be at most \(Validation.maximumRefreshTokenLength) characters of A-Z, a-z, 0-9, '-' and '_'")
        }
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        if buffer.readableBytes > 0 {
            let body = try StrictJSONDecoder.decode(RefreshRequest.self, from: Data(buffer.readableBytesView))
            if let token = body.refreshToken, !token.isEmpty {
                try Validation.maximumLength(token, Validation.maximumRefreshTokenLength, field: "refresh_token")
                return token
            }
        }
        return cookie?.isEmpty == false ? cookie : nil
    }

    /// Runs `verify` (one password verification) only once an attempt is taken for the client's
    /// address and for the account, so that concurrent requests cannot verify more passwords than
    /// the throttles allow; a match gives the attempts back.
    private func throttledVerification(
        email: String, request: Request, context: EcomRequestContext, _ verify: () async throws -> Bool
    ) async throws -> Bool {
        let address = Self.clientAddress(request, context: context).map { "address:\($0)" }
        let account = Self.throttleKey(email)
        if let address, let until = try await repository.reserveAttempt(key: address, policy: throttles.address) {
            throw Self.throttled(until: until)
        }
        if let until = try await repository.reserveAttempt(key: account, policy: throttles.account) {
            if let address { try await repository.returnAttempt(key: address, policy: throttles.address) }
            throw Self.throttled(until: until)
        }
        let matches = try await verify()
        if matches {
            try await repository.clearFailures(key: account)
            if let address { try await repository.returnAttempt(key: address, policy: throttles.address) }
        }
        return matches
    }

    /// The address the request came from: the one the gateway puts in `X-Forwarded-For`
    /// (replacing any the client sent), else the connection's. Only a plain IP address is used.
    static func clientAddress(_ request: Request, context: EcomRequestContext) -> String? {
        let forwarded = request.headers[values: .xForwardedFor].last?
            .split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) }
        for candidate in [forwarded, context.remoteAddress] {
            if let candidate, Validation.isIPAddress(candidate) { return candidate }
        }
        return nil
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


enum Validation {
    static let passwordRange = 8...1024
    static let maximumEmailLength = 254
    /// Refresh tokens are 43 characters; the bound leaves room without storing or hashing megabytes.
    static let maximumRefreshTokenLength = 128

    /// 400 `invalid_field` naming `field` when `text` is longer than `maximum` characters
    /// (Unicode scalars, as JSON Schema's `maxLength` counts them).
    static func maximumLength(_ text: String, _ maximum: Int, field: String) throws {
        guard text.unicodeScalars.count <= maximum else {
            throw APIError.invalidField(field, "\(field) must be at most \(maximum) characters")
        }
    }

    static func isBase64URL(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x5F
    }

    /// Whether `text` is an IPv4 or IPv6 address in its numeric form.
    static func isIPAddress(_ text: String) -> Bool {
        guard text.utf8.count <= 45 else { return false }
        var buffer = in6_addr()
        return inet_pton(AF_INET, text, &buffer) == 1 || inet_pton(AF_INET6, text, &buffer) == 1
    }

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
