import EcomAPI
import Foundation
import NIOHTTP1
import Testing

/// Disabling an account, removing its admin role or changing its password voids its earlier
/// access tokens everywhere within seconds, in a split deployment: one process runs the users
/// service (and reads its revocation feed from its database), another the gateway and the
/// other services (and polls the feed over HTTP).
@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct RevocationEndToEndTests {
    /// The design's goal is 2 s; the extra second is for a loaded test machine.
    static let bound: Duration = .seconds(3)

    struct Split {
        /// `--only gateway,users`: the feed's own process.
        let users: ServerProcess
        /// `--only gateway,products,cart,orders`, polling the feed of `users`.
        let shop: ServerProcess
        let admin: TokenPair

        func register(_ email: String, _ password: String = "password123") async throws -> TokenPair {
            let created = try await HTTP.send(.POST, users.gateway + "/api/users", json: Credentials(email: email, password: password))
            try #require(created.status == .created, "\(created.text)")
            return try await users.login(email, password)
        }

        /// Every place an account token is checked: both gateways (one reads the table fed from
        /// the database, one the polled table) and a service port of each process.
        var accountChecks: [String] {
            [users.gateway + "/api/me", users.service("users") + "/api/me", shop.gateway + "/api/cart", shop.service("cart") + "/api/cart"]
        }

        var adminChecks: [String] {
            [users.gateway + "/admin/users", users.service("users") + "/admin/users", shop.gateway + "/admin/products", shop.service("products") + "/admin/products"]
        }
    }

    static func withSplit(_ body: (Split) async throws -> Void) async throws {
        let users = try await ServerProcess()
        let shop: ServerProcess
        do {
            shop = try await ServerProcess(
                arguments: ["--only", "gateway,products,cart,orders"], environment: ["ECOM_USERS_URL": users.service("users")],
                services: ["products", "cart", "orders"], databasePrefix: users.databasePrefix + "_shop")
        } catch {
            await users.tearDown()
            throw error
        }
        do {
            try await body(Split(users: users, shop: shop, admin: try await users.login("root@example.com", "root-password-123")))
        } catch {
            print(users.log.suffix(10_000))
            print(shop.log.suffix(10_000))
            await shop.tearDown()
            await users.tearDown()
            throw error
        }
        await shop.tearDown()
        await users.tearDown()
    }

    /// Polls `url` with `token` until it answers `status`, up to `bound`; returns the last reply and how long it took.
    static func waitFor(
        _ status: HTTPResponseStatus, _ url: String, token: String, bound: Duration = bound
    ) async throws -> (reply: HTTP.Reply, elapsed: Duration) {
        let start = ContinuousClock.now
        var reply = try await HTTP.send(.GET, url, token: token)
        while reply.status != status && ContinuousClock.now - start < bound {
            try await Task.sleep(for: .milliseconds(50))
            reply = try await HTTP.send(.GET, url, token: token)
        }
        return (reply, ContinuousClock.now - start)
    }

    static func expectRevoked(_ token: String, at urls: [String], _ what: String) async throws {
        for url in urls {
            let (reply, elapsed) = try await waitFor(.unauthorized, url, token: token)
            #expect(reply.status == .unauthorized, "\(what): \(url) still answers \(reply.status.code) after \(elapsed)")
            #expect(reply.errorCode == ErrorCode.unauthorized, "\(what): \(url)")
        }
    }

    static func expectAccepted(_ token: String, at urls: [String], _ what: String) async throws {
        for url in urls {
            let reply = try await HTTP.send(.GET, url, token: token)
            #expect(reply.status == .ok, "\(what): \(url) answers \(reply.status.code) \(reply.text)")
        }
    }

    @Test("a disable, a demotion and a password change each void the account's earlier tokens at both gateways and on service ports")
    func revocationsReachEveryService() async throws {
        try await Self.withSplit { split in
            let admin = split.admin

            // Disabled: the earlier token is refused everywhere, and no new one can be had.
            let disabled = try await split.register("disabled@revoke.test")
            try await Self.expectAccepted(disabled.token, at: split.accountChecks, "before the disable")
            let disabling = try await HTTP.send(
                .PATCH, split.users.gateway + "/admin/users/\(disabled.user.id.lowercased)", json: UserUpdate(disabled: true), token: admin.token)
            try #require(disabling.status == .ok, "\(disabling.text)")
            try await Self.expectRevoked(disabled.token, at: split.accountChecks, "disabled")
            let signIn = try await HTTP.send(.POST, split.users.gateway + "/api/login", json: Credentials(email: "disabled@revoke.test", password: "password123"))
            #expect(signIn.errorCode == ErrorCode.accountDisabled)

            // Demoted: the earlier admin token opens no admin route and no account route; a new
            // sign-in gives a user token that works as a user's.
            let demoted = try await split.register("demoted@revoke.test")
            let promoting = try await HTTP.send(
                .PATCH, split.users.gateway + "/admin/users/\(demoted.user.id.lowercased)", json: UserUpdate(role: .admin), token: admin.token)
            try #require(promoting.status == .ok)
            let asAdmin = try await split.users.login("demoted@revoke.test", "password123")
            try await Self.expectAccepted(asAdmin.token, at: split.adminChecks, "admin before the demotion")
            let demoting = try await HTTP.send(
                .PATCH, split.users.gateway + "/admin/users/\(demoted.user.id.lowercased)", json: UserUpdate(role: .user), token: admin.token)
            try #require(demoting.status == .ok)
            try await Self.expectRevoked(asAdmin.token, at: split.adminChecks + split.accountChecks, "demoted")
            let asUser = try await split.users.login("demoted@revoke.test", "password123")
            #expect(asUser.user.role == .user)
            try await Self.expectAccepted(asUser.token, at: split.accountChecks, "signed in again after the demotion")
            for url in split.adminChecks {
                #expect(try await HTTP.send(.GET, url, token: asUser.token).status == .forbidden, "\(url)")
            }

            // Password changed: every earlier token of the account is refused, the changing
            // session's own included (its refresh token still works); a new sign-in works at once.
            let changer = try await split.register("changer@revoke.test")
            let elsewhere = try await split.users.login("changer@revoke.test", "password123")
            let changed = try await HTTP.send(
                .POST, split.users.gateway + "/api/me/password",
                json: PasswordChange(currentPassword: "password123", newPassword: "new-password-1"), token: changer.token)
            try #require(changed.status == .noContent, "\(changed.text)")
            let renewed = try await split.users.login("changer@revoke.test", "new-password-1")
            try await Self.expectAccepted(renewed.token, at: split.accountChecks, "signed in right after the change")
            try await Self.expectRevoked(elsewhere.token, at: split.accountChecks, "another session after the password change")
            try await Self.expectRevoked(changer.token, at: split.accountChecks, "the changing session after the password change")
            let refreshed = try await HTTP.send(.POST, split.users.gateway + "/api/refresh", json: RefreshRequest(refreshToken: changer.refreshToken))
            #expect(refreshed.status == .ok)
            try await Self.expectAccepted(try refreshed.decode(TokenPair.self).token, at: split.accountChecks, "refreshed after the change")

            // Bystanders and the acting admin are untouched.
            try await Self.expectAccepted(admin.token, at: split.adminChecks, "the acting admin")
        }
    }

    @Test("with the users service down, admin routes answer 503 and /ready says so after the grace period; both recover")
    func usersServiceDown() async throws {
        try await Self.withSplit { split in
            let shopper = try await split.register("shopper@revoke.test")
            let shopAdmin = [split.shop.gateway + "/admin/products", split.shop.service("products") + "/admin/products"]
            try await Self.expectAccepted(split.admin.token, at: shopAdmin, "users up")

            #expect(await split.users.stop() == 0)
            for url in shopAdmin {
                let (reply, _) = try await Self.waitFor(.serviceUnavailable, url, token: split.admin.token, bound: .seconds(30))
                #expect(reply.status == .serviceUnavailable, "\(url): \(reply.status.code)")
                #expect(reply.errorCode == ErrorCode.revocationsUnavailable)
                #expect(reply.headers.first(name: "Retry-After") != nil)
            }
            for base in [split.shop.gateway, split.shop.service("cart")] {
                let ready = try await HTTP.send(.GET, base + "/ready")
                #expect(ready.status == .serviceUnavailable)
                #expect((ready.json?["checks"] as? [String: Bool])?["revocations"] == false, "\(base): \(ready.text)")
            }
            // Shoppers keep going on the last known table.
            try await Self.expectAccepted(shopper.token, at: [split.shop.gateway + "/api/cart", split.shop.service("cart") + "/api/cart"], "users down")
            #expect(split.shop.log.components(separatedBy: "cannot read the revocation feed").count == 2, "one warning per outage")

            let restarted = try await ServerProcess(reusing: split.users, keepServicePorts: true)
            defer { Task { await restarted.stop() } }
            for url in shopAdmin {
                let (reply, _) = try await Self.waitFor(.ok, url, token: split.admin.token, bound: .seconds(30))
                #expect(reply.status == .ok, "\(url) after the users service is back: \(reply.status.code)")
            }
            #expect(try await HTTP.send(.GET, split.shop.service("cart") + "/ready").status == .ok)
            await restarted.stop()
        }
    }
}
