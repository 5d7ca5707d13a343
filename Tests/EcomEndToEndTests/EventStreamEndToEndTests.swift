import EcomAPI
import Foundation
import NIOHTTP1
import Testing

/// The live event streams through the gateway: what each caller sees, in what order, and
/// resumption with `Last-Event-ID`, over both transports.
@Suite(.serialized) struct EventStreamEndToEndTests {
    @Test("a checkout shows on the admin stream as order.created, stock.reserved, order.confirmed, and on its buyer's stream only", arguments: Transport.available)
    func checkoutSequence(_ transport: Transport) async throws {
        try await Store.with(transport: transport) { store in
            let product = try await store.createProduct(stock: 5)
            let (alice, bob) = (try await store.shopper(), try await store.shopper())
            let admin = try await EventStreamReader.open(store.gateway, "/admin/events/stream?types=order.*,stock.%23", token: store.admin.token)
            let alices = try await EventStreamReader.open(store.gateway, "/api/events/stream", token: alice.token)
            let bobs = try await EventStreamReader.open(store.gateway, "/api/events/stream", token: bob.token)

            try await store.add(product.id, quantity: 2, as: alice)
            let order: Order = try await store.checkout(as: alice).decode()
            try await store.add(product.id, quantity: 9, as: bob)
            let refused: Order = try await store.checkout(as: bob).decode()

            // Each order's last event from either service: the orders and products services' events
            // reach the log as each arrives, so the order's settling can come before the stock's answer.
            try await admin.wait("both orders settled on the admin stream") { _ in
                let bought = admin.types(of: order.id)
                let rejected = admin.types(of: refused.id)
                return bought.contains(EventType.orderConfirmed) && bought.contains(EventType.stockChanged)
                    && rejected.contains(EventType.orderRejected) && rejected.contains(EventType.stockRejected)
            }
            // Each service's events come in the order it made them; the two services' may interleave
            // either way (the products service's answer and the confirmation it causes are logged
            // as each arrives).
            let bought = admin.types(of: order.id)
            #expect(bought.filter { $0.hasPrefix("order.") } == [EventType.orderCreated, EventType.orderConfirmed])
            #expect(bought.filter { $0.hasPrefix("stock.") } == [EventType.stockReserved, EventType.stockChanged])
            #expect(admin.events.first { $0.type == EventType.stockChanged }?.available == 3)
            let rejected = admin.types(of: refused.id)
            #expect(rejected.filter { $0.hasPrefix("order.") } == [EventType.orderCreated, EventType.orderRejected])
            #expect(rejected.filter { $0.hasPrefix("stock.") } == [EventType.stockRejected])
            try await alices.wait("alice's order confirmed on her stream") { _ in alices.types(of: order.id).contains(EventType.orderConfirmed) }
            try await bobs.wait("bob's order rejected on his stream") { _ in bobs.types(of: refused.id).contains(EventType.orderRejected) }

            let cancelled = try await HTTP.send(.DELETE, store.gateway + "/api/orders/\(order.id.lowercased)", token: alice.token)
            #expect(cancelled.status == .ok)
            try await alices.wait("the cancellation on alice's stream") { _ in alices.types(of: order.id).last == EventType.orderCancelled }
            try await admin.wait("the release's stock.changed") { events in
                events.contains { $0.type == EventType.stockChanged && $0.orderID == order.id.lowercased && $0.available == 5 }
            }

            // A shopper sees the order events of their own orders, and nothing else.
            #expect(alices.types(of: order.id) == [EventType.orderCreated, EventType.orderConfirmed, EventType.orderCancelled])
            #expect(alices.events.allSatisfy { $0.orderID == order.id.lowercased })
            #expect(bobs.types(of: refused.id) == [EventType.orderCreated, EventType.orderRejected])
            #expect(bobs.events.allSatisfy { $0.orderID == refused.id.lowercased })
            // Ids only grow, on every stream.
            for reader in [admin, alices, bobs] {
                #expect(zip(reader.events, reader.events.dropFirst()).allSatisfy { $0.id < $1.id }, "\(reader.events)")
            }
            // The filter: order and stock events, no others.
            #expect(admin.events.allSatisfy { $0.type.hasPrefix("order.") || $0.type.hasPrefix("stock.") })
            for reader in [admin, alices, bobs] { reader.close() }
        }
    }

