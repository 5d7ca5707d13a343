import EcomAPI
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization
import Testing

/// `ecom order create` against a store that takes the order, then answers its reads busy for a
/// while: the order stands, so a busy answer is asked again, not reported as a failed checkout.
@Suite struct BusyStoreCLITests {
    @Test("order create waits through busy answers to its reads of a placed order and reports it confirmed")
    func waitsThroughBusyReads() async throws {
        try await Self.signedIn(busyReads: 3) { gateway, cli in
            let created = try await cli.run(["order", "create", "--wait-timeout", "20"])
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stderr.contains("confirmed"), "\(created.stderr)")
            #expect(gateway.reads.load(ordering: .relaxed) > 3)
            #expect(gateway.orders.load(ordering: .relaxed) == 1)
        }
    }

    @Test("order create against a store that stays busy says the order is placed and how to follow it, and exits 75")
    func staysBusy() async throws {
        try await Self.signedIn(busyReads: .max) { gateway, cli in
            // The shortest wait: its busy answers are asked again all the same.
            let created = try await cli.run(["order", "create", "--wait-timeout", "1"])
            #expect(created.status == 75, "\(created.stderr)")
            #expect(gateway.reads.load(ordering: .relaxed) >= 3)
            #expect(created.stderr.contains("is placed, but the store stayed too busy"), "\(created.stderr)")
            #expect(created.stderr.contains("ecom order show \(gateway.orderID.lowercased)"), "\(created.stderr)")
            #expect(gateway.orders.load(ordering: .relaxed) == 1)
        }
    }

    /// Runs `body` with a `BusyGateway` and a CLI signed in to it.
    private static func signedIn(busyReads: Int, _ body: (BusyGateway, CLI) async throws -> Void) async throws {
        let gateway = BusyGateway(busyReads: busyReads)
        try await gateway.start()
        defer { gateway.stop() }
        let cli = try CLI(server: gateway.url)
        try await cli.login("buyer@example.com", password: "password123")
        try await body(gateway, cli)
    }
}

/// A gateway on loopback that signs anyone in, takes one pending order, and answers the order's
/// reads (and its event stream) 503 `service_busy` the first `busyReads` times, then confirmed.
final class BusyGateway: Sendable {
    let orderID = UUID()
    let userID = UUID()
    let busyReads: Int
    /// Reads of the order answered so far, busy or not.
    let reads = Atomic(0)
    /// Orders placed.
    let orders = Atomic(0)
    private let server = LoopbackServer()

    init(busyReads: Int) {
        self.busyReads = busyReads
    }

    var url: String { server.url }

    private func order(_ status: OrderStatus) -> Order {
        Order(
            id: orderID, userID: userID, status: status, reason: nil, totalCents: 2500,
            items: [OrderLine(productID: UUID(), name: "Kettle", unitPriceCents: 2500, quantity: 1, lineTotalCents: 2500)],
            createdAt: Date(), updatedAt: Date())
    }

    private static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder.ecom.encode(value))))
    }

    private static var busy: Response {
        let body = #"{"error":{"code":"service_busy","message":"the service is busy, try again shortly"}}"#
        return Response(
            status: .serviceUnavailable, headers: [.contentType: "application/json", .retryAfter: "1"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func start() async throws {
        let router = Router()
        router.post("/api/login") { [self] _, _ in
            let user = User(id: userID, email: "buyer@example.com", role: .user, disabled: false, createdAt: Date())
            return try Self.json(TokenPair(token: "access", refreshToken: "refresh", expiresIn: 900, user: user))
        }
        router.post("/api/orders") { [self] _, _ in
            orders.add(1, ordering: .relaxed)
            return try Self.json(order(.pending), status: .created)
        }
        router.get("/api/orders/:id") { [self] _, _ in
            let read = reads.add(1, ordering: .relaxed).newValue
            return read <= busyReads ? Self.busy : try Self.json(order(.confirmed))
        }
        router.get("/api/events/stream") { _, _ in Self.busy }
        try await server.start(router)
    }

    func stop() {
        server.stop()
    }
}
