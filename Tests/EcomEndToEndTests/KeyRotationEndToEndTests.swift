import EcomAPI
import Foundation
import NIOHTTP1
import Testing

/// Replacing the signing key signs no one out: tokens of the key being retired are accepted while
/// `ECOM_ACCEPTED_SECRET_KEY` names it, and refresh tokens, which no key signs, outlive it.
@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct KeyRotationEndToEndTests {
    static let newKey = "a-new-end-to-end-signing-key-9876543210fedcba"

    @Test("a rotated key: the old key's tokens work while it is accepted, then only a refresh does, and nobody signs in again")
    func rotation() async throws {
        let first = try await ServerProcess()
        let session = try await first.login("root@example.com", "root-password-123")
        #expect(try await HTTP.send(.GET, first.gateway + "/api/me", token: session.token).status == .ok)
        await first.stop()

        let rotated = try await ServerProcess(
            reusing: first, environment: ["SECRET_KEY": Self.newKey, "ECOM_ACCEPTED_SECRET_KEY": ServerProcess.secret])
        #expect(rotated.log.contains("tokens signed with ECOM_ACCEPTED_SECRET_KEY are accepted too"), "\(rotated.log)")
        for base in [rotated.gateway, rotated.service("users")] {
            let reply = try await HTTP.send(.GET, base + "/api/me", token: session.token)
            #expect(reply.status == .ok, "\(base): \(reply.text)")
        }
        let fresh = try await rotated.login("root@example.com", "root-password-123")
        await rotated.stop()

        let after = try await ServerProcess(reusing: first, environment: ["SECRET_KEY": Self.newKey])
        let refused = try await HTTP.send(.GET, after.gateway + "/api/me", token: session.token)
        #expect(refused.status == .unauthorized)
        #expect(refused.errorCode == "unauthorized", "\(refused.text)")
        #expect(try await HTTP.send(.GET, after.gateway + "/api/me", token: fresh.token).status == .ok)
        let refreshed = try await HTTP.send(.POST, after.gateway + "/api/refresh", json: RefreshRequest(refreshToken: session.refreshToken))
        try #require(refreshed.status == .ok, "\(refreshed.text)")
        let pair: TokenPair = try refreshed.decode()
        #expect(try await HTTP.send(.GET, after.gateway + "/api/me", token: pair.token).status == .ok)
        await after.tearDown()
    }

    @Test("a short ECOM_ACCEPTED_SECRET_KEY stops the server with a one-line reason naming it")
    func shortAcceptedKey() async throws {
        let server = try await ServerProcess(environment: ["ECOM_ACCEPTED_SECRET_KEY": "short"], waitForReady: false)
        #expect(await server.stopWhenExited() != 0)
        let lines = server.log.split(separator: "\n").filter { $0.contains("ECOM_ACCEPTED_SECRET_KEY") }
        #expect(lines.count == 1, "\(server.log)")
        #expect(lines.first?.contains("must be at least 32 bytes") == true)
        await server.tearDown()
    }
}