    @Test("a stream resumed with Last-Event-ID gets every event it missed, once, then the live ones", arguments: Transport.available)
    func resume(_ transport: Transport) async throws {
        try await Store.with(transport: transport) { store in
            let product = try await store.createProduct(stock: 50)
            let shopper = try await store.shopper()
            func buy() async throws -> Order {
                try await store.add(product.id, quantity: 1, as: shopper)
                return try await store.checkout(as: shopper).decode()
            }
            let first = try await EventStreamReader.open(store.gateway, "/admin/events/stream?types=order.*", token: store.admin.token)
            let seen = try await buy()
            try await first.wait("the first order confirmed") { _ in first.types(of: seen.id).contains(EventType.orderConfirmed) }
            first.close()
            let last = try #require(first.events.last)

            var missed: [Order] = []
            for _ in 0..<3 { missed.append(try await buy()) }
            try await store.eventually("the missed orders confirmed") {
                try await store.allOrders().filter { missed.map(\.id).contains($0.id) }.allSatisfy { $0.status == .confirmed }
            }
            let resumed = try await EventStreamReader.open(
                store.gateway, "/admin/events/stream?types=order.*", token: store.admin.token, lastEventID: last.id)
            try await resumed.wait("the missed orders' events") { _ in
                missed.allSatisfy { resumed.types(of: $0.id).contains(EventType.orderConfirmed) }
            }
            let live = try await buy()
            try await resumed.wait("a live order after the missed ones") { _ in resumed.types(of: live.id).contains(EventType.orderConfirmed) }

            #expect(resumed.types(of: seen.id).isEmpty, "nothing the first stream had is repeated")
            for order in missed + [live] {
                #expect(resumed.types(of: order.id) == [EventType.orderCreated, EventType.orderConfirmed])
            }
            let ids = resumed.events.map(\.id)
            #expect(ids.first.map { $0 > last.id } == true && ids == ids.sorted() && Set(ids).count == ids.count)
            resumed.close()
        }
    }

    @Test("after a restart, a stream resumes from the log with nothing lost or repeated, and idle streams get keep-alive lines")
    func resumeAcrossRestart() async throws {
        try await Store.with(environment: ["ECOM_STREAM_HEARTBEAT": "1"]) { store in
            let product = try await store.createProduct(stock: 50)
            let shopper = try await store.shopper()
            let before = try await EventStreamReader.open(store.gateway, "/api/events/stream", token: shopper.token)
            try await store.add(product.id, quantity: 1, as: shopper)
            let first: Order = try await store.checkout(as: shopper).decode()
            try await before.wait("the first order confirmed") { _ in before.types(of: first.id).contains(EventType.orderConfirmed) }
            try await before.wait("a keep-alive line while idle") { _ in before.comments.contains(": keep-alive") }
            let last = try #require(before.events.last)

            try await store.add(product.id, quantity: 1, as: shopper)
            let second: Order = try await store.checkout(as: shopper).decode()
            try await store.eventually("the second order confirmed") { try await store.order(second.id, as: shopper).status == .confirmed }
            #expect(await store.server.stop() == 0)
            try await before.wait("the stream ended by the shutdown") { _ in before.ended }

            let restarted = try await ServerProcess(reusing: store.server, environment: ["ECOM_STREAM_HEARTBEAT": "1"])
            do {
                let after = try await EventStreamReader.open(restarted.gateway, "/api/events/stream", token: shopper.token, lastEventID: last.id)
                try await after.wait("the second order's events from the log") { _ in
                    after.types(of: second.id) == [EventType.orderCreated, EventType.orderConfirmed]
                }
                #expect(after.types(of: first.id).isEmpty)
                after.close()
            } catch {
                await restarted.tearDown()
                throw error
            }
            await restarted.tearDown()
        }
    }

