import EcomAPI
import EcomClient
import Foundation
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#endif

@Suite struct GatewayClientTests {
    let store = Fixtures.store()
    var key: String { CredentialsStore.key(for: Fixtures.server) }

    func client(_ transport: FakeTransport) -> GatewayClient {
        GatewayClient(server: Fixtures.server, credentials: store, transport: transport)
    }

    func signIn(_ token: String = "old-access", refresh: String = "old-refresh") async throws {
        let key = key
        try await store.modify { $0[key] = Fixtures.session(token, refresh: refresh) }
    }

    @Test("every call carries its own request id, JSON headers and the bearer token")
    func requestHeaders() async throws {
        try await signIn()
        let transport = FakeTransport { _ in (200, Fixtures.json(Fixtures.user)) }
        _ = try await client(transport).me()
        _ = try await client(transport).me()
        let requests = transport.requests
        #expect(requests.map(\.url?.absoluteString) == ["http://store.test:8080/api/me", "http://store.test:8080/api/me"])
        #expect(requests.allSatisfy { $0.bearer == "old-access" })
        #expect(requests.allSatisfy { $0.value(forHTTPHeaderField: "Accept") == "application/json" })
        let ids = requests.compactMap { $0.value(forHTTPHeaderField: "X-Request-ID") }
        #expect(ids.count == 2 && Set(ids).count == 2)
    }

    @Test("queries are percent-encoded, '+' included, and ids are lowercase")
    func queryEncoding() async throws {
        let transport = FakeTransport { _ in (200, Fixtures.json(Page<Product>(items: [], nextCursor: nil))) }
        _ = try await client(transport).products(search: "tea & cake+", page: PageRequest(limit: 5, cursor: "a+b/c="))
        let url = try #require(transport.requests.first?.url?.absoluteString)
        #expect(url == "http://store.test:8080/api/products?q=tea%20%26%20cake%2B&limit=5&cursor=a%2Bb/c%3D")
        #expect(transport.requests.first?.bearer == nil)
    }

