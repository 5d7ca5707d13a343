import Crypto
import EcomAPI
import EcomServerKit
import Foundation
import Hummingbird
import Logging

/// Sign-in and tokens: passwords checked under the throttles, refresh-token rotation, sign-out.
extension UsersController {
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
        // The cookie is checked even when the body names the token, as the document states it.
        let cookie = try Self.refreshTokenCookie(in: request.headers[values: .cookie])
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        if buffer.readableBytes > 0 {
            let body = try StrictJSONDecoder.decode(RefreshRequest.self, from: Data(buffer.readableBytesView))
            if let token = body.refreshToken, !token.isEmpty {
                try Validation.maximumLength(token, Validation.maximumRefreshTokenLength, field: "refresh_token")
                return token
            }
        }
        return cookie
    }

    /// The refresh token cookie's value, nil when absent or empty; 400 for any value this service
    /// does not set. Read from the raw `Cookie` headers: the framework's parser cuts a value at a
    /// `;` and would present what is before it (perhaps nothing) as the token. Where a value ends
    /// is clear only in the form browsers send the header in (RFC 6265 §4.2.1), pairs joined by
    /// `; `; a header that carries the token and departs from that form is malformed, as a `;` in
    /// the value would otherwise be read as a separator. Other cookies' names and values are not
    /// judged beyond that: browsers accept names that are not HTTP tokens (`cart[42]`).
    static func refreshTokenCookie(in headers: [String]) throws -> String? {
        let prefix = refreshCookie + "="
        for header in headers {
            guard header.split(separator: ";").contains(where: { $0.drop(while: \.isWhitespace).hasPrefix(prefix) }) else { continue }
            let pairs = header.split(separator: "; ", omittingEmptySubsequences: false)
            guard let value = pairs.first(where: { $0.hasPrefix(prefix) })?.dropFirst(prefix.count),
                value.utf8.count <= Validation.maximumRefreshTokenLength, value.utf8.allSatisfy(Validation.isBase64URL),
                pairs.allSatisfy(isCookiePair)
            else {
                throw APIError.invalidField(
                    "refresh_token",
                    "the refresh_token cookie must be at most \(Validation.maximumRefreshTokenLength) characters of A-Z, a-z, 0-9, '-' and '_', in a Cookie header of cookies joined by '; '")
            }
            return value.isEmpty ? nil : String(value)
        }
        return nil
    }

    /// Whether `pair` can be one cookie of a header joined by `; `: not empty, and without a `;`
    /// or a control character.
    private static func isCookiePair(_ pair: Substring) -> Bool {
        !pair.isEmpty && !pair.utf8.contains { $0 == UInt8(ascii: ";") || $0 < 0x20 || $0 == 0x7F }
    }

    /// Runs `verify` (one password verification) only once an attempt is taken for the client's
    /// address and for the account, so that concurrent requests cannot verify more passwords than
    /// the throttles allow; a match gives the attempts back.
    func throttledVerification(
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
}