    @Test("an admin's catalog changes are announced: product.created, product.changed, stock.changed, stock.low, product.archived")
    func catalogEvents() async throws {
        try await Store.with(environment: ["ECOM_LOW_STOCK_THRESHOLD": "3"]) { store in
            let admin = try await EventStreamReader.open(
                store.gateway, "/admin/events/stream?types=product.*,stock.changed,stock.low", token: store.admin.token)
            let product = try await store.createProduct(name: "Lamp", stock: 10)
            let path = store.gateway + "/admin/products/\(product.id.lowercased)"
            #expect(try await HTTP.send(.PATCH, path, raw: #"{"price_cents":2500}"#, token: store.admin.token).status == .ok)
            #expect(try await HTTP.send(.POST, path + "/stock", raw: #"{"delta":-6,"reason":"count"}"#, token: store.admin.token).status == .ok)
            #expect(try await HTTP.send(.POST, path + "/stock", raw: #"{"delta":-2,"reason":"breakage"}"#, token: store.admin.token).status == .ok)
            #expect(try await HTTP.send(.DELETE, path, token: store.admin.token).status == .noContent)
            #expect(try await HTTP.send(.DELETE, path, token: store.admin.token).status == .noContent)
            try await admin.wait("the archive announced") { events in events.contains { $0.type == EventType.productArchived } }
            let mine = admin.events.filter { $0.productID == product.id.lowercased }
            #expect(mine.map(\.type) == [
                EventType.productCreated, EventType.productChanged, EventType.stockChanged, EventType.stockChanged, EventType.stockLow,
                EventType.productArchived,
            ])
            // 10 → 4 stays at or above the threshold; 4 → 2 falls below it, once.
            #expect(mine.filter { $0.type == EventType.stockChanged }.map(\.available) == [4, 2])
            #expect(mine.first { $0.type == EventType.stockLow }?.available == 2)

            // A product's own threshold, set on create, then cleared back to the store's with null.
            let created = try await HTTP.send(
                .POST, store.gateway + "/admin/products",
                raw: #"{"name":"Kettle","price_cents":3000,"stock":10,"low_stock_threshold":8}"#, token: store.admin.token)
            let kettle: Product = try created.decode()
            #expect(kettle.lowStockThreshold == 8)
            let kettlePath = store.gateway + "/admin/products/\(kettle.id.lowercased)"
            #expect(try await HTTP.send(.POST, kettlePath + "/stock", raw: #"{"delta":-3,"reason":"count"}"#, token: store.admin.token).status == .ok)
            let negative = try await HTTP.send(.PATCH, kettlePath, raw: #"{"low_stock_threshold":-1}"#, token: store.admin.token)
            #expect(negative.status == .badRequest && negative.errorField == "low_stock_threshold")
            let nullName = try await HTTP.send(.PATCH, kettlePath, raw: #"{"name":null,"low_stock_threshold":null}"#, token: store.admin.token)
            #expect(nullName.status == .badRequest && nullName.errorField == "name")
            #expect(try await store.product(kettle.id).lowStockThreshold == 8)
            let cleared = try await HTTP.send(.PATCH, kettlePath, raw: #"{"low_stock_threshold":null}"#, token: store.admin.token)
            #expect(cleared.status == .ok)
            #expect(try cleared.decode(Product.self).lowStockThreshold == nil)
            #expect(try await HTTP.send(.POST, kettlePath + "/stock", raw: #"{"delta":-5,"reason":"count"}"#, token: store.admin.token).status == .ok)
            try await admin.wait("the kettle's second stock.low") { events in
                events.filter { $0.type == EventType.stockLow && $0.productID == kettle.id.lowercased }.count == 2
            }
            // 10 → 7 falls below its own 8; 7 → 2 falls below the store's 3 once the own one is gone.
            let kettles = admin.events.filter { $0.productID == kettle.id.lowercased }
            #expect(kettles.filter { $0.type == EventType.stockLow }.map { [$0.available, $0.threshold] } == [[7, 8], [2, 3]])
            admin.close()
        }
    }

    @Test("bad stream requests are refused with a stable code, before any stream opens")
    func badRequests() async throws {
        try await Store.with { store in
            let pattern = try await HTTP.send(.GET, store.gateway + "/admin/events/stream?types=Order.Created", token: store.admin.token)
            #expect(pattern.status == .badRequest && pattern.errorCode == ErrorCode.invalidQuery)
            let resume = try await HTTP.send(
                .GET, store.gateway + "/admin/events/stream", token: store.admin.token, headers: [("Last-Event-ID", "yesterday")])
            #expect(resume.status == .badRequest && resume.errorCode == ErrorCode.invalidHeader)
            let order = try await HTTP.send(.GET, store.gateway + "/api/events/stream?order=42", token: store.admin.token)
            #expect(order.status == .badRequest && order.errorCode == ErrorCode.invalidQuery)
        }
    }
}
