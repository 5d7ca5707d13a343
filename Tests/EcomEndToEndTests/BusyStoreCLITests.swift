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

    @Test("order create reports the order confirmed as its events say when the store stays too busy to read it back")
    func confirmedByItsEvents() async throws {
        try await Self.signedIn(busyReads: .max, streamed: .confirmed) { gateway, cli in
            let created = try await cli.run(["order", "create", "--wait-timeout", "20"])
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stderr.contains("Order \(gateway.orderID.lowercased.prefix(8)) confirmed: $25.00."), "\(created.stderr)")
            // Once the events have said it, the busy reads are not asked for the whole 15 s.
            #expect((1...6).contains(gateway.reads.load(ordering: .relaxed)), "\(gateway.reads.load(ordering: .relaxed)) reads")
            #expect(gateway.orders.load(ordering: .relaxed) == 1)

            let json = try await cli.run(["order", "create", "--wait-timeout", "20", "--json"])
            #expect(json.status == 0, "\(json.stderr)")
            let order = try JSONDecoder.ecom.decode(Order.self, from: Data(json.stdout.utf8))
            #expect(order.id == gateway.orderID)
            #expect(order.status == .confirmed)
            #expect(order.totalCents == 2500)
        }
    }

    @Test("order create reports the order rejected, with the reason and lines its events give, when the store stays too busy to read it back")
    func rejectedByItsEvents() async throws {
        try await Self.signedIn(busyReads: .max, streamed: .rejected) { gateway, cli in
            let created = try await cli.run(["order", "create", "--wait-timeout", "20"])
            #expect(created.status == 1, "\(created.stderr)")
            #expect(created.stderr.contains("was rejected: insufficient_stock; could not reserve Kettle (1 wanted, 0 available)"), "\(created.stderr)")
        }
    }

    /// Runs `body` with a `BusyGateway` and a CLI signed in to it.
    private static func signedIn(
        busyReads: Int, streamed: OrderStatus? = nil, _ body: (BusyGateway, CLI) async throws -> Void
    ) async throws {
        let gateway = BusyGateway(busyReads: busyReads, streamed: streamed)
        try await gateway.start()
        defer { gateway.stop() }
        let cli = try CLI(server: gateway.url)
        try await cli.login("buyer@example.com", password: "password123")
        try await body(gateway, cli)
    }
}

/// A gateway on loopback that signs anyone in, takes one pending order, and answers the order's
/// reads 503 `service_busy` the first `busyReads` times, then confirmed; its event stream answers
/// busy too, or with `streamed`, the order created then confirmed or rejected.
final class BusyGateway: Sendable {
    let orderID = UUID()
    let userID = UUID()
    let productID = UUID()
    let busyReads: Int
    let streamed: OrderStatus?
    /// Reads of the order answered so far, busy or not.
    let reads = Atomic(0)
    /// Orders placed.
    let orders = Atomic(0)
    private let server = LoopbackServer()

    init(busyReads: Int, streamed: OrderStatus? = nil) {
        self.busyReads = busyReads
        self.streamed = streamed
    }

    var url: String { server.url }

    private func order(_ status: OrderStatus) -> Order {
        Order(
            id: orderID, userID: userID, status: status, reason: nil, totalCents: 2500,
            items: [OrderLine(productID: productID, name: "Kettle", unitPriceCents: 2500, quantity: 1, lineTotalCents: 2500)],
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
        router.get("/api/events/stream") { [self] _, _ in try stream() }
        try await server.start(router)
    }

    func stop() {
        server.stop()
    }

    /// The order's events as a finished stream, or busy when there are none to stream.
    private func stream() throws -> Response {
        guard let streamed else { return Self.busy }
        let ordered = [OrderedQuantity(productID: productID, quantity: 1)]
        var events = [
            try Self.sse(1, Event(type: EventType.orderCreated, requestID: nil,
                data: OrderCreated(orderID: orderID, userID: userID, cartVersion: 1, lines: ordered)))
        ]
        if streamed == .rejected {
            let line = RejectedLine(productID: productID, name: "Kettle", requested: 1, available: 0)
            events.append(try Self.sse(2, Event(type: EventType.orderRejected, requestID: nil,
                data: OrderRejected(orderID: orderID, userID: userID, reason: "insufficient_stock", lines: [line], ordered: ordered))))
        } else {
            events.append(try Self.sse(2, Event(type: EventType.orderConfirmed, requestID: nil, data: OrderConfirmed(orderID: orderID))))
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream"], body: .init(byteBuffer: ByteBuffer(string: events.joined())))
    }

    private static func sse(_ id: Int, _ event: Event<some Codable & Sendable>) throws -> String {
        "id: \(id)\nevent: \(event.type)\ndata: \(String(decoding: try JSONEncoder.ecom.encode(event), as: UTF8.self))\n\n"
    }
}
