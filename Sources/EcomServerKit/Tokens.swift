import Crypto
import EcomAPI
import Foundation
import JWTKit
import Synchronization

/// The HS256 signing key shared by every ecom service. At least 32 bytes, or nothing starts.
package struct SigningKey: Sendable {
    package static let minimumLength = 32
    package let bytes: [UInt8]

    package struct TooShort: Error, CustomStringConvertible {
        package var length: Int
        /// The variable that held it.
        package var variable = "SECRET_KEY"
        package var description: String {
            "\(variable) must be at least \(SigningKey.minimumLength) bytes (got \(length)); generate one with: openssl rand -base64 48"
        }
    }

    package init(_ secret: String, variable: String = "SECRET_KEY") throws {
        let bytes = Array(secret.utf8)
        guard bytes.count >= Self.minimumLength else { throw TooShort(length: bytes.count, variable: variable) }
        self.bytes = bytes
    }

    /// The key's name in the `kid` of the tokens it signs: 12 characters of an HMAC of a fixed
    /// text under the key, so it tells keys apart and says nothing about them.
    package var id: String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("ecom signing key id".utf8), using: SymmetricKey(data: bytes))
        return Data(Array(mac).prefix(9)).base64URLEncodedString()
    }

    /// A fresh random key, base64-encoded: what the embedded default keeps in its data directory.
    package static func generateSecret() -> String {
        Data(SymmetricKey(size: SymmetricKeySize(bitCount: 384)).withUnsafeBytes { Array($0) }).base64EncodedString()
    }
}

/// Claims of every ecom access token.
package struct AccessClaims: JWTPayload, Equatable {
    package var sub: SubjectClaim
    package var role: String
    package var iss: IssuerClaim
    package var aud: AudienceClaim
    package var iat: IssuedAtClaim
    package var exp: ExpirationClaim
    package var nbf: NotBeforeClaim?
    package var jti: IDClaim
    /// The refresh-token family this access token was issued with, so "sign out my other sessions" can spare this one.
    package var sid: String?

    package func verify(using algorithm: some JWTAlgorithm) throws {
        try exp.verifyNotExpired()
        if let nbf { try nbf.verifyNotBefore(currentDate: Date().addingTimeInterval(TokenService.leeway)) }
        try iss.verifyIssuer()
    }
}

extension IssuerClaim {
    fileprivate func verifyIssuer() throws {
        guard value == TokenService.issuer else {
            throw JWTError.claimVerificationFailure(failedClaim: self, reason: "unknown issuer")
        }
    }
}

/// Who a verified token speaks for.
package struct Principal: Sendable, Equatable {
    package var subject: String
    package var role: Role
    package var sessionID: UUID?

    package var userID: UUID? { role == .service ? nil : UUID(hyphenated: subject) }

    package init(subject: String, role: Role, sessionID: UUID? = nil) {
        self.subject = subject
        self.role = role
        self.sessionID = sessionID
    }
}

/// A principal known to name an account (a user or an admin, never a service), as the routes for
/// accounts receive it from `requireAccount()` and `requireAdmin()`.
package struct SignedInAccount: Sendable, Equatable {
    package let userID: UUID
    package let role: Role
    package let sessionID: UUID?

    /// The token's subject: the account id in lowercase, as logs name it.
    package var subject: String { userID.lowercased }
}

