import EcomAPI
import EcomPostgres
import EcomTestSupport
import Foundation
import Logging
import NIOHTTP1
import Testing

/// Webhooks against receivers on loopback: signed, in order, retried, disabled, isolated, durable.
@Suite(.serialized) struct WebhookEndToEndTests {
    static let insecure = ["ECOM_WEBHOOK_ALLOW_INSECURE": "1"]

    static func addEndpoint(_ store: Store, url: String, types: [String]) async throws -> WebhookEndpoint {
        let reply = try await HTTP.send(.POST, store.gateway + "/admin/webhooks", json: WebhookCreate(url: url, types: types), token: store.admin.token)
        try #require(reply.status == .created, "\(String(decoding: reply.body, as: UTF8.self))")
        return try reply.decode()
    }

    static func buy(_ store: Store, _ product: UUID, as shopper: TokenPair) async throws -> Order {
        try await store.add(product, quantity: 1, as: shopper)
        return try await store.checkout(as: shopper).decode()
    }

    @Test("a receiver gets each event once, in order, signed with its endpoint's secret", arguments: Transport.available)
    func signedInOrder(_ transport: Transport) async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        try await Store.with(transport: transport, environment: Self.insecure) { store in
            let endpoint = try await Self.addEndpoint(store, url: receiver.url, types: ["order.*"])
            let secret = try #require(endpoint.secret)
            #expect(try await HTTP.send(.GET, store.gateway + "/admin/webhooks/\(endpoint.id.lowercased)", token: store.admin.token)
                .decode(WebhookEndpoint.self).secret == nil, "the secret is shown once")
            let product = try await store.createProduct(stock: 10)
            let shopper = try await store.shopper()
            var orders: [Order] = []
            for _ in 0..<3 { orders.append(try await Self.buy(store, product.id, as: shopper)) }
            try await store.eventually(timeout: .seconds(60), "six deliveries") { receiver.all.count >= 6 }

