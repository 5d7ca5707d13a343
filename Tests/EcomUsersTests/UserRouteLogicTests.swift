import EcomAPI
import EcomServerKit
import EcomTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import EcomUsers

/// The users routes' own logic (validation, status codes, roles, pages, answer shapes) on an
/// in-memory repository: no database needed.
@Suite struct UserRouteLogicTests {
    /// A fresh in-memory service with an admin and a user in it, and a token for each kind of caller.
    struct Callers: Sendable {
        var app: UsersTestApp
        var admin: UserRecord
        var user: UserRecord
        var adminToken: String
        var userToken: String
        var serviceToken: String

        func token(_ caller: Caller) -> String? {
            switch caller {
            case .anonymous: nil
            case .user: userToken
            case .admin: adminToken
            case .service: serviceToken
            }
        }
    }

    typealias Caller = RefusedRequest.Caller

    static func run(seeded: Bool = true, _ body: @escaping @Sendable (Callers) async throws -> Void) async throws {
        let repository = MemoryUserRepository()
        try await UsersTestApp.run(repository: repository, seeded: seeded) { app in
            let admin = try await repository.create(
                email: "root@b.co", passwordHash: try await app.hasher.hash("root-password"), role: .admin)
            let user = try await repository.create(email: "member@b.co", passwordHash: try await app.hasher.hash("password123"), role: .user)
            try await body(
                Callers(
                    app: app, admin: admin, user: user,
                    adminToken: try await app.tokens.issueAccessToken(userID: admin.id, role: .admin, sessionID: nil),
                    userToken: try await app.tokens.issueAccessToken(userID: user.id, role: .user, sessionID: nil),
                    serviceToken: try await app.tokens.issueServiceToken(service: "gateway")))
        }
    }

    static func decode<T: Decodable>(_ type: T.Type = T.self, _ response: TestResponse) throws -> T {
        try JSONDecoder.ecom.decode(T.self, from: Data(response.body.readableBytesView))
    }

    static func error(_ response: TestResponse) throws -> APIErrorBody.Detail {
        try decode(APIErrorBody.self, response).error
    }

    // MARK: - Accounts

