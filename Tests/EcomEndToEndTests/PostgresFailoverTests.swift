import EcomAPI
import EcomTestSupport
import Foundation
import NIOHTTP1
import Testing

/// `ecom serve` on a PostgreSQL primary with a synchronous standby, reached through one
/// multi-host URL, while the primary goes away and the standby is promoted.
@Suite(.serialized, .enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct PostgresFailoverTests {
    @Test(
        "the primary stopped under steady checkouts and the standby promoted: services reconnect through the multi-host URL, every acknowledged order is kept and settles, none is made twice",
        .timeLimit(.minutes(10)))
    func failover() async throws {
        let pair = try await PostgresPair.start()
        do {
            let database = "ecom_failover_\(UUID().uuidString.prefix(6).lowercased())"
            try await Store.with(environment: ["DB_URL": pair.url(database: database)]) { store in
                try await failover(store: store, pair: pair)
            }
        } catch {
            await pair.remove()
            throw error
        }
        await pair.remove()
    }

    private func failover(store: Store, pair: PostgresPair) async throws {
        let initialStock = 100_000
        let product = try await store.createProduct(name: "Replicated", priceCents: 700, stock: initialStock)
        let buyers = try await PatientBuyers.start(store: store, product: product.id)
        try await Task.sleep(for: .seconds(4))

        try await pair.stopPrimary()
        // Readiness says the database is gone while no server accepts writes.
        try await store.eventually(timeout: .seconds(30), "orders report the database unreachable") {
            try await HTTP.send(.GET, store.server.service("orders") + "/ready").status == .serviceUnavailable
        }
        try await pair.promoteStandby()
        let promoted = ContinuousClock.now
        try await store.eventually(timeout: .seconds(30), "orders ready again on the promoted standby") {
            try await HTTP.send(.GET, store.server.service("orders") + "/ready").status == .ok
        }
        let acknowledgedAtPromotion = buyers.acknowledged.items.count
        try await Task.sleep(for: .seconds(5))
        await buyers.stop()
        #expect(buyers.acknowledged.items.count > acknowledgedAtPromotion + 10, "checkouts go on after the promotion")
        #expect(buyers.gaveUp.items.isEmpty, "\(buyers.gaveUp.items.prefix(5))")

        // Every acknowledged order is there and confirmed; no order exists that no answer named.
        let acknowledged = buyers.acknowledged.items
        let settling = max(.seconds(30), .seconds(60) - (ContinuousClock.now - promoted))
        try await store.eventually(timeout: settling, "every order settled") {
            for (shopper, id) in acknowledged where try await store.order(id, as: shopper).status == .pending { return false }
            return true
        }
        let all = try await store.allOrders()
        #expect(Set(all.map(\.id)) == Set(acknowledged.map(\.1)), "orders made: \(all.count), acknowledged: \(Set(acknowledged.map(\.1)).count)")
        #expect(all.allSatisfy { $0.status == .confirmed }, "\(Dictionary(grouping: all, by: \.status).mapValues(\.count))")
        try await store.expectStockInvariant(of: product.id, initial: initialStock, orders: all)
        let log = store.server.log
        #expect(log.contains("Retrying a transaction whose connection was lost") || log.contains("Replacing a PostgreSQL connection"))
        print("failover: \(acknowledged.count) orders acknowledged, \(buyers.retries.items.count) answers retried: \(Set(buyers.retries.items))")
    }
}

/// Eight shoppers buying one unit after another until stopped, as a careful client does: a
/// checkout that gets 5xx, 409 `idempotency_in_progress` or no answer is sent again with the same
/// `Idempotency-Key` until it gets an answer that settles it, for as long as a key may stay in
/// progress (two minutes, when any request takes it over) and a little more.
final class PatientBuyers: Sendable {
    let store: Store
    /// Each order a checkout was answered with (201, or 200 when replayed).
    let acknowledged = Recorder<(TokenPair, UUID)>()
    /// Answers that made a request be sent again.
    let retries = Recorder<String>()
    /// Requests given up after a minute of retries, or answered with another refusal.
    let gaveUp = Recorder<String>()
    private let stopping = Recorder<Bool>()
    private let running = Recorder<Task<Void, Never>>()

    private init(store: Store) { self.store = store }

    static func start(store: Store, product: UUID, shoppers count: Int = 8) async throws -> PatientBuyers {
        var shoppers: [TokenPair] = []
        for index in 0..<count { shoppers.append(try await store.shopper("patient\(index)-\(UUID().uuidString.prefix(4).lowercased())")) }
        let buyers = PatientBuyers(store: store)
        for shopper in shoppers {
            buyers.running.append(Task { await buyers.shop(product, as: shopper) })
        }
        return buyers
    }

    private func shop(_ product: UUID, as shopper: TokenPair) async {
        while stopping.items.isEmpty {
            let added = await settle("add") { try await self.store.add(product, quantity: 1, as: shopper) }
            guard added != nil else { return }
            let key = UUID().uuidString
            let answer = await settle("checkout") { try await self.store.checkout(as: shopper, key: key) }
            guard let reply = answer else { return }
            guard reply.status == .created || reply.status == .ok, let order = try? reply.decode(Order.self) else {
                gaveUp.append("checkout: \(reply.status) \(reply.text)")
                return
            }
            acknowledged.append((shopper, order.id))
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Sends `request` until its answer is neither 5xx nor `idempotency_in_progress`; nil if two
    /// minutes and a half were not enough.
    private func settle(_ what: String, _ request: () async throws -> HTTP.Reply) async -> HTTP.Reply? {
        let deadline = ContinuousClock.now + .seconds(150)
        while ContinuousClock.now < deadline {
            do {
                let reply = try await request()
                guard reply.status.code >= 500 || reply.errorCode == "idempotency_in_progress" else { return reply }
                retries.append("\(what): \(reply.status) \(reply.errorCode ?? "")")
            } catch {
                retries.append("\(what): \(error)")
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        gaveUp.append("\(what): no settled answer within two minutes and a half")
        return nil
    }

    func stop() async {
        stopping.append(true)
        for task in running.items { await task.value }
    }
}