            let got = receiver.all
            let expected = orders.flatMap { order in [(order.id, EventType.orderCreated), (order.id, EventType.orderConfirmed)] }
            let bodies = try got.map { try JSONDecoder.ecom.decode(Event<OrderConfirmed>.self, from: Data($0.body.utf8)) }
            // Per order, created comes before confirmed; nothing else and nothing twice.
            #expect(Set(bodies.map(\.id)).count == got.count)
            #expect(bodies.map(\.type).sorted() == expected.map(\.1).sorted())
            for order in orders {
                #expect(bodies.filter { $0.data.orderID == order.id }.map(\.type) == [EventType.orderCreated, EventType.orderConfirmed])
            }
            for (delivery, body) in zip(got, bodies) {
                #expect(WebhookReceiver.verifies(delivery.signature, body: delivery.body, secret: secret), "\(delivery.signature ?? "-")")
                #expect(!WebhookReceiver.verifies(delivery.signature, body: delivery.body + " ", secret: secret))
                #expect(delivery.eventID == body.id.lowercased && delivery.type == body.type)
            }
            // A batch's outcomes are written once its last delivery has been answered.
            let deliveries = store.gateway + "/admin/webhooks/\(endpoint.id.lowercased)/deliveries"
            try await store.eventually("the delivery log written") {
                let log: Page<WebhookDelivery> = try await HTTP.send(.GET, deliveries, token: store.admin.token).decode()
                return log.items.count == 6 && log.items.allSatisfy { $0.state == "delivered" }
            }
            let log: Page<WebhookDelivery> = try await HTTP.send(.GET, deliveries, token: store.admin.token).decode()
            #expect(log.items.count == 6 && log.items.allSatisfy { $0.state == "delivered" && $0.lastStatus == 200 && $0.attempts == 1 })
        }
    }

    @Test("an endpoint gets only the types it asked for past hundreds of others; one enabled again gets what was logged meanwhile, in order")
    func narrowEndpointPastOtherEvents() async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        try await Store.with(environment: Self.insecure) { store in
            _ = try await Self.addEndpoint(store, url: receiver.url + "/confirmed", types: [EventType.orderConfirmed])
            let paused = try await Self.addEndpoint(store, url: receiver.url + "/paused", types: ["order.*"])
            let pausedPath = store.gateway + "/admin/webhooks/\(paused.id.lowercased)"
            #expect(try await HTTP.send(.PATCH, pausedPath, raw: #"{"enabled":false}"#, token: store.admin.token).status == .ok)
            let product = try await store.createProduct(stock: 10)
            let shopper = try await store.shopper()
            let first = try await Self.buy(store, product.id, as: shopper)
            // More events than the dispatcher reads from the log at once, none of them wanted.
            let products = (0..<250).map { index in
                ProductCreate(sku: "BULK-\(index)", name: "Bulk \(index)", description: nil, priceCents: 100, stock: 1, isActive: true)
            }
            _ = try await store.importCatalog(products)
            try await store.eventually("the first order confirmed") { try await store.order(first.id, as: shopper).status == .confirmed }
            #expect(try await HTTP.send(.PATCH, pausedPath, raw: #"{"enabled":true}"#, token: store.admin.token).status == .ok)
            let second = try await Self.buy(store, product.id, as: shopper)
            try await store.eventually(timeout: .seconds(60), "both confirmations to both") {
                receiver.all.filter { $0.type == EventType.orderConfirmed }.count >= 4
            }
            try await Task.sleep(for: .milliseconds(500))

            let toConfirmed = receiver.all.filter { $0.path.hasSuffix("/confirmed") }
            let bodies = try toConfirmed.map { try JSONDecoder.ecom.decode(Event<OrderConfirmed>.self, from: Data($0.body.utf8)) }
            #expect(bodies.map(\.type) == [EventType.orderConfirmed, EventType.orderConfirmed])
            #expect(bodies.map(\.data.orderID) == [first.id, second.id])
            let toPaused = try receiver.all.filter { $0.path.hasSuffix("/paused") }.map {
                try JSONDecoder.ecom.decode(Event<OrderConfirmed>.self, from: Data($0.body.utf8))
            }
            #expect(toPaused.map(\.type) == [
                EventType.orderCreated, EventType.orderConfirmed, EventType.orderCreated, EventType.orderConfirmed,
            ])
            #expect(toPaused.map(\.data.orderID) == [first.id, first.id, second.id, second.id])
        }
    }

    @Test("an endpoint disabled while a batch is on its way, then enabled again, gets none of that batch twice")
    func disabledMidBatch() async throws {
        let receiver = WebhookReceiver(.slow(.milliseconds(700)))
        try await receiver.start()
        defer { receiver.stop() }
        try await Store.with(environment: Self.insecure) { store in
            let endpoint = try await Self.addEndpoint(store, url: receiver.url, types: ["order.*"])
            let path = store.gateway + "/admin/webhooks/\(endpoint.id.lowercased)"
            #expect(try await HTTP.send(.PATCH, path, raw: #"{"enabled":false}"#, token: store.admin.token).status == .ok)
            let product = try await store.createProduct(stock: 10)
            let shopper = try await store.shopper()
            let orders = [try await Self.buy(store, product.id, as: shopper), try await Self.buy(store, product.id, as: shopper)]
            // All four events logged before the endpoint is enabled, so that they go out as one batch.
            let logged = try await EventStreamReader.open(store.gateway, "/admin/events/stream?types=order.*&after=0", token: store.admin.token)
            try await logged.wait("both orders created and confirmed in the log") { events in
                orders.allSatisfy { order in
                    Set(events.filter { $0.orderID == order.id.lowercased }.map(\.type)) == [EventType.orderCreated, EventType.orderConfirmed]
                }
            }
            logged.close()
            // Enabled, its four events go out as one batch; it is disabled once the first has arrived.
            #expect(try await HTTP.send(.PATCH, path, raw: #"{"enabled":true}"#, token: store.admin.token).status == .ok)
            try await store.eventually("the first delivery arrived") { !receiver.all.isEmpty }
            #expect(try await HTTP.send(.PATCH, path, raw: #"{"enabled":false}"#, token: store.admin.token).status == .ok)
            try await store.eventually(timeout: .seconds(15), "the batch written down") {
                try await HTTP.send(.GET, path + "/deliveries", token: store.admin.token).decode(Page<WebhookDelivery>.self).items.count == 4
            }
            #expect(try await HTTP.send(.PATCH, path, raw: #"{"enabled":true}"#, token: store.admin.token).status == .ok)
            let third = try await Self.buy(store, product.id, as: shopper)
            try await store.eventually(timeout: .seconds(30), "the third order's events delivered") {
                receiver.all.filter { $0.body.contains(third.id.lowercased) }.count == 2
            }
            let ids = receiver.all.compactMap(\.eventID)
            #expect(ids.count == 6 && Set(ids).count == 6, "each event once: \(ids)")
        }
    }

    @Test("a failing receiver is retried with growing waits, then its endpoint is disabled and webhook.disabled announced")
    func failingIsDisabled() async throws {
        let receiver = WebhookReceiver(.answer(500))
        try await receiver.start()
        defer { receiver.stop() }
        let environment = Self.insecure.merging(["ECOM_WEBHOOK_FIRST_RETRY_MS": "300", "ECOM_WEBHOOK_DISABLE_AFTER": "3"]) { $1 }
        try await Store.with(environment: environment) { store in
            let endpoint = try await Self.addEndpoint(store, url: receiver.url, types: [])
            let stream = try await EventStreamReader.open(store.gateway, "/admin/events/stream?types=webhook.*", token: store.admin.token)
            let test = try await HTTP.send(.POST, store.gateway + "/admin/webhooks/\(endpoint.id.lowercased)/test", token: store.admin.token)
            #expect(test.status == .accepted)
            let path = store.gateway + "/admin/webhooks/\(endpoint.id.lowercased)"
            try await store.eventually(timeout: .seconds(30), "the endpoint disabled") {
                try await HTTP.send(.GET, path, token: store.admin.token).decode(WebhookEndpoint.self).enabled == false
            }
            let attempts = receiver.all.filter { $0.type == "webhook.test" }
            #expect(attempts.count == 3)
            if attempts.count == 3 {
                let gaps = zip(attempts, attempts.dropFirst()).map { $1.at - $0.at }
                #expect(gaps[0] >= .milliseconds(300) && gaps[1] >= .milliseconds(600), "\(gaps)")
            }
            let disabled: WebhookEndpoint = try await HTTP.send(.GET, path, token: store.admin.token).decode()
            #expect(disabled.failures == 3 && disabled.disabledReason?.contains("3 failed attempts") == true)
            let log: Page<WebhookDelivery> = try await HTTP.send(.GET, path + "/deliveries", token: store.admin.token).decode()
            #expect(log.items.first?.attempts == 3 && log.items.first?.lastStatus == 500 && log.items.first?.state == "pending")
            try await stream.wait("webhook.disabled on the stream") { events in events.contains { $0.type == "webhook.disabled" } }
            stream.close()

            // Enabled again, it delivers what waited once the receiver answers.
            receiver.behave(.answer(204))
            #expect(try await HTTP.send(.PATCH, path, raw: #"{"enabled":true}"#, token: store.admin.token).status == .ok)
            try await store.eventually(timeout: .seconds(30), "the waiting delivery delivered") {
                try await HTTP.send(.GET, path + "/deliveries", token: store.admin.token).decode(Page<WebhookDelivery>.self)
                    .items.first?.state == "delivered"
            }
        }
    }

    @Test("a receiver that hangs holds back only itself: another endpoint gets the same events at once")
    func hangingIsolated() async throws {
        let hanging = WebhookReceiver(.hang)
        let healthy = WebhookReceiver()
        try await hanging.start()
        try await healthy.start()
        defer {
            hanging.stop()
            healthy.stop()
        }
        try await Store.with(environment: Self.insecure.merging(["ECOM_WEBHOOK_TIMEOUT": "20"]) { $1 }) { store in
            _ = try await Self.addEndpoint(store, url: hanging.url, types: ["order.*"])
            _ = try await Self.addEndpoint(store, url: healthy.url, types: ["order.*"])
            let product = try await store.createProduct(stock: 10)
            let shopper = try await store.shopper()
            let start = ContinuousClock.now
            let order = try await Self.buy(store, product.id, as: shopper)
            try await store.eventually(timeout: .seconds(15), "the healthy receiver has both events") { healthy.all.count == 2 }
            #expect(ContinuousClock.now - start < .seconds(15))
            #expect(hanging.all.count == 1, "the hanging receiver got its first delivery and holds it")
            #expect(try await store.order(order.id, as: shopper).status == .confirmed)
        }
    }

    @Test("a delivery's row is written once its first attempt has ended: none while the receiver holds it, then one pending its retry")
    func rowAfterFirstAttempt() async throws {
        let hanging = WebhookReceiver(.hang)
        try await hanging.start()
        defer { hanging.stop() }
        let environment = Self.insecure.merging(["ECOM_WEBHOOK_TIMEOUT": "3", "ECOM_WEBHOOK_FIRST_RETRY_MS": "600000"]) { $1 }
        try await Store.with(environment: environment) { store in
            let endpoint = try await Self.addEndpoint(store, url: hanging.url, types: ["order.created"])
            let product = try await store.createProduct(stock: 10)
            let shopper = try await store.shopper()
            let order = try await Self.buy(store, product.id, as: shopper)
            try await store.eventually("the receiver holds the first delivery") { hanging.all.count == 1 }
            let path = store.gateway + "/admin/webhooks/\(endpoint.id.lowercased)/deliveries"
            let during: Page<WebhookDelivery> = try await HTTP.send(.GET, path, token: store.admin.token).decode()
            #expect(during.items.isEmpty, "no row while the attempt is in flight: \(during.items.map(\.state))")
            try await store.eventually(timeout: .seconds(15), "the timed-out attempt written") {
                try await HTTP.send(.GET, path, token: store.admin.token).decode(Page<WebhookDelivery>.self).items.count == 1
            }
            let after: Page<WebhookDelivery> = try await HTTP.send(.GET, path, token: store.admin.token).decode()
            let delivery = try #require(after.items.first)
            #expect(delivery.state == "pending" && delivery.attempts == 1 && delivery.lastError == "timed out", "\(delivery)")
            #expect(delivery.type == EventType.orderCreated && hanging.all.first?.eventID == delivery.eventID.lowercased)
            #expect(try await store.order(order.id, as: shopper).status == .confirmed)
        }
    }

    @Test("an endpoint whose delivery waits for its retry gets no delivery rows behind it; once it answers, it gets the rest in order")
    func backlogStaysInTheLog() async throws {
        let failing = WebhookReceiver(.answer(503))
        let healthy = WebhookReceiver()
        try await failing.start()
        try await healthy.start()
        defer {
            failing.stop()
            healthy.stop()
        }
        let environment = Self.insecure.merging(["ECOM_WEBHOOK_FIRST_RETRY_MS": "300", "ECOM_WEBHOOK_DISABLE_AFTER": "1000"]) { $1 }
        try await Store.with(environment: environment) { store in
            let endpoint = try await Self.addEndpoint(store, url: failing.url, types: ["order.*"])
            _ = try await Self.addEndpoint(store, url: healthy.url, types: ["order.*"])
            let product = try await store.createProduct(stock: 20)
            let shopper = try await store.shopper()
            _ = try await Self.buy(store, product.id, as: shopper)
            try await store.eventually("the first delivery refused") { !failing.all.isEmpty }
            let path = store.gateway + "/admin/webhooks/\(endpoint.id.lowercased)/deliveries"
            // The refused delivery's row is written once its answer has come back.
            try await store.eventually("the refused delivery written down") {
                !(try await HTTP.send(.GET, path, token: store.admin.token).decode(Page<WebhookDelivery>.self).items.isEmpty)
            }
            let queued = try await HTTP.send(.GET, path, token: store.admin.token).decode(Page<WebhookDelivery>.self).items.count
            #expect(queued == 1)
            for _ in 0..<5 { _ = try await Self.buy(store, product.id, as: shopper) }
            // The healthy endpoint, served by the same dispatcher, has every event: the failing one's
            // dispatcher has looked at the log past them meanwhile.
            try await store.eventually(timeout: .seconds(30), "the healthy receiver has every event") { healthy.all.count == 12 }
            try await Task.sleep(for: .seconds(1))
            let waiting = try await HTTP.send(.GET, path, token: store.admin.token).decode(Page<WebhookDelivery>.self).items
            #expect(waiting.count == queued, "rows are written as deliveries go, not as events are logged: \(waiting.map(\.state))")

            failing.behave(.answer(204))
            try await store.eventually(timeout: .seconds(30), "the failing receiver has every event") {
                Set(failing.all.compactMap(\.eventID)).count == 12
            }
            var firsts: [String] = []
            for delivery in failing.all { if let id = delivery.eventID, !firsts.contains(id) { firsts.append(id) } }
            #expect(firsts == healthy.all.compactMap(\.eventID), "in the log's order")
        }
    }

    @Test("deliveries waiting when ecom serve stops are delivered after it restarts")
    func survivesRestart() async throws {
        let receiver = WebhookReceiver(.answer(503))
        try await receiver.start()
        defer { receiver.stop() }
        let environment = Self.insecure.merging(["ECOM_WEBHOOK_FIRST_RETRY_MS": "200", "ECOM_WEBHOOK_DISABLE_AFTER": "1000"]) { $1 }
        try await Store.with(environment: environment) { store in
            _ = try await Self.addEndpoint(store, url: receiver.url, types: ["order.*"])
            let product = try await store.createProduct(stock: 10)
            let shopper = try await store.shopper()
            let orders = [try await Self.buy(store, product.id, as: shopper), try await Self.buy(store, product.id, as: shopper)]
            try await store.eventually("the first delivery refused") { !receiver.all.isEmpty }
            #expect(await store.server.stop() == 0)
            receiver.behave(.answer(200))
            let restarted = try await ServerProcess(reusing: store.server, environment: environment)
            do {
                try await store.eventually(timeout: .seconds(60), "every event delivered") {
                    let delivered = Set(receiver.all.suffix(from: 1).compactMap(\.eventID))
                    return delivered.count >= 4
                }
                let types = try receiver.all.map { try JSONDecoder.ecom.decode(Event<OrderConfirmed>.self, from: Data($0.body.utf8)) }
                for order in orders {
                    #expect(Set(types.filter { $0.data.orderID == order.id }.map(\.type)) == [EventType.orderCreated, EventType.orderConfirmed])
                }
            } catch {
                await restarted.tearDown()
                throw error
            }
            await restarted.tearDown()
        }
    }

    @Test("an endpoint another notifications process made, while this one had none, gets the events logged after it")
    func endpointMadeElsewhere() async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        try await Store.with(environment: Self.insecure) { store in
            let product = try await store.createProduct(stock: 10)
            let shopper = try await store.shopper()
            // Events logged with no endpoint; the dispatcher's scans (each second) find none, so it stops
            // looking after each logged batch.
            _ = try await Self.buy(store, product.id, as: shopper)
            try await Task.sleep(for: .seconds(2))
            // The endpoint is written as another process of the service writes it: not through this one's API.
            let url = ServerProcess.url(try #require(TestEnvironment.databaseURL), database: store.server.databasePrefix + "_notifications")
            let pool = PostgresPool(url: url, size: 1, schema: "notifications", logger: Logger(label: "test"))
            let written = await Result {
                try await pool.execute(
                    """
                    INSERT INTO webhook_endpoints (id, url, types, type_regex, secret, cursor)
                    VALUES (\(UUID()), \(receiver.url), ARRAY['order.confirmed']::text[], \(#"^(\.order\.confirmed)$"#),
                        \(WebhookSignature.newSecret()), (SELECT COALESCE(max(seq), 0) FROM event_log))
                    """)
            }
            await pool.shutdown()
            _ = try written.get()
            let order = try await Self.buy(store, product.id, as: shopper)
            try await store.eventually(timeout: .seconds(30), "the order's confirmation delivered") { !receiver.all.isEmpty }
            let delivered = try receiver.all.map { try JSONDecoder.ecom.decode(Event<OrderConfirmed>.self, from: Data($0.body.utf8)) }
            #expect(delivered.map(\.type) == [EventType.orderConfirmed] && delivered.first?.data.orderID == order.id, "\(delivered)")
        }
    }

    @Test("endpoints must be https unless the server allows plain http; patterns are checked")
    func refusals() async throws {
        try await Store.with { store in
            let plain = try await HTTP.send(
                .POST, store.gateway + "/admin/webhooks", json: WebhookCreate(url: "http://127.0.0.1:9/hook", types: nil), token: store.admin.token)
            #expect(plain.status == .badRequest && plain.errorCode == ErrorCode.invalidField)
            let pattern = try await HTTP.send(
                .POST, store.gateway + "/admin/webhooks", json: WebhookCreate(url: "https://example.com/hook", types: ["Order.*"]),
                token: store.admin.token)
            #expect(pattern.status == .badRequest && pattern.errorCode == ErrorCode.invalidField)
            for inside in ["https://127.0.0.1:9/hook", "https://[::1]/hook", "https://10.1.2.3/hook", "https://LocalHost./hook"] {
                let refused = try await HTTP.send(
                    .POST, store.gateway + "/admin/webhooks", json: WebhookCreate(url: inside, types: nil), token: store.admin.token)
                #expect(refused.status == .badRequest && refused.errorField == "url", "\(inside)")
            }
            // 127.0.0.1 written as one number: only resolving it tells, so it is accepted, but
            // every delivery is refused before any connection.
            let endpoint = try await Self.addEndpoint(store, url: "https://2130706433:9/hook", types: [])
            let path = store.gateway + "/admin/webhooks/\(endpoint.id.lowercased)"
            let null = try await HTTP.send(.PATCH, path, raw: #"{"enabled":null}"#, token: store.admin.token)
            #expect(null.status == .badRequest && null.errorCode == ErrorCode.invalidField, "a null changes nothing, and says so")
            #expect(try await HTTP.send(.POST, path + "/test", token: store.admin.token).status == .accepted)
            try await store.eventually(timeout: .seconds(30), "the delivery refused") {
                try await HTTP.send(.GET, path + "/deliveries", token: store.admin.token).decode(Page<WebhookDelivery>.self)
                    .items.first?.lastError?.contains("a loopback, private or link-local address") == true
            }
        }
    }
}