    @Test("registering answers 201 with the public fields of a plain user, the email trimmed and lowercased")
    func register() async throws {
        try await Self.run { callers in
            let response = try await callers.app.send(.post, "/api/users", json: #"{"email": "  New@B.Co ", "password": "password123"}"#)
            #expect(response.status == .created)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
            #expect(Set(json.keys) == ["id", "email", "role", "disabled", "created_at"])
            let user = try Self.decode(User.self, response)
            #expect(user.email == "new@b.co" && user.role == .user && !user.disabled)
            #expect(try await callers.app.repository.find(id: user.id)?.email == "new@b.co")

            let again = try await callers.app.send(.post, "/api/users", json: #"{"email": "new@b.co", "password": "password123"}"#)
            #expect(again.status == .conflict)
            #expect(try Self.error(again).code == ErrorCode.emailTaken && Self.error(again).field == "email")
        }
    }

    /// `{user}` in a path stands for the plain user's id, `{admin}` for the admin's.
    typealias BadInput = RefusedRequest

    /// What each route refuses and how it names it; the rules themselves are `ValidationTests`'.
    static let badInputs: [BadInput] = [
        BadInput(method: .post, path: "/api/users", body: #"{"email": "x@y.co", "password": "1234567"}"#, caller: .anonymous, status: .badRequest, code: ErrorCode.invalidField, field: "password"),
        BadInput(method: .post, path: "/api/users", body: #"{"email": "x@y", "password": "password123"}"#, caller: .anonymous, status: .badRequest, code: ErrorCode.invalidField, field: "email"),
        BadInput(method: .post, path: "/api/users", body: #"{"email": "x@y.co", "password": "password123", "role": "admin"}"#, caller: .anonymous, status: .badRequest, code: ErrorCode.unknownField, field: "role"),
        BadInput(method: .post, path: "/api/login", body: #"{"email": "\#(String(repeating: "e", count: 255))", "password": "password123"}"#, caller: .anonymous, status: .badRequest, code: ErrorCode.invalidField, field: "email"),
        BadInput(method: .post, path: "/api/login", body: #"{"email": "member@b.co", "password": "\#(String(repeating: "p", count: 1025))"}"#, caller: .anonymous, status: .badRequest, code: ErrorCode.invalidField, field: "password"),
        BadInput(method: .post, path: "/api/login", body: #"{"email": "member@b.co", "password": "wrong-password"}"#, caller: .anonymous, status: .unauthorized, code: ErrorCode.invalidCredentials),
        BadInput(method: .post, path: "/api/login", body: #"{"email": "nobody@b.co", "password": "password123"}"#, caller: .anonymous, status: .unauthorized, code: ErrorCode.invalidCredentials),
        BadInput(method: .post, path: "/api/refresh", caller: .anonymous, status: .unauthorized, code: ErrorCode.invalidRefreshToken),
        BadInput(method: .post, path: "/api/refresh", body: #"{"refresh_token": "never-issued"}"#, caller: .anonymous, status: .unauthorized, code: ErrorCode.invalidRefreshToken),
        BadInput(method: .post, path: "/api/refresh", body: #"{"refresh_token": "\#(String(repeating: "t", count: 129))"}"#, caller: .anonymous, status: .badRequest, code: ErrorCode.invalidField, field: "refresh_token"),
        BadInput(method: .get, path: "/api/me", caller: .anonymous, status: .unauthorized, code: ErrorCode.unauthorized),
        BadInput(method: .get, path: "/api/me", caller: .service, status: .forbidden, code: ErrorCode.forbidden),
        BadInput(method: .post, path: "/api/me/password", body: #"{"current_password": "password123", "new_password": "short"}"#, caller: .user, status: .badRequest, code: ErrorCode.invalidField, field: "new_password"),
        BadInput(method: .post, path: "/api/me/password", body: #"{"current_password": "wrong-password", "new_password": "new-password-1"}"#, caller: .user, status: .forbidden, code: ErrorCode.invalidCredentials, field: "current_password"),
        BadInput(method: .post, path: "/api/me/password", body: #"{"current_password": "\#(String(repeating: "p", count: 1025))", "new_password": "new-password-1"}"#, caller: .user, status: .badRequest, code: ErrorCode.invalidField, field: "current_password"),
        BadInput(method: .get, path: "/admin/users", caller: .anonymous, status: .unauthorized, code: ErrorCode.unauthorized),
        BadInput(method: .get, path: "/admin/users", caller: .user, status: .forbidden, code: ErrorCode.forbidden),
        BadInput(method: .get, path: "/admin/users", caller: .service, status: .forbidden, code: ErrorCode.forbidden),
        BadInput(method: .get, path: "/admin/users?limit=0", status: .badRequest, code: ErrorCode.invalidQuery, field: "limit"),
        BadInput(method: .get, path: "/admin/users?limit=-3", status: .badRequest, code: ErrorCode.invalidQuery, field: "limit"),
        BadInput(method: .get, path: "/admin/users?cursor=not-a-cursor", status: .badRequest, code: ErrorCode.invalidQuery, field: "cursor"),
        BadInput(method: .get, path: "/admin/users?cursor=\(Cursor.encode(["'; DROP TABLE users", UUID().lowercased]))", status: .badRequest, code: ErrorCode.invalidQuery, field: "cursor"),
        BadInput(method: .get, path: "/admin/users?id_prefix=xyz", status: .badRequest, code: ErrorCode.invalidQuery, field: "id_prefix"),
        BadInput(method: .get, path: "/admin/users/not-a-uuid", status: .badRequest, code: ErrorCode.invalidID, field: "id"),
        BadInput(method: .get, path: "/admin/users/\(UUID().lowercased)", status: .notFound, code: ErrorCode.notFound),
        BadInput(method: .get, path: "/admin/users/{user}", caller: .user, status: .forbidden, code: ErrorCode.forbidden),
        BadInput(method: .patch, path: "/admin/users/{user}", body: "{}", status: .badRequest, code: ErrorCode.invalidBody),
        BadInput(method: .patch, path: "/admin/users/{user}", body: #"{"role": "service"}"#, status: .badRequest, code: ErrorCode.invalidField, field: "role"),
        BadInput(method: .patch, path: "/admin/users/{user}", body: #"{"role": "owner"}"#, status: .badRequest, code: ErrorCode.invalidField, field: "role"),
        BadInput(method: .patch, path: "/admin/users/{user}", body: #"{"email": "new@b.co"}"#, status: .badRequest, code: ErrorCode.unknownField, field: "email"),
        BadInput(method: .patch, path: "/admin/users/{admin}", body: #"{"disabled": true}"#, status: .conflict, code: "cannot_modify_self"),
        BadInput(method: .patch, path: "/admin/users/{user}", body: #"{"role": "admin"}"#, caller: .user, status: .forbidden, code: ErrorCode.forbidden),
        BadInput(method: .patch, path: "/admin/users/\(UUID().lowercased)", body: #"{"disabled": true}"#, status: .notFound, code: ErrorCode.notFound),
        BadInput(method: .get, path: "/internal/revocations", caller: .admin, status: .forbidden, code: ErrorCode.forbidden),
        BadInput(method: .get, path: "/internal/revocations?since=-1", caller: .service, status: .badRequest, code: ErrorCode.invalidQuery, field: "since"),
        BadInput(method: .get, path: "/internal/revocations?since=latest", caller: .service, status: .badRequest, code: ErrorCode.invalidQuery, field: "since"),
        BadInput(method: .get, path: "/internal/demo-admin", caller: .user, status: .forbidden, code: ErrorCode.forbidden),
    ]

    @Test("bad input and the wrong caller get their status and stable code, and change no account", arguments: badInputs)
    func badInput(_ example: BadInput) async throws {
        try await Self.run { callers in
            let path = example.path.replacingOccurrences(of: "{user}", with: callers.user.id.lowercased)
                .replacingOccurrences(of: "{admin}", with: callers.admin.id.lowercased)
            let response = try await callers.app.send(example.method, path, token: callers.token(example.caller), json: example.body)
            #expect(response.status == example.status)
            let error = try Self.error(response)
            #expect(error.code == example.code)
            #expect(error.field == example.field)
            #expect(try await callers.app.repository.find(id: callers.user.id) == callers.user)
            #expect(try await callers.app.repository.find(id: callers.admin.id) == callers.admin)
            #expect(try await callers.app.repository.list(idPrefix: nil, limit: 10, after: nil).count == 2)
            #expect(callers.app.revocationReads.count == 0)
        }
    }

    @Test("/api/me answers the caller's own account; a token for an account that no longer exists is 404")
    func me() async throws {
        try await Self.run { callers in
            let mine = try await callers.app.send(.get, "/api/me", token: callers.userToken)
            #expect(mine.status == .ok)
            #expect(try Self.decode(User.self, mine) == callers.user.api)
            let gone = try await callers.app.tokens.issueAccessToken(userID: UUID(), role: .user, sessionID: nil)
            let missing = try await callers.app.send(.get, "/api/me", token: gone)
            #expect(missing.status == .notFound)
            #expect(try Self.error(missing).code == ErrorCode.notFound)
        }
    }

    @Test("a password change answers 204, takes the new password, and has the revocation feed read at once")
    func changePassword() async throws {
        try await Self.run { callers in
            let changed = try await callers.app.send(
                .post, "/api/me/password", token: callers.userToken,
                json: #"{"current_password": "password123", "new_password": "new-password-1"}"#)
            #expect(changed.status == .noContent)
            #expect(callers.app.revocationReads.count == 1)
            #expect(try await callers.app.login("member@b.co", "password123").status == .unauthorized)
            #expect(try await callers.app.login("member@b.co", "new-password-1").status == .ok)
        }
    }

    // MARK: - Sign-in and tokens

    @Test("sign-in answers a token pair with the account, and the refresh token as a secure HttpOnly cookie for /api")
    func signIn() async throws {
        try await Self.run { callers in
            let response = try await callers.app.login("Member@B.co", "password123")
            #expect(response.status == .ok)
            let pair = try Self.decode(TokenPair.self, response)
            #expect(pair.tokenType == "Bearer" && pair.expiresIn == 900 && pair.user == callers.user.api)
            let cookie = try #require(response.headers[.setCookie])
            #expect(cookie.hasPrefix("refresh_token=\(pair.refreshToken);"))
            for attribute in ["HttpOnly", "Secure", "Path=/api", "SameSite=Strict", "Max-Age=2592000"] {
                #expect(cookie.contains(attribute), "\(cookie)")
            }
            let me = try await callers.app.send(.get, "/api/me", token: pair.token)
            #expect(try Self.decode(User.self, me).id == callers.user.id)
        }
    }

    @Test("a disabled account is refused at sign-in with 403 account_disabled, after the password matched")
    func disabledAccount() async throws {
        try await Self.run { callers in
            _ = try await callers.app.repository.update(id: callers.user.id, role: nil, disabled: true)
            let wrong = try await callers.app.login("member@b.co", "wrong-password")
            #expect(wrong.status == .unauthorized)
            let right = try await callers.app.login("member@b.co", "password123")
            #expect(right.status == .forbidden)
            #expect(try Self.error(right).code == ErrorCode.accountDisabled)
        }
    }

    @Test("refresh takes the token from the cookie as from the body, and a malformed cookie is 400 whatever the body says")
    func refreshCookie() async throws {
        try await Self.run { callers in
            let pair = try Self.decode(TokenPair.self, try await callers.app.login("member@b.co", "password123"))
            let byCookie = try await callers.app.send(.post, "/api/refresh", headers: [.cookie: "refresh_token=\(pair.refreshToken)"])
            #expect(byCookie.status == .ok)
            let next = try Self.decode(TokenPair.self, byCookie)
            #expect(next.refreshToken != pair.refreshToken && next.user == callers.user.api)
            // Among other cookies, as a browser sends them, names that are not HTTP tokens too.
            let amongOthers = try await callers.app.send(
                .post, "/api/refresh", headers: [.cookie: "theme=dark; refresh_token=\(next.refreshToken); cart[42]=2; _ga=GA1.2.3"])
            #expect(amongOthers.status == .ok)
            let third = try Self.decode(TokenPair.self, amongOthers)

            let malformed = try await callers.app.send(
                .post, "/api/refresh", json: #"{"refresh_token": "\#(third.refreshToken)"}"#, headers: [.cookie: "refresh_token=a.b"])
            #expect(malformed.status == .badRequest)
            #expect(try Self.error(malformed).field == "refresh_token")
            #expect(try await callers.app.send(.post, "/api/refresh", json: #"{"refresh_token": "\#(third.refreshToken)"}"#).status == .ok)
        }
    }

    @Test(
        "a refresh_token cookie with a ';' in its value is 400, not a shorter token or none",
        arguments: [
            "refresh_token=;x", "refresh_token=abc;def", "theme=dark; refresh_token=abc;", "refresh_token=abc; ; x=1",
            "refresh_token=abc;x=1", "refresh_token=5bR;pk,Fz=3}M4E8o(8>1`HdF", "theme=dark;refresh_token=abc",
        ])
    func cutCookie(_ header: String) async throws {
        try await Self.run { callers in
            for path in ["/api/refresh", "/api/revoke"] {
                let answer = try await callers.app.send(.post, path, json: "{}", headers: [.cookie: header])
                #expect(answer.status == .badRequest, "\(path)")
                #expect(try Self.error(answer).field == "refresh_token", "\(path)")
            }
        }
    }

    @Test("signing out answers 204, clears the cookie, and ends the refresh token's family; without a token it still answers 204")
    func signOut() async throws {
        try await Self.run { callers in
            let pair = try Self.decode(TokenPair.self, try await callers.app.login("member@b.co", "password123"))
            let revoked = try await callers.app.send(.post, "/api/revoke", json: #"{"refresh_token": "\#(pair.refreshToken)"}"#)
            #expect(revoked.status == .noContent)
            let cookie = try #require(revoked.headers[.setCookie])
            #expect(cookie.hasPrefix("refresh_token=;") && cookie.contains("Max-Age=0"), "\(cookie)")
            let refresh = try await callers.app.send(.post, "/api/refresh", json: #"{"refresh_token": "\#(pair.refreshToken)"}"#)
            #expect(refresh.status == .unauthorized)
            #expect(try await callers.app.send(.post, "/api/revoke").status == .noContent)
        }
    }

    // MARK: - Administration

    @Test("the account list pages in sign-up order with any limit, each account once; id_prefix narrows it")
    func accountPages() async throws {
        try await Self.run { callers in
            for index in 0..<7 { try await callers.app.register("p\(index)@b.co") }
            let everyone = try await callers.app.repository.list(idPrefix: nil, limit: 100, after: nil).map(\.0.id)
            #expect(everyone.count == 9)
            for limit in [1, 2, 8, 9, 100] {
                var seen: [User] = []
                var cursor: String?
                repeat {
                    let response = try await callers.app.send(
                        .get, "/admin/users?limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? ""), token: callers.adminToken)
                    let page = try Self.decode(Page<User>.self, response)
                    #expect(page.items.count <= limit)
                    seen += page.items
                    cursor = page.nextCursor
                } while cursor != nil
                #expect(seen.map(\.id) == everyone, "limit \(limit)")
                #expect(seen.first?.email == "root@b.co")
            }
            let prefix = String(callers.user.id.lowercased.replacingOccurrences(of: "-", with: "").prefix(6))
            let narrowed = try Self.decode(
                Page<User>.self, try await callers.app.send(.get, "/admin/users?id_prefix=\(prefix.uppercased())", token: callers.adminToken))
            #expect(narrowed.items.map(\.id) == [callers.user.id])
            #expect(narrowed.nextCursor == nil)
        }
    }

    @Test("an admin reads one account, and a change answers it; demoting an admin and disabling revoke, promoting does not")
    func administration() async throws {
        try await Self.run { callers in
            let read = try await callers.app.send(.get, "/admin/users/\(callers.user.id.lowercased)", token: callers.adminToken)
            #expect(try Self.decode(User.self, read) == callers.user.api)

            let promoted = try await callers.app.send(
                .patch, "/admin/users/\(callers.user.id.lowercased)", token: callers.adminToken, json: #"{"role": "admin"}"#)
            #expect(try Self.decode(User.self, promoted).role == .admin)
            let feed = try #require(callers.app.repository as? MemoryUserRepository)
            #expect(await feed.revocationEntries.isEmpty)

            let demoted = try await callers.app.send(
                .patch, "/admin/users/\(callers.user.id.lowercased)", token: callers.adminToken, json: #"{"role": "user", "disabled": true}"#)
            let user = try Self.decode(User.self, demoted)
            #expect(user.role == .user && user.disabled)
            #expect(await feed.revocationEntries.map(\.userID) == [callers.user.id])
            // Every change is passed on at once, whether or not it revoked anything.
            #expect(callers.app.revocationReads.count == 2)
        }
    }

    // MARK: - Internal

    @Test("the internal routes answer services: the demo admin's state and the revocation feed from a cursor")
    func internalRoutes() async throws {
        try await Self.run { callers in
            let status = try await callers.app.send(.get, "/internal/demo-admin", token: callers.serviceToken)
            #expect(String(buffer: status.body) == #"{"demo_password_active":false}"#)

            _ = try await callers.app.repository.update(id: callers.user.id, role: nil, disabled: true)
            _ = try await callers.app.repository.update(id: callers.admin.id, role: .user, disabled: nil)
            let all = try Self.decode(
                RevocationPage.self, try await callers.app.send(.get, "/internal/revocations", token: callers.serviceToken))
            #expect(all.items.map(\.userID) == [callers.user.id, callers.admin.id])
            let rest = try Self.decode(
                RevocationPage.self,
                try await callers.app.send(.get, "/internal/revocations?since=\(all.items[0].cursor)", token: callers.serviceToken))
            #expect(rest.items.map(\.userID) == [callers.admin.id])
            #expect(rest.cursor == all.cursor && !rest.more)
        }
    }

    @Test("until start-up has finished, the internal routes answer 503 rather than a state that is not true yet")
    func notSeeded() async throws {
        try await Self.run(seeded: false) { callers in
            for path in ["/internal/demo-admin", "/internal/revocations"] {
                let response = try await callers.app.send(.get, path, token: callers.serviceToken)
                #expect(response.status == .serviceUnavailable, "\(path)")
                #expect(try Self.error(response).code == ErrorCode.serviceUnavailable)
            }
        }
    }
}