/// Issues and verifies ecom's JWTs (HS256 only).
///
/// Account tokens carry the audience `ecom-api`; tokens one service shows another carry
/// `ecom-services`, so neither is accepted where the other is expected.
package struct TokenService: Sendable {
    package static let issuer = "ecom"
    package static let accountAudience = "ecom-api"
    package static let serviceAudience = "ecom-services"
    package static let accessTokenLifetime: TimeInterval = 15 * 60
    package static let serviceTokenLifetime: TimeInterval = 5 * 60
    static let leeway: TimeInterval = 5

    private let keys: JWTKeyCollection
    /// The `kid` of the key that signs.
    private let signingKID: JWKIdentifier
    /// That `kid` as text.
    package var keyID: String { signingKID.string }
    /// The `kid` of the accepted key, if there is one other than the signing key.
    package let acceptedKeyID: String?
    /// Accounts whose earlier access tokens are void; nil checks none (tests of one router).
    package let revocations: RevocationTable?
    private let verified = VerifiedTokens(capacity: 8192)
    private let serviceTokens = ServiceTokens()

    /// Tokens are signed with `key` and carry its id as their `kid`. `acceptedKey` verifies tokens
    /// too, without signing any: while the signing key is replaced, the key being retired (its
    /// tokens live 15 minutes more), or, before processes switch to a new key one by one, that new
    /// key, so the tokens of those already switched are accepted by the others.
    package init(key: SigningKey, acceptedKey: SigningKey? = nil, revocations: RevocationTable? = nil) async {
        signingKID = JWKIdentifier(string: key.id)
        // The first key added is also the collection's default: the one for a token without a `kid`.
        var keys = await JWTKeyCollection().add(hmac: HMACKey(from: key.bytes), digestAlgorithm: .sha256, kid: signingKID)
        if let acceptedKey, acceptedKey.bytes != key.bytes {
            acceptedKeyID = acceptedKey.id
            keys = await keys.add(hmac: HMACKey(from: acceptedKey.bytes), digestAlgorithm: .sha256, kid: JWKIdentifier(string: acceptedKey.id))
        } else {
            acceptedKeyID = nil
        }
        self.keys = keys
        self.revocations = revocations
    }

    /// An account's access token. Issued in the same second as a revocation of the account, it
    /// carries the next second as `iat`, so the revocation, which voids its whole second, spares it.
    package func issueAccessToken(userID: UUID, role: Role, sessionID: UUID?, now: Date = Date()) async throws -> String {
        var now = Self.wholeSeconds(now)
        if let earliest = revocations?.issuedBefore(userID), TimeInterval(earliest) > now.timeIntervalSince1970 {
            now = Date(timeIntervalSince1970: TimeInterval(earliest))
        }
        let claims = AccessClaims(
            sub: .init(value: userID.lowercased), role: role.rawValue,
            iss: .init(value: Self.issuer), aud: .init(value: [Self.accountAudience]),
            iat: .init(value: now), exp: .init(value: now.addingTimeInterval(Self.accessTokenLifetime)),
            nbf: nil, jti: .init(value: UUID.random().lowercased),
            sid: sessionID?.lowercased)
        return try await keys.sign(claims, kid: signingKID)
    }

    /// A token for calls to other services. One is reused until half its lifetime is spent, so a call
    /// does not sign a token of its own; the callee still verifies it.
    package func serviceToken(service: String, now: Date = Date()) async throws -> String {
        if let token = serviceTokens.current(for: service, at: now) { return token }
        let token = try await issueServiceToken(service: service, now: now)
        serviceTokens.keep(token, for: service, until: now.addingTimeInterval(Self.serviceTokenLifetime / 2))
        return token
    }

    package func issueServiceToken(service: String, now: Date = Date()) async throws -> String {
        let now = Self.wholeSeconds(now)
        let claims = AccessClaims(
            sub: .init(value: service), role: Role.service.rawValue,
            iss: .init(value: Self.issuer), aud: .init(value: [Self.serviceAudience]),
            iat: .init(value: now), exp: .init(value: now.addingTimeInterval(Self.serviceTokenLifetime)),
            nbf: nil, jti: .init(value: UUID.random().lowercased), sid: nil)
        return try await keys.sign(claims, kid: signingKID)
    }

    /// NumericDate claims in whole seconds, as other JWT libraries expect.
    private static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    /// Signs arbitrary claims; for tests that need expired, early or foreign tokens.
    package func sign(_ claims: AccessClaims, header: JWTHeader = JWTHeader()) async throws -> String {
        try await keys.sign(claims, header: header)
    }

    package enum Failure: Error, Equatable, CustomStringConvertible {
        case malformed, algorithm, signature, expired, notYetValid, claims, audience, revoked
        package var description: String {
            switch self {
            case .malformed: "token is malformed"
            case .algorithm: "token algorithm is not accepted"
            case .signature: "token signature is invalid"
            case .expired: "token has expired"
            case .notYetValid: "token is not valid yet"
            case .claims: "token claims are invalid"
            case .audience: "token is not meant for this service"
            case .revoked: "token was revoked (account disabled, role removed or password changed); sign in again"
            }
        }
    }

    /// Verifies signature, algorithm (pinned to HS256), expiry, issuer, audience, and that the
    /// account's tokens of that time are not revoked.
    ///
    /// A token verified before is not verified again: its claims are kept (`VerifiedTokens`), and only what
    /// changes with time is checked anew (expiry, revocation), so the answer is the one a full check gives.
    package func verify(_ token: String) async throws(Failure) -> Principal {
        if let known = verified.claims(of: token) {
            try check(known, at: Date())
            return known.principal
        }
        let claims = try await verifySignatureAndClaims(token)
        try check(claims, at: Date())
        verified.keep(claims, for: token)
        return claims.principal
    }

    /// What a verified token says, as far as later uses of it need.
    struct VerifiedClaims: Sendable {
        var principal: Principal
        var expires: Date
        var issuedAt: Int64
    }

    /// The checks that depend on the time of use: expiry and the account's revocations.
    private func check(_ claims: VerifiedClaims, at now: Date) throws(Failure) {
        guard now < claims.expires else { throw .expired }
        if let userID = claims.principal.userID, revocations?.isRevoked(userID: userID, issuedAt: claims.issuedAt) == true {
            throw .revoked
        }
    }

    private func verifySignatureAndClaims(_ token: String) async throws(Failure) -> VerifiedClaims {
        guard Self.headerAlgorithm(of: token) == "HS256" else { throw .algorithm }
        let claims: AccessClaims
        do {
            // The key its `kid` names first, then the other one: tokens signed before keys had ids carry none.
            claims = try await keys.verify(token, as: AccessClaims.self, iteratingKeys: true)
        } catch let error as JWTError {
            switch error.errorType {
            case .signatureVerificationFailed: throw .signature
            case .claimVerificationFailure:
                if error.failedClaim is ExpirationClaim { throw .expired }
                if error.failedClaim is NotBeforeClaim { throw .notYetValid }
                throw .claims
            default: throw .malformed
            }
        } catch {
            throw .malformed
        }
        guard let role = Role(rawValue: claims.role) else { throw .claims }
        let audience = role == .service ? Self.serviceAudience : Self.accountAudience
        guard claims.aud.value.contains(audience), claims.aud.value.count == 1 else { throw .audience }
        if role != .service {
            guard UUID(hyphenated: claims.sub.value) != nil else { throw .claims }
        }
        return VerifiedClaims(
            principal: Principal(subject: claims.sub.value, role: role, sessionID: claims.sid.flatMap { UUID(hyphenated: $0) }),
            expires: claims.exp.value, issuedAt: Int64(claims.iat.value.timeIntervalSince1970.rounded(.down)))
    }

    /// The `alg` of a compact JWS header; checked before any key is used so `none` and
    /// other algorithms are refused outright.
    static func headerAlgorithm(of token: String) -> String? {
        header(of: token)?["alg"] as? String
    }

    /// The JSON header of a compact JWS, unverified.
    static func header(of token: String) -> [String: Any]? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let data = Data(base64URL: String(parts[0])) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
}

extension TokenService {
    /// `revocations` in `/ready`, where this process checks revocations.
    package var readinessChecks: [ReadinessCheck] {
        revocations.map { [$0.readinessCheck] } ?? []
    }
}

/// Tokens this process has verified, by their whole text (signature included, so no other text can
/// match one), with what they say. The gateway and the service it hands a request to both verify its
/// token, and a client shows the same token for many requests. Bounded: when full, it starts afresh.
final class VerifiedTokens: Sendable {
    private let entries = Mutex<[String: TokenService.VerifiedClaims]>([:])
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func claims(of token: String) -> TokenService.VerifiedClaims? {
        entries.withLock { $0[token] }
    }

    func keep(_ claims: TokenService.VerifiedClaims, for token: String) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = claims
        }
    }
}

/// The service token each caller reuses, and until when.
final class ServiceTokens: Sendable {
    private let tokens = Mutex<[String: (token: String, until: Date)]>([:])

    func current(for service: String, at now: Date) -> String? {
        tokens.withLock { tokens in
            guard let kept = tokens[service], now < kept.until else { return nil }
            return kept.token
        }
    }

    func keep(_ token: String, for service: String, until: Date) {
        tokens.withLock { $0[service] = (token, until) }
    }
}