    @Test("checkout sends the idempotency key and tells a new order (201) from a returned one (200)")
    func checkout() async throws {
        try await signIn()
        let order = Order(
            id: UUID(), userID: Fixtures.user.id, status: .pending, reason: nil, totalCents: 1999, items: [],
            createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0))
        let status = Mutex(201)
        let transport = FakeTransport { _ in (status.withLock { $0 }, Fixtures.json(order)) }
        let first = try await client(transport).createOrder(idempotencyKey: "k-1")
        status.withLock { $0 = 200 }
        let second = try await client(transport).createOrder(idempotencyKey: "k-1")
        #expect(first.created && !second.created)
        #expect(first.order == order)
        #expect(transport.requests.allSatisfy { $0.value(forHTTPHeaderField: "Idempotency-Key") == "k-1" && $0.httpMethod == "POST" })
    }

    @Test("a refused access token is refreshed once, saved, and the call repeated")
    func transparentRefresh() async throws {
        try await signIn()
        let transport = FakeTransport { request in
            switch (request.url!.path, request.bearer) {
            case ("/api/me", "old-access"): (401, Fixtures.error("unauthorized", "token expired"))
            case ("/api/me", "new-access"): (200, Fixtures.json(Fixtures.user))
            case ("/api/refresh", nil):
                request.httpBody.flatMap { try? JSONDecoder().decode(RefreshRequest.self, from: $0) }?.refreshToken == "old-refresh"
                    ? (200, Fixtures.pair("new-access", refresh: "new-refresh")) : (401, Fixtures.error("invalid_refresh_token", "no"))
            default: (500, Data())
            }
        }
        #expect(try await client(transport).me() == Fixtures.user)
        #expect(transport.requests.map(\.url!.path) == ["/api/me", "/api/refresh", "/api/me"])
        #expect(try store.session(for: Fixtures.server) == Fixtures.session("new-access", refresh: "new-refresh"))
    }

    @Test("when another process already refreshed, the new token is used without a second refresh")
    func refreshedElsewhere() async throws {
        try await signIn()
        let store = store
        let key = key
        let transport = FakeTransport { request in
            switch request.bearer {
            case "old-access":
                // Another ecom process rotates the pair while this request is in flight.
                try await store.modify { $0[key] = Fixtures.session("other-access", refresh: "other-refresh") }
                return (401, Fixtures.error("unauthorized", "token expired"))
            case "other-access": return (200, Fixtures.json(Fixtures.user))
            default: return (500, Data())
            }
        }
        #expect(try await client(transport).me() == Fixtures.user)
        #expect(transport.requests.map(\.url!.path) == ["/api/me", "/api/me"])
        #expect(try store.session(for: Fixtures.server)?.refreshToken == "other-refresh")
    }

    @Test("a refresh token the server refuses ends the session: exit 4, credentials forgotten")
    func refreshRefused() async throws {
        try await signIn()
        let transport = FakeTransport { request in
            request.url!.path == "/api/refresh"
                ? (401, Fixtures.error("invalid_refresh_token", "refresh token is no longer valid; sign in again"))
                : (401, Fixtures.error("unauthorized", "token expired"))
        }
        let error = await #expect(throws: ClientError.self) { try await client(transport).cart() }
        #expect(error == .sessionEnded(server: "http://store.test:8080", email: "ann@example.com", cause: .refused))
        #expect(error?.exitStatus == 4)
        #expect(
            error?.localizedDescription
                == "session for http://store.test:8080 ended: the server no longer accepts its refresh token (signed out or revoked elsewhere, password changed, account disabled, or unused for 30 days); sign in again with `ecom login --email ann@example.com`"
        )
        #expect(try store.session(for: Fixtures.server) == nil)
        #expect(transport.requests.map(\.url!.path) == ["/api/cart", "/api/refresh"])
    }

    @Test("a refresh whose answer is lost keeps the refresh token; the server's later refusal says the answer was lost")
    func refreshAnswerLost() async throws {
        try await signIn()
        let refreshes = Counter()
        let transport = FakeTransport { request in
            guard request.url!.path == "/api/refresh" else { return (401, Fixtures.error("unauthorized", "token expired")) }
            // The first refresh reaches the server, which rotates the token, but its answer never
            // arrives; the second presents the old token again, which the server takes for theft.
            if refreshes.next() == 1 { throw URLError(.timedOut) }
            return (401, Fixtures.error("invalid_refresh_token", "refresh token is no longer valid; sign in again"))
        }
        let lost = await #expect(throws: ClientError.self) { try await client(transport).cart() }
        #expect(lost == .unreachable(server: "http://store.test:8080", reason: "timed out"))
        let kept = try #require(try store.session(for: Fixtures.server))
        #expect(kept.refreshToken == "old-refresh")
        #expect(kept.refreshUnansweredAt != nil)

        let ended = await #expect(throws: ClientError.self) { try await client(transport).cart() }
        #expect(ended == .sessionEnded(server: "http://store.test:8080", email: "ann@example.com", cause: .refreshAnswerLost))
        #expect(ended?.exitStatus == 4)
        #expect(
            ended?.localizedDescription
                == "session for http://store.test:8080 ended: the answer to an earlier token refresh was lost (timeout or dropped connection), and the server, seeing that refresh token used again, revoked the session; sign in again with `ecom login --email ann@example.com`"
        )
        #expect(try store.session(for: Fixtures.server) == nil)
        #expect(transport.requests.map(\.url!.path) == ["/api/cart", "/api/refresh", "/api/cart", "/api/refresh"])
    }

    @Test("a refresh abandoned by Ctrl-C is remembered like a lost answer, since the server may have rotated the token")
    func refreshAbandoned() async throws {
        try await signIn()
        let transport = FakeTransport { request in
            guard request.url!.path == "/api/refresh" else { return (401, Fixtures.error("unauthorized", "token expired")) }
            // The refresh is sent and its answer awaited until the caller gives up.
            try await Task.sleep(for: .seconds(600))
            return (500, Data())
        }
        let call = Task { [self] in try await client(transport).cart() }
        while !transport.requests.contains(where: { $0.url!.path == "/api/refresh" }) { try await Task.sleep(for: .milliseconds(10)) }
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
        let kept = try #require(try store.session(for: Fixtures.server))
        #expect(kept.refreshToken == "old-refresh")
        #expect(kept.refreshUnansweredAt != nil)
    }

    @Test("a refresh whose answer is lost before the server saw it succeeds on the next call and forgets the loss")
    func refreshAnswerLostThenRenewed() async throws {
        try await signIn()
        let refreshes = Counter()
        let transport = FakeTransport { request in
            switch (request.url!.path, request.bearer) {
            case ("/api/refresh", _):
                if refreshes.next() == 1 { throw URLError(.networkConnectionLost) }
                return (200, Fixtures.pair("new-access", refresh: "new-refresh"))
            case ("/api/me", "new-access"): return (200, Fixtures.json(Fixtures.user))
            default: return (401, Fixtures.error("unauthorized", "token expired"))
            }
        }
        await #expect(throws: ClientError.self) { try await client(transport).me() }
        #expect(try store.session(for: Fixtures.server)?.refreshUnansweredAt != nil)
        #expect(try await client(transport).me() == Fixtures.user)
        #expect(try store.session(for: Fixtures.server) == Fixtures.session("new-access", refresh: "new-refresh"))
    }

    @Test("a refresh that could not connect at all leaves the session as it was")
    func refreshNotSent() async throws {
        try await signIn()
        let transport = FakeTransport { request in
            if request.url!.path == "/api/refresh" { throw URLError(.cannotConnectToHost) }
            return (401, Fixtures.error("unauthorized", "token expired"))
        }
        let error = await #expect(throws: ClientError.self) { try await client(transport).me() }
        #expect(error?.exitStatus == 69)
        #expect(try store.session(for: Fixtures.server) == Fixtures.session("old-access", refresh: "old-refresh"))
    }

    @Test("while one process's refresh is slow, another waits for it past its own lock timeout, then uses the new token")
    func slowRefreshIsWaitedFor() async throws {
        // Waiters give up after 200 ms of their own; the refresh takes ten times that.
        let store = Fixtures.store(lockTimeout: .milliseconds(200))
        let key = key
        try await store.modify { $0[key] = Fixtures.session("old-access", refresh: "old-refresh") }
        let transport = FakeTransport { request in
            switch (request.url!.path, request.bearer) {
            case ("/api/refresh", _):
                try await Task.sleep(for: .seconds(2))
                return (200, Fixtures.pair("new-access", refresh: "new-refresh"))
            case ("/api/me", "new-access"): return (200, Fixtures.json(Fixtures.user))
            default: return (401, Fixtures.error("unauthorized", "token expired"))
            }
        }
        // Two clients, as two `ecom` processes would have: each takes the lock through its own descriptor.
        let first = GatewayClient(server: Fixtures.server, credentials: store, transport: transport, timeout: .seconds(10))
        let second = GatewayClient(server: Fixtures.server, credentials: store, transport: transport, timeout: .seconds(10))
        try await withThrowingTaskGroup(of: User.self) { group in
            group.addTask { try await first.me() }
            // The second starts once the first holds the lock and its refresh is on the wire.
            for _ in 0..<500 where !transport.requests.contains(where: { $0.url!.path == "/api/refresh" }) {
                try await Task.sleep(for: .milliseconds(10))
            }
            group.addTask { try await second.me() }
            for try await user in group { #expect(user == Fixtures.user) }
        }
        #expect(transport.requests.filter { $0.url!.path == "/api/refresh" }.count == 1)
        #expect(try store.session(for: Fixtures.server) == Fixtures.session("new-access", refresh: "new-refresh"))
    }

    @Test("a signed-in call without a session fails before any request")
    func notSignedIn() async throws {
        let transport = FakeTransport { _ in (200, Data()) }
        let error = await #expect(throws: ClientError.self) { try await client(transport).orders() }
        #expect(error == .notSignedIn(server: "http://store.test:8080"))
        #expect(error?.exitStatus == 4)
        #expect(transport.requests.isEmpty)
    }

    @Test("the API's error body becomes a typed failure")
    func errorBody() async throws {
        try await signIn()
        let transport = FakeTransport { _ in (409, Fixtures.error("insufficient_stock", "only 2 left", field: "quantity")) }
        let error = await #expect(throws: ClientError.self) {
            try await client(transport).addToCart(productID: UUID(), quantity: 3)
        }
        guard case .api(let failure) = error else { Issue.record("not an API failure: \(String(describing: error))"); return }
        #expect(failure.status == 409)
        #expect(failure.code == "insufficient_stock")
        #expect(failure.message == "only 2 left")
        #expect(failure.field == "quantity")
        #expect(failure.requestID == transport.requests.first?.value(forHTTPHeaderField: "X-Request-ID"))
        #expect(error?.localizedDescription == "only 2 left (quantity)")
    }

    @Test("an answer without the error body still fails with its status")
    func bareError() async throws {
        let transport = FakeTransport { _ in (502, Data("<html>bad gateway</html>".utf8)) }
        let error = await #expect(throws: ClientError.self) { try await client(transport).product(UUID()) }
        guard case .api(let failure) = error else { Issue.record("not an API failure"); return }
        #expect(failure.status == 502 && failure.code == "http_502")
        #expect(error?.exitStatus == 1)
    }

    @Test("transport failures say the server cannot be reached (exit 69)")
    func transportFailure() async throws {
        let transport = FakeTransport { _ in throw URLError(.cannotConnectToHost) }
        let error = await #expect(throws: ClientError.self) { try await client(transport).products() }
        #expect(error == .unreachable(server: "http://store.test:8080", reason: "connection refused"))
        #expect(error?.exitStatus == 69)
        #expect(error?.localizedDescription == "cannot reach http://store.test:8080 (connection refused); is ecom serve running?")
    }

    @Test("a closed port is 'connection refused' through the real URLSession")
    func closedPort() async throws {
        let client = GatewayClient(server: URL(string: "http://127.0.0.1:9")!, credentials: store, timeout: .seconds(5))
        let error = await #expect(throws: ClientError.self) { try await client.products() }
        #expect(error == .unreachable(server: "http://127.0.0.1:9", reason: "connection refused"))
    }

    @Test("logout forgets the session and revokes its refresh token")
    func logout() async throws {
        try await signIn()
        let transport = FakeTransport { _ in (204, Data()) }
        #expect(try await client(transport).logout())
        #expect(try store.session(for: Fixtures.server) == nil)
        let request = try #require(transport.requests.first)
        #expect(request.url?.path == "/api/revoke")
        #expect(try JSONDecoder().decode(RefreshRequest.self, from: request.httpBody ?? Data()).refreshToken == "old-refresh")
        #expect(try await client(transport).logout() == false)
    }

    @Test(
        "status codes map to exit statuses",
        arguments: [(400, 1), (401, 4), (403, 4), (404, 1), (409, 1), (422, 1), (429, 1), (500, 1), (503, 1)])
    func exitStatuses(status: Int, exit: Int32) {
        #expect(ClientError.api(APIFailure(status: status, code: "x", message: "m")).exitStatus == exit)
    }
}

@Suite struct TransportCancellationTests {
    @Test("a 404 without the API's error body says the server does not look like an ecom gateway")
    func notAGateway() async throws {
        let transport = FakeTransport { _ in (404, Data("<html>Not Found</html>".utf8)) }
        let client = GatewayClient(server: Fixtures.server, credentials: Fixtures.store(), transport: transport)
        do {
            _ = try await client.products()
            Issue.record("no error")
        } catch {
            #expect(
                error.localizedDescription
                    == "http://store.test:8080 does not look like an ecom gateway (404 without an ecom error body); check --server or ECOM_SERVER")
        }
    }

    @Test("cancelling a request to a server that never answers ends the wait at once")
    func cancelWhileWaiting() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let transport = URLSessionTransport(timeout: .seconds(30))
        let request = URLRequest(url: URL(string: "http://127.0.0.1:\(listener.port)/api/products")!)
        let task = Task { try await transport.send(request) }
        try await Task.sleep(for: .milliseconds(300))
        let cancelled = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - cancelled < .seconds(5))
    }
}

/// A TCP port that takes connections (the kernel's backlog) and never answers.
struct SilentListener {
    let descriptor: Int32
    let port: UInt16

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        port = UInt16(bigEndian: address.sin_port)
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}
