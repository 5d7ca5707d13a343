import Crypto
import EcomAPI
import Foundation
import JWTKit
import Testing

@testable import EcomServerKit

@Suite struct TokenServiceTests {
    static let secret = "a-test-signing-key-that-is-long-enough-0123456789"
    let tokens: TokenService
    let user = UUID()

    init() async throws {
        tokens = await TokenService(key: try SigningKey(Self.secret))
    }

    func claims(
        role: Role = .user, audience: String = TokenService.accountAudience, issuer: String = TokenService.issuer,
        issuedAt: Date = Date(), expiresIn: TimeInterval = 900, notBefore: Date? = nil
    ) -> AccessClaims {
        AccessClaims(
            sub: .init(value: user.uuidString), role: role.rawValue, iss: .init(value: issuer),
            aud: .init(value: [audience]), iat: .init(value: issuedAt),
            exp: .init(value: issuedAt.addingTimeInterval(expiresIn)), nbf: notBefore.map { .init(value: $0) },
            jti: .init(value: UUID().uuidString), sid: nil)
    }

    @Test("an issued access token verifies to its account and role")
    func roundTrip() async throws {
        let session = UUID()
        let token = try await tokens.issueAccessToken(userID: user, role: .admin, sessionID: session)
        let principal = try await tokens.verify(token)
        #expect(principal.userID == user)
        #expect(principal.role == .admin)
        #expect(principal.sessionID == session)
    }

    @Test("a service token verifies as the service role without an account")
    func serviceToken() async throws {
        let token = try await tokens.issueServiceToken(service: "gateway")
        let principal = try await tokens.verify(token)
        #expect(principal.role == .service)
        #expect(principal.subject == "gateway")
        #expect(principal.userID == nil)
    }

    @Test("a token verified before is refused once its account's tokens are revoked")
    func verifiedThenRevoked() async throws {
        let table = RevocationTable()
        let tokens = await TokenService(key: try SigningKey(Self.secret), revocations: table)
        let issuedAt = Date().addingTimeInterval(-10)
        let token = try await tokens.sign(claims(issuedAt: issuedAt))
        #expect(try await tokens.verify(token).userID == user)
        #expect(try await tokens.verify(token).userID == user)
        let second = Int64(issuedAt.timeIntervalSince1970.rounded(.down))
        table.apply(RevocationPage(items: [Revocation(cursor: 1, userID: user, issuedBefore: second + 1)], cursor: 1))
        await #expect(throws: TokenService.Failure.revoked) { try await tokens.verify(token) }
    }

    @Test("a token verified before is refused once it has expired", .timeLimit(.minutes(1)))
    func verifiedThenExpired() async throws {
        let token = try await tokens.sign(claims(issuedAt: Date(), expiresIn: 1.5))
        #expect(try await tokens.verify(token).userID == user)
        try await Task.sleep(for: .seconds(2))
        await #expect(throws: TokenService.Failure.expired) { try await tokens.verify(token) }
    }

    @Test("a token names its key in kid; a second key is accepted, never signed with, and forgotten when it is dropped")
    func keyRotation() async throws {
        let oldKey = try SigningKey(Self.secret)
        let newKey = try SigningKey("a-newer-signing-key-that-is-long-enough-9876543210")
        #expect(oldKey.id != newKey.id)
        #expect(oldKey.id.count == 12)
        #expect(try SigningKey(Self.secret).id == oldKey.id)

        let before = await TokenService(key: oldKey)
        let switching = await TokenService(key: oldKey, acceptedKey: newKey)
        let rotated = await TokenService(key: newKey, acceptedKey: oldKey)
        let after = await TokenService(key: newKey)

        let oldToken = try await before.issueAccessToken(userID: user, role: .user, sessionID: nil)
        #expect(Self.header(of: oldToken)["kid"] as? String == oldKey.id)
        let switchingToken = try await switching.issueAccessToken(userID: user, role: .user, sessionID: nil)
        #expect(Self.header(of: switchingToken)["kid"] as? String == oldKey.id, "an accepted key does not sign")
        let newToken = try await rotated.issueServiceToken(service: "cart")
        #expect(Self.header(of: newToken)["kid"] as? String == newKey.id)

        // Processes that accept the new key take the tokens of those that already sign with it.
        #expect(try await switching.verify(newToken).subject == "cart")
        await #expect(throws: TokenService.Failure.signature) { try await before.verify(newToken) }
        // Once it signs, the old key's tokens are still taken while it is accepted, and not after.
        #expect(try await rotated.verify(oldToken).userID == user)
        await #expect(throws: TokenService.Failure.signature) { try await after.verify(oldToken) }
        #expect(try await after.verify(newToken).subject == "cart")

        // A token signed before keys had ids carries no kid: every known key is tried.
        let legacy = try await before.sign(claims())
        #expect(Self.header(of: legacy)["kid"] == nil)
        #expect(try await rotated.verify(legacy).userID == user)
        await #expect(throws: TokenService.Failure.signature) { try await after.verify(legacy) }

        // A kid does not choose a key by itself: a token naming the accepted key, signed with another, is refused.
        let stranger = await TokenService(key: try SigningKey("a-signing-key-nobody-here-knows-000000000000"))
        var header = JWTHeader()
        header.kid = oldKey.id
        let forged = try await stranger.sign(claims(), header: header)
        #expect(Self.header(of: forged)["kid"] as? String == oldKey.id)
        await #expect(throws: TokenService.Failure.signature) { try await rotated.verify(forged) }
    }

