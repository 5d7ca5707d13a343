import EcomAPI
import Foundation
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The users service and the gateway, driven over HTTP through a real `ecom serve`.
@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct UsersEndToEndTests {
    func withServer(_ body: (ServerProcess) async throws -> Void) async throws {
        let server = try await ServerProcess()
        do {
            try await body(server)
        } catch {
            print(server.log)
            await server.tearDown()
            throw error
        }
        await server.tearDown()
    }

    func register(_ server: ServerProcess, _ email: String, _ password: String = "password123") async throws -> HTTP.Reply {
        try await HTTP.send(.POST, server.gateway + "/api/users", json: Credentials(email: email, password: password))
    }

    func login(_ server: ServerProcess, _ email: String, _ password: String = "password123") async throws -> TokenPair {
        let reply = try await HTTP.send(.POST, server.gateway + "/api/login", json: Credentials(email: email, password: password))
        try #require(reply.status == .ok, "login failed: \(String(decoding: reply.body, as: UTF8.self))")
        return try reply.decode()
    }

    @Test("register, sign in and read the account, in snake_case JSON; emails are case-insensitive")
    func registerAndSignIn() async throws {
        try await withServer { server in
            let created = try await register(server, "a@b.co")
            #expect(created.status == .created)
            let json = try #require(created.json)
            #expect(Set(json.keys) == ["id", "email", "role", "disabled", "created_at"])
            #expect(json["role"] as? String == "user")
            #expect(created.headers.first(name: "X-Request-ID") != nil)

            let duplicate = try await register(server, "A@B.co")
            #expect(duplicate.status == .conflict)
            #expect(duplicate.errorCode == ErrorCode.emailTaken)

            let pair = try await login(server, "A@b.CO")
            #expect(pair.tokenType == "Bearer")
            #expect(pair.expiresIn == 900)
            let me = try await HTTP.send(.GET, server.gateway + "/api/me", token: pair.token)
            #expect(me.status == .ok)
            #expect(try me.decode(User.self).email == "a@b.co")

            let cookie = try #require(
                try await HTTP.send(.POST, server.gateway + "/api/login", json: Credentials(email: "a@b.co", password: "password123"))
                    .headers.first(name: "Set-Cookie"))
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.hasPrefix("refresh_token="))
        }
    }

    @Test("bad registrations are 4xx with a stable code and create nothing")
    func badRegistrations() async throws {
        try await withServer { server in
            let url = server.gateway + "/api/users"
            let cases: [(String, HTTPResponseStatus, String)] = [
                ("{", .badRequest, ErrorCode.invalidBody),
                (#"{"email":"x@y.co"}"#, .badRequest, ErrorCode.invalidField),
                (#"{"email":"x@y.co","password":12345678}"#, .badRequest, ErrorCode.invalidField),
                (#"{"email":"x@y.co","password":"short"}"#, .badRequest, ErrorCode.invalidField),
                (#"{"email":"not-an-email","password":"password123"}"#, .badRequest, ErrorCode.invalidField),
                (#"{"email":"x@y.co","password":"password123","role":"admin"}"#, .badRequest, ErrorCode.unknownField),
                (#"{"email":"x@y.co","password":"password123","id":"00000000-0000-0000-0000-000000000000"}"#, .badRequest, ErrorCode.unknownField),
            ]
            for (body, status, code) in cases {
                let reply = try await HTTP.send(.POST, url, raw: body)
                #expect(reply.status == status, "\(body)")
                #expect(reply.errorCode == code, "\(body)")
            }
            let huge = try await HTTP.send(.POST, url, raw: #"{"email":"x@y.co","password":""# + String(repeating: "p", count: 2 * 1024 * 1024) + #""}"#)
            #expect(huge.status == .payloadTooLarge)
            #expect(huge.errorCode == ErrorCode.payloadTooLarge)
            // None of the attempts above made an account.
            let login = try await HTTP.send(.POST, server.gateway + "/api/login", json: Credentials(email: "x@y.co", password: "password123"))
            #expect(login.status == .unauthorized)
        }
    }

    @Test("forged, expired and misused tokens are refused with 401, by the gateway and by the service on its own port")
    func forgedTokens() async throws {
        try await withServer { server in
            _ = try await register(server, "victim@b.co")
            let pair = try await login(server, "victim@b.co")
            let subject = pair.user.id.lowercased
            let parts = pair.token.split(separator: ".").map(String.init)
            let tamperedPayload = String(decoding: Data(base64URL: parts[1])!, as: UTF8.self)
                .replacingOccurrences(of: "\"role\":\"user\"", with: "\"role\":\"admin\"")
            let now = Int(Date().timeIntervalSince1970)
            func claims(_ change: (inout [String: Any]) -> Void = { _ in }) -> [String: Any] {
                var claims: [String: Any] = [
                    "sub": subject, "role": "user", "iss": "ecom", "aud": ["ecom-api"], "iat": now, "exp": now + 600,
                    "jti": UUID().lowercased,
                ]
                change(&claims)
                return claims
            }
            let cases: [(String, String, HTTPResponseStatus)] = [
                ("as issued", pair.token, .ok),
                ("signed here with the right key (control)", TokenForge.sign(claims()), .ok),
                ("alg none", TokenForge.sign(claims(), algorithm: "none"), .unauthorized),
                ("alg none, admin", TokenForge.sign(claims { $0["role"] = "admin" }, algorithm: "none"), .unauthorized),
                ("HS384 with the right key", TokenForge.sign(claims(), algorithm: "HS384"), .unauthorized),
                ("HS512 with the right key", TokenForge.sign(claims(), algorithm: "HS512"), .unauthorized),
                ("HS256 with another key", TokenForge.sign(claims(), key: "another-key-of-at-least-32-bytes-0123456789"), .unauthorized),
                ("the issued signature under an HS512 header", "\(TokenForge.header("HS512")).\(parts[1]).\(parts[2])", .unauthorized),
                ("role changed, signature kept", "\(parts[0]).\(Data(tamperedPayload.utf8).base64URLEncodedString()).\(parts[2])", .unauthorized),
                ("expired", TokenForge.sign(claims { $0["iat"] = now - 3600; $0["exp"] = now - 60 }), .unauthorized),
                ("not yet valid", TokenForge.sign(claims { $0["nbf"] = now + 600 }), .unauthorized),
                ("without expiry", TokenForge.sign(claims { $0["exp"] = nil }), .unauthorized),
                ("from another issuer", TokenForge.sign(claims { $0["iss"] = "evil" }), .unauthorized),
                ("for another audience", TokenForge.sign(claims { $0["aud"] = ["shop"] }), .unauthorized),
                ("for the services' audience", TokenForge.sign(claims { $0["aud"] = ["ecom-services"] }), .unauthorized),
                ("for two audiences", TokenForge.sign(claims { $0["aud"] = ["ecom-api", "ecom-services"] }), .unauthorized),
                ("with an unknown role", TokenForge.sign(claims { $0["role"] = "root" }), .unauthorized),
                ("for a subject that is no account id", TokenForge.sign(claims { $0["sub"] = "admin" }), .unauthorized),
                ("a refresh token", pair.refreshToken, .unauthorized),
                ("garbage", "garbage", .unauthorized),
                // A genuine service token is authenticated, and refused the account route.
                ("a service token", TokenForge.sign(claims { $0["sub"] = "orders"; $0["role"] = "service"; $0["aud"] = ["ecom-services"] }), .forbidden),
            ]
            for base in [server.gateway, server.service("users")] {
                for (name, token, status) in cases {
                    let reply = try await HTTP.send(.GET, base + "/api/me", token: token)
                    #expect(reply.status == status, "\(name) at \(base): \(reply.status.code)")
                    if status == .unauthorized {
                        #expect(reply.errorCode == ErrorCode.unauthorized, "\(name)")
                        #expect(reply.headers.first(name: "WWW-Authenticate") == "Bearer", "\(name)")
                    }
                }
                // A forged admin token opens no admin route.
                let forgedAdmin = TokenForge.sign(claims { $0["role"] = "admin" }, algorithm: "HS512")
                #expect(try await HTTP.send(.GET, base + "/admin/users", token: forgedAdmin).status == .unauthorized)
                #expect(try await HTTP.send(.GET, base + "/api/me").status == .unauthorized)
                #expect(try await HTTP.send(.GET, base + "/api/me", headers: [("Authorization", "Basic dmljdGltOnBhc3N3b3Jk")]).status == .unauthorized)
            }
        }
    }

    @Test("refresh rotates the token; presenting a used one revokes the whole family")
    func refreshRotationAndReuse() async throws {
        try await withServer { server in
            _ = try await register(server, "r@b.co")
            let first = try await login(server, "r@b.co")
            let rotated = try await HTTP.send(.POST, server.gateway + "/api/refresh", json: RefreshRequest(refreshToken: first.refreshToken))
            #expect(rotated.status == .ok)
            let second: TokenPair = try rotated.decode()
            #expect(second.refreshToken != first.refreshToken)
            #expect(try await HTTP.send(.GET, server.gateway + "/api/me", token: second.token).status == .ok)

            let reused = try await HTTP.send(.POST, server.gateway + "/api/refresh", json: RefreshRequest(refreshToken: first.refreshToken))
            #expect(reused.status == .unauthorized)
            #expect(reused.errorCode == ErrorCode.invalidRefreshToken)
            let successor = try await HTTP.send(.POST, server.gateway + "/api/refresh", json: RefreshRequest(refreshToken: second.refreshToken))
            #expect(successor.status == .unauthorized)

            // The cookie works as well as the body, and revoke ends the family.
            let third = try await login(server, "r@b.co")
            let viaCookie = try await HTTP.send(.POST, server.gateway + "/api/refresh", headers: [("Cookie", "refresh_token=\(third.refreshToken)")])
            #expect(viaCookie.status == .ok)
            let fourth: TokenPair = try viaCookie.decode()
            #expect(try await HTTP.send(.POST, server.gateway + "/api/revoke", json: RefreshRequest(refreshToken: fourth.refreshToken)).status == .noContent)
            #expect(try await HTTP.send(.POST, server.gateway + "/api/refresh", json: RefreshRequest(refreshToken: fourth.refreshToken)).status == .unauthorized)
        }
    }

    @Test("racing refreshes with one token: at most one succeeds")
    func racingRefresh() async throws {
        try await withServer { server in
            _ = try await register(server, "race@b.co")
            let pair = try await login(server, "race@b.co")
            let statuses = try await withThrowingTaskGroup(of: HTTPResponseStatus.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await HTTP.send(.POST, server.gateway + "/api/refresh", json: RefreshRequest(refreshToken: pair.refreshToken)).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count <= 1)
            #expect(statuses.allSatisfy { $0 == .ok || $0 == .unauthorized })
        }
    }

    @Test("repeated wrong passwords for one account are throttled with 429 and Retry-After")
    func bruteForce() async throws {
        try await withServer { server in
            _ = try await register(server, "bf@b.co")
            var statuses: [HTTPResponseStatus] = []
            var retryAfter: String?
            for _ in 0..<20 {
                let reply = try await HTTP.send(.POST, server.gateway + "/api/login", json: Credentials(email: "bf@b.co", password: "wrong-password"))
                statuses.append(reply.status)
                if reply.status == .tooManyRequests { retryAfter = reply.headers.first(name: "Retry-After") }
            }
            #expect(statuses.first == .unauthorized)
            #expect(statuses.contains(.tooManyRequests))
            #expect(statuses.allSatisfy { $0 == .unauthorized || $0 == .tooManyRequests })
            #expect(Int(try #require(retryAfter)) ?? 0 > 0)
            // Another account is not affected.
            _ = try await register(server, "other@b.co")
            _ = try await login(server, "other@b.co")
        }
    }

    @Test("failed sign-ins are throttled per client address: the gateway replaces any X-Forwarded-For a client sends")
    func throttledPerAddress() async throws {
        try await withServer { server in
            var statuses: [HTTPResponseStatus] = []
            for index in 0..<22 {
                let reply = try await HTTP.send(
                    .POST, server.gateway + "/api/login", json: Credentials(email: "guess\(index)@b.co", password: "password123"),
                    headers: [("X-Forwarded-For", "198.51.100.\(index)")])
                statuses.append(reply.status)
            }
            #expect(statuses.prefix(20).allSatisfy { $0 == .unauthorized }, "\(statuses.map(\.code))")
            #expect(statuses.dropFirst(20).allSatisfy { $0 == .tooManyRequests }, "\(statuses.map(\.code))")
            let admin = try await HTTP.send(
                .POST, server.gateway + "/api/login", json: Credentials(email: "root@example.com", password: "root-password-123"),
                headers: [("X-Forwarded-For", "192.0.2.1")])
            #expect(admin.status == .tooManyRequests)
            #expect(Int(admin.headers.first(name: "Retry-After") ?? "") ?? 0 > 0)
        }
    }

    @Test("services verify callers themselves and never trust an identity header")
    func servicesVerifyCallers() async throws {
        try await withServer { server in
            let created = try await register(server, "direct@b.co")
            let user: User = try created.decode()
            let pair = try await login(server, "direct@b.co")
            let users = server.service("users")

            let spoofed = try await HTTP.send(.GET, users + "/api/me", headers: [("X-User-ID", user.id.uuidString)])
            #expect(spoofed.status == .unauthorized)
            let adminRoute = try await HTTP.send(.GET, users + "/admin/users", token: pair.token)
            #expect(adminRoute.status == .forbidden)
            let internalRoute = try await HTTP.send(.GET, users + "/internal/demo-admin", token: pair.token)
            #expect(internalRoute.status == .forbidden)
            let throughGateway = try await HTTP.send(.GET, server.gateway + "/admin/users", token: pair.token)
            #expect(throughGateway.status == .forbidden)
            let internalThroughGateway = try await HTTP.send(.GET, server.gateway + "/internal/demo-admin", token: pair.token)
            #expect(internalThroughGateway.status == .notFound)
        }
    }

    @Test("an admin lists accounts, grants the admin role and disables an account")
    func administration() async throws {
        try await withServer { server in
            let admin = try await login(server, "root@example.com", "root-password-123")
            #expect(admin.user.role == .admin)
            for index in 0..<5 { _ = try await register(server, "member\(index)@b.co") }
            let member = try await login(server, "member0@b.co")

            var seen: [User] = []
            var cursor: String?
            repeat {
                let query = "/admin/users?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let reply = try await HTTP.send(.GET, server.gateway + query, token: admin.token)
                #expect(reply.status == .ok)
                let page: Page<User> = try reply.decode()
                #expect(page.items.count <= 2)
                seen += page.items
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen.count == 6)
            #expect(Set(seen.map(\.id)).count == 6)

            let granted = try await HTTP.send(.PATCH, server.gateway + "/admin/users/\(member.user.id)", json: UserUpdate(role: .admin), token: admin.token)
            #expect(granted.status == .ok)
            #expect(try granted.decode(User.self).role == .admin)

            let disabled = try await HTTP.send(.PATCH, server.gateway + "/admin/users/\(member.user.id)", json: UserUpdate(disabled: true), token: admin.token)
            #expect(try disabled.decode(User.self).disabled)
            let refresh = try await HTTP.send(.POST, server.gateway + "/api/refresh", json: RefreshRequest(refreshToken: member.refreshToken))
            #expect(refresh.status == .unauthorized)
            let signIn = try await HTTP.send(.POST, server.gateway + "/api/login", json: Credentials(email: "member0@b.co", password: "password123"))
            #expect(signIn.status == .forbidden)
            #expect(signIn.errorCode == ErrorCode.accountDisabled)

            let selfChange = try await HTTP.send(.PATCH, server.gateway + "/admin/users/\(admin.user.id)", json: UserUpdate(disabled: true), token: admin.token)
            #expect(selfChange.status == .conflict)
            let badID = try await HTTP.send(.PATCH, server.gateway + "/admin/users/nope", json: UserUpdate(disabled: true), token: admin.token)
            #expect(badID.status == .badRequest)
            #expect(badID.errorCode == ErrorCode.invalidID)
            let missing = try await HTTP.send(.PATCH, server.gateway + "/admin/users/\(UUID())", json: UserUpdate(disabled: true), token: admin.token)
            #expect(missing.status == .notFound)
        }
    }

    @Test("changing the password revokes the other sessions and keeps this one")
    func changePassword() async throws {
        try await withServer { server in
            _ = try await register(server, "pw@b.co")
            let here = try await login(server, "pw@b.co")
            let elsewhere = try await login(server, "pw@b.co")
            let wrong = try await HTTP.send(
                .POST, server.gateway + "/api/me/password", json: PasswordChange(currentPassword: "nope-nope", newPassword: "new-password-1"), token: here.token)
            #expect(wrong.status == .forbidden)
            let changed = try await HTTP.send(
                .POST, server.gateway + "/api/me/password", json: PasswordChange(currentPassword: "password123", newPassword: "new-password-1"), token: here.token)
            #expect(changed.status == .noContent)
            #expect(try await HTTP.send(.POST, server.gateway + "/api/refresh", json: RefreshRequest(refreshToken: elsewhere.refreshToken)).status == .unauthorized)
            #expect(try await HTTP.send(.POST, server.gateway + "/api/refresh", json: RefreshRequest(refreshToken: here.refreshToken)).status == .ok)
            _ = try await login(server, "pw@b.co", "new-password-1")
        }
    }

    @Test("the gateway answers unknown routes and unreachable services in the error shape")
    func gatewayErrors() async throws {
        try await withServer { server in
            let unknown = try await HTTP.send(.GET, server.gateway + "/api/nothing-here")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == ErrorCode.routeNotFound)
            let withID = try await HTTP.send(.GET, server.gateway + "/api/nothing-here", headers: [("X-Request-ID", "trace-me-42")])
            #expect(withID.headers.first(name: "X-Request-ID") == "trace-me-42")
            // The access line is written by the log's own thread, a moment after the answer may have left.
            var logged = false
            for _ in 0..<100 where !logged {
                logged = server.log.contains("trace-me-42")
                if !logged { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(logged)
        }
        // A gateway whose users service is not running answers 502.
        let deadPort = try TestEnvironment.freePort()
        let gateway = try await ServerProcess(
            arguments: ["--only", "gateway"], environment: ["ECOM_USERS_URL": "http://127.0.0.1:\(deadPort)"], services: [],
            waitForReady: false)
        defer { Task { await gateway.tearDown() } }
        var reply: HTTP.Reply?
        for _ in 0..<100 {
            reply = try? await HTTP.send(.POST, gateway.gateway + "/api/login", json: Credentials(email: "a@b.co", password: "password123"))
            if reply != nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(reply?.status == .badGateway)
        #expect(reply?.errorCode == ErrorCode.badGateway)
        let ready = try await HTTP.send(.GET, gateway.gateway + "/ready")
        #expect(ready.status == .serviceUnavailable)
        await gateway.stop()
    }
}