    static func header(of token: String) -> [String: Any] {
        TokenService.header(of: token) ?? [:]
    }

    @Test("a service token is reused for half its lifetime, then a fresh one is signed")
    func serviceTokenReuse() async throws {
        let now = Date()
        let first = try await tokens.serviceToken(service: "cart", now: now)
        #expect(try await tokens.serviceToken(service: "cart", now: now.addingTimeInterval(TokenService.serviceTokenLifetime / 2 - 1)) == first)
        #expect(try await tokens.serviceToken(service: "orders", now: now) != first)
        let later = now.addingTimeInterval(TokenService.serviceTokenLifetime / 2 + 1)
        let fresh = try await tokens.serviceToken(service: "cart", now: later)
        #expect(fresh != first)
        #expect(try await tokens.verify(fresh).subject == "cart")
    }

    @Test("the bearer token is read whatever the scheme's case, without the blanks around it", arguments: [
        ("Bearer abc.def.ghi", "abc.def.ghi"), ("bearer abc", "abc"), ("BEARER \tabc\t ", "abc"), ("Bearer  abc", "abc"),
        ("Bearer", nil), ("Bearer ", nil), ("Bearer \t", nil), ("Basic abc", nil), ("Bearerabc", nil), ("Bearers abc", nil),
    ] as [(String, String?)])
    func bearerToken(header: String, token: String?) {
        #expect(AuthMiddleware.bearerToken(header) == token)
    }

    @Test("a token signed with another key is refused")
    func wrongKey() async throws {
        let other = await TokenService(key: try SigningKey(String(repeating: "x", count: 40)))
        let token = try await other.issueAccessToken(userID: user, role: .user, sessionID: nil)
        await #expect(throws: TokenService.Failure.signature) { try await tokens.verify(token) }
    }

    @Test("an expired token is refused")
    func expired() async throws {
        let token = try await tokens.sign(claims(issuedAt: Date().addingTimeInterval(-3600)))
        await #expect(throws: TokenService.Failure.expired) { try await tokens.verify(token) }
    }

    @Test("a token that is not valid yet is refused")
    func notYetValid() async throws {
        let token = try await tokens.sign(claims(notBefore: Date().addingTimeInterval(600)))
        await #expect(throws: TokenService.Failure.notYetValid) { try await tokens.verify(token) }
    }

    @Test("a token from another issuer is refused")
    func wrongIssuer() async throws {
        let token = try await tokens.sign(claims(issuer: "someone-else"))
        await #expect(throws: TokenService.Failure.claims) { try await tokens.verify(token) }
    }

    @Test("an account token with the service audience is refused, and a service token with the account audience")
    func wrongAudience() async throws {
        let account = try await tokens.sign(claims(role: .user, audience: TokenService.serviceAudience))
        await #expect(throws: TokenService.Failure.audience) { try await tokens.verify(account) }
        let service = try await tokens.sign(claims(role: .service, audience: TokenService.accountAudience))
        await #expect(throws: TokenService.Failure.audience) { try await tokens.verify(service) }
    }

    @Test("alg none is refused")
    func algNone() async throws {
        let header = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64URLEncodedString()
        let payload = Data(try JSONEncoder().encode(claims(role: .admin))).base64URLEncodedString()
        await #expect(throws: TokenService.Failure.algorithm) { try await tokens.verify("\(header).\(payload).") }
    }

    @Test("HS384 and HS512 signed with the right key are refused", arguments: ["HS384", "HS512"])
    func otherHMACAlgorithms(algorithm: String) async throws {
        let header = Data(#"{"alg":"\#(algorithm)","typ":"JWT"}"#.utf8).base64URLEncodedString()
        let payload = Data(try JSONEncoder().encode(claims(role: .admin))).base64URLEncodedString()
        let input = Data("\(header).\(payload)".utf8)
        let key = SymmetricKey(data: Data(Self.secret.utf8))
        let signature: Data =
            algorithm == "HS384"
            ? Data(HMAC<SHA384>.authenticationCode(for: input, using: key))
            : Data(HMAC<SHA512>.authenticationCode(for: input, using: key))
        await #expect(throws: TokenService.Failure.algorithm) {
            try await tokens.verify("\(header).\(payload).\(signature.base64URLEncodedString())")
        }
    }

    @Test("an HS256 header on a tampered payload is refused")
    func tamperedPayload() async throws {
        let token = try await tokens.issueAccessToken(userID: user, role: .user, sessionID: nil)
        let parts = token.split(separator: ".")
        let forged = Data(try JSONEncoder().encode(claims(role: .admin))).base64URLEncodedString()
        await #expect(throws: TokenService.Failure.signature) {
            try await tokens.verify("\(parts[0]).\(forged).\(parts[2])")
        }
    }

    @Test("garbage and opaque refresh tokens are refused", arguments: ["", "abc", "a.b.c", "dGhpcyBpcyBub3QgYSBqd3Q"])
    func garbage(token: String) async throws {
        await #expect(throws: TokenService.Failure.self) { try await tokens.verify(token) }
    }

    @Test("a signing key shorter than 32 bytes is refused", arguments: ["", "short", String(repeating: "k", count: 31)])
    func shortKey(secret: String) {
        #expect(throws: SigningKey.TooShort.self) { try SigningKey(secret) }
    }

    @Test("a generated secret is long enough")
    func generatedSecret() throws {
        _ = try SigningKey(SigningKey.generateSecret())
    }
}
