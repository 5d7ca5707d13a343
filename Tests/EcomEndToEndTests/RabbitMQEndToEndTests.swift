import EcomAPI
import EcomTestSupport
import Foundation
import NIOHTTP1
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ecom serve` with events over RabbitMQ: broker faults, and one service per process.
/// One at a time: each test runs a broker node or a whole deployment of its own.
@Suite(
    .serialized,
    .enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason),
    .enabled(if: TestBroker.isAvailable, Comment(rawValue: TestBroker.skipReason)))
struct RabbitMQEndToEndTests {
    @Test("a broker restart under steady checkouts: no 5xx, every order settles within 30 s of the restart, stock exact")
    func brokerRestartUnderTraffic() async throws {
        let broker = try await PrivateBroker.start()
        do {
            try await broker.withVirtualHost { host in
                try await Store.with(environment: ["ECOM_AMQP_URL": host.amqpURL]) { store in
                    try await brokerRestart(store: store, broker: broker)
                }
            }
        } catch {
            await broker.remove()
            throw error
        }
        await broker.remove()
    }

    private func brokerRestart(store: Store, broker: PrivateBroker) async throws {
        // Enough that every order can be confirmed: a rejection here would mean a lost reservation.
        let initialStock = 100_000
        let product = try await store.createProduct(name: "Steady", priceCents: 500, stock: initialStock)
        let traffic = try await SteadyCheckouts.start(store: store, product: product.id)

        try await Task.sleep(for: .seconds(4))
        try await broker.pause()
        try await store.eventually(timeout: .seconds(30), "products report the outage") {
            try await HTTP.send(.GET, store.server.service("products") + "/ready").status == .serviceUnavailable
        }
        let placedDuringOutage = traffic.placed.items.count
        try await Task.sleep(for: .seconds(8))
        #expect(traffic.placed.items.count > placedDuringOutage, "checkouts go on while the broker is down")
        try await broker.resume()
        let restarted = ContinuousClock.now
        try await Task.sleep(for: .seconds(4))
        await traffic.stop()
        try await traffic.expectSettled(within: .seconds(30) - (ContinuousClock.now - restarted), initialStock: initialStock, product: product.id)
        #expect(try await HTTP.send(.GET, store.server.service("products") + "/ready").status == .ok)
    }

    @Test(
        "a three-node cluster with quorum queues: one node stopped and started under steady checkouts, no 5xx, every order settles, stock exact",
        .timeLimit(.minutes(15)))
    func clusterNodeOutage() async throws {
        let cluster = try await PrivateCluster.start(nodes: 3)
        do {
            try await Store.with(environment: ["ECOM_AMQP_URL": cluster.amqpURLs, "ECOM_AMQP_QUEUE_TYPE": "quorum"]) { store in
                let initialStock = 100_000
                let product = try await store.createProduct(name: "Replicated", priceCents: 500, stock: initialStock)
                let traffic = try await SteadyCheckouts.start(store: store, product: product.id)
                try await Task.sleep(for: .seconds(4))
                // The first URL's node: every connection starts there, so all of them move.
                try await cluster.stop(node: 0)
                let placedBefore = traffic.placed.items.count
                try await Task.sleep(for: .seconds(8))
                #expect(traffic.placed.items.count > placedBefore, "checkouts go on with a node down")
                try await cluster.start(node: 0)
                try await Task.sleep(for: .seconds(4))
                await traffic.stop()
                try await traffic.expectSettled(within: .seconds(60), initialStock: initialStock, product: product.id)
                // Publisher and consumers moved to the other nodes when the first stopped.
                let others = cluster.amqpURLs.split(separator: ",").dropFirst().compactMap { URL(string: String($0))?.port }
                let lines = store.server.log.split(separator: "\n")
                for what in ["consuming events from RabbitMQ", "publishing events to RabbitMQ"] {
                    #expect(
                        lines.contains { line in line.contains(what) && others.contains { line.contains("node=amqp://guest@127.0.0.1:\($0)/") } },
                        "\(what): \(lines.filter { $0.contains(what) })")
                }
            }
        } catch {
            await cluster.remove()
            throw error
        }
        await cluster.remove()
    }

    @Test("junk published after a checkout is dead-lettered without any consumer reconnecting, and the next checkout confirms")
    func junkAfterCheckout() async throws {
        try await TestBroker.withVirtualHost { host in
            try await Store.with(environment: ["ECOM_AMQP_URL": host.amqpURL]) { store in
                let product = try await store.createProduct(stock: 10)
                let shopper = try await store.shopper()
                for round in 0..<2 {
                    try await store.add(product.id, quantity: 1, as: shopper)
                    let order: Order = try await store.checkout(as: shopper).decode()
                    try await store.eventually("order confirmed") { try await store.order(order.id, as: shopper).status == .confirmed }
                    if round == 0 {
                        // Alone in its batch: acknowledging up to its tag after dead-lettering it closed the channel.
                        try await host.publish(exchange: "orders", routingKey: EventType.orderCreated, body: "{junk", messageID: "junk")
                        try await store.eventually("junk dead-lettered by products, cart and notifications") {
                            try await host.queue("ecom.dead-letter")?.messages == 3
                        }
                    }
                }
                #expect(try await store.product(product.id).stock == 8)
                let log = store.server.log
                #expect(log.components(separatedBy: "consuming events from RabbitMQ").count - 1 == 4, "one connection per consumer")
                #expect(!log.contains("lost RabbitMQ"))

                // An operator sees the junk with where it came from, and clears it.
                let cli = try CLI(server: store.gateway)
                let broker = ["RABBITMQ_URL": host.amqpURL]
                let listed = try await cli.run(["admin", "dead-letters", "list", "--json"], environment: broker)
                #expect(listed.status == 0, "\(listed.stderr)")
                #expect(Set(listed.array?.compactMap { $0["queue"] as? String } ?? []) == ["ecom.products", "ecom.cart", "ecom.notifications"])
                #expect(listed.array?.allSatisfy { $0["id"] as? String == "junk" && $0["reason"] as? String == "rejected" } == true)
                let missing = try await cli.run(["admin", "dead-letters", "discard", "no-such-id"], environment: broker)
                #expect(missing.status == 1 && missing.stderr.contains("no dead letter with id no-such-id"), "\(missing.stderr)")
                let unnamed = try await cli.run(["admin", "dead-letters", "replay"], environment: broker)
                #expect(unnamed.status == 64 && unnamed.stderr.contains("--all"), "\(unnamed.stderr)")
                let discarded = try await cli.run(["admin", "dead-letters", "discard", "--all"], environment: broker)
                #expect(discarded.status == 0 && discarded.stderr.contains("Discarded 3 dead letters."), "\(discarded.stderr)")
                try await store.eventually("dead-letter queue empty") { try await host.queue("ecom.dead-letter")?.messages == 0 }
                let unreachable = try await cli.run(
                    ["admin", "dead-letters", "list"], environment: ["RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/"])
                #expect(unreachable.status == 69, "\(unreachable.stderr)")
            }
        }
    }

    @Test("one service per process, two product processes on one queue; SIGKILL one mid-run: never oversold, nothing stuck")
    func multiProcess() async throws {
        try await TestBroker.withVirtualHost { host in
            let deployment = try await Deployment.start(amqpURL: host.amqpURL)
            do {
                try await multiProcessInvariant(deployment)
            } catch {
                for process in deployment.processes.values { print(process.log.suffix(4_000)) }
                await deployment.tearDown()
                throw error
            }
            await deployment.tearDown()
        }
    }

    private func multiProcessInvariant(_ deployment: Deployment) async throws {
        let store = Store(server: deployment.gatewayProcess, admin: try await deployment.gatewayProcess.login("root@example.com", "root-password-123"))
        let product = try await store.createProduct(name: "Shared", priceCents: 100, stock: 50)
        var shoppers: [TokenPair] = []
        for batch in stride(from: 0, to: 100, by: 10) {
            shoppers += try await withThrowingTaskGroup(of: TokenPair.self) { group in
                for index in batch..<(batch + 10) {
                    group.addTask {
                        let shopper = try await store.shopper("multi\(index)")
                        try await store.add(product.id, quantity: Int.random(in: 1...3), as: shopper)
                        return shopper
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }

        // Every buyer checks out at once, retrying with the same key while a product process is down.
        let buyers = shoppers
        let results = Task {
            try await withThrowingTaskGroup(of: Order?.self) { group in
            for shopper in buyers {
                group.addTask {
                    let key = UUID().uuidString
                    let deadline = ContinuousClock.now + .seconds(120)
                    while ContinuousClock.now < deadline {
                        let reply = try await store.checkout(as: shopper, key: key)
                        if reply.status == .created || reply.status == .ok { return try reply.decode(Order.self) }
                        try await Task.sleep(for: .milliseconds(300))
                    }
                    return nil
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        await deployment.processes["products"]!.stop(signal: SIGKILL)
        try await Task.sleep(for: .seconds(2))
        try await deployment.restart("products")

        let orders = try await results.value
        #expect(orders.allSatisfy { $0 != nil }, "every buyer got an order")
        try await store.eventually("no order pending") { try await store.allOrders().allSatisfy { $0.status != .pending } }
        let all = try await store.allOrders()
        let stock = try await store.product(product.id).stock
        #expect(all.count == shoppers.count)
        #expect(stock >= 0)
        #expect(stock + Store.reservedUnits(of: product.id, in: all) == 50)
        try await store.expectStockInvariant(of: product.id, initial: 50, orders: all)
        #expect(all.contains { $0.status == .confirmed })
        // Both product processes consumed the queue.
        let consumed = deployment.processes.filter { $0.key.hasPrefix("products") }.map { $0.value.log.contains("consuming events from RabbitMQ") }
        #expect(consumed == [true, true])
    }

    @Test("one service per process, all on one database: each keeps its tables in its own schema; login, product write and checkout work")
    func sharedDatabase() async throws {
        try await TestBroker.withVirtualHost { host in
            let deployment = try await Deployment.start(amqpURL: host.amqpURL, layout: Deployment.sharedDatabaseLayout)
            do {
                let store = Store(
                    server: deployment.gatewayProcess, admin: try await deployment.gatewayProcess.login("root@example.com", "root-password-123"))
                let product = try await store.createProduct(name: "Shared database", priceCents: 250, stock: 5)
                let shopper = try await store.shopper("shared-db")
                #expect(try await store.add(product.id, quantity: 2, as: shopper).status.code < 300)
                let reply = try await store.checkout(as: shopper, key: UUID().uuidString)
                try #require(reply.status == .created, "\(reply.text)")
                let order: Order = try reply.decode()
                try await store.eventually("the order is confirmed") { try await store.order(order.id, as: shopper).status == .confirmed }
                #expect(try await store.product(product.id).stock == 3)

                let tables = try await DatabaseLayout.tables(in: ServerProcess.url(TestEnvironment.databaseURL!, database: "\(deployment.prefix)_shared"))
                #expect(tables["users"]?.isSuperset(of: ["schema_migrations", "users"]) == true, "\(tables)")
                #expect(tables["products"]?.isSuperset(of: ["schema_migrations", "products", "outbox", "inbox"]) == true, "\(tables)")
                #expect(tables["cart"]?.isSuperset(of: ["schema_migrations", "carts", "outbox", "inbox"]) == true, "\(tables)")
                #expect(tables["orders"]?.isSuperset(of: ["schema_migrations", "orders", "outbox", "inbox"]) == true, "\(tables)")
                #expect(tables["public"] == nil, "\(tables)")
            } catch {
                for process in deployment.processes.values { print(process.log.suffix(4_000)) }
                await deployment.tearDown()
                throw error
            }
            await deployment.tearDown()
        }
    }

    @Test("--only without RabbitMQ refuses in one line when a chosen service's event peers run elsewhere")
    func subsetNeedsBroker() async throws {
        for (only, peer) in [("products", "orders"), ("gateway,orders", "cart and products"), ("cart,products", "orders")] {
            let server = try await ServerProcess(
                arguments: ["--only", only], environment: ["ECOM_AMQP_URL": "", "RABBITMQ_URL": ""], services: [], waitForReady: false)
            let status = await server.waitForExit()
            let lines = server.log.split(separator: "\n").filter { $0.hasPrefix("ecom serve:") }
            #expect(status == 1)
            #expect(lines.count == 1)
            #expect(lines.first?.contains("needs RabbitMQ") == true && lines.first?.contains(peer) == true, "\(server.log)")
            await server.tearDown()
        }
        for services in [["users"], [], ["products", "cart", "orders"]] {
            let only = services.isEmpty ? "gateway" : services.joined(separator: ",")
            let server = try await ServerProcess(
                arguments: ["--only", only], environment: ["ECOM_AMQP_URL": "", "RABBITMQ_URL": ""], services: services, waitForReady: false)
            try await Task.sleep(for: .seconds(1))
            #expect(server.process.isRunning, "--only \(only): \(server.log)")
            #expect(!server.log.contains("needs RabbitMQ"), "--only \(only)")
            await server.tearDown()
        }
    }
}

/// What concurrent tasks of a test report, in order.
/// Eight shoppers buying one unit after another until stopped, recording the orders they
/// placed and any answer of 5xx.
final class SteadyCheckouts: Sendable {
    let store: Store
    let failures = Recorder<String>()
    let placed = Recorder<(TokenPair, UUID)>()
    private let stopping = Recorder<Bool>()
    private let running = Mutex<Task<Void, Never>?>(nil)

    private init(store: Store) {
        self.store = store
    }

    static func start(store: Store, product: UUID, shoppers count: Int = 8) async throws -> SteadyCheckouts {
        let shoppers = try await withThrowingTaskGroup(of: TokenPair.self) { group in
            for index in 0..<count { group.addTask { try await store.shopper("steady\(index)-\(UUID().uuidString.prefix(4).lowercased())") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let traffic = SteadyCheckouts(store: store)
        let task = Task { [traffic] in
            await withTaskGroup(of: Void.self) { group in
                for shopper in shoppers {
                    group.addTask { await traffic.shop(product, as: shopper) }
                }
            }
        }
        traffic.running.withLock { $0 = task }
        return traffic
    }

    private func shop(_ product: UUID, as shopper: TokenPair) async {
        while stopping.items.isEmpty {
            do {
                let added = try await store.add(product, quantity: 1, as: shopper)
                if added.status.code >= 500 { failures.append("add: \(added.status) \(added.text)") }
                let reply = try await store.checkout(as: shopper, key: UUID().uuidString)
                if reply.status == .created {
                    let order: Order = try reply.decode()
                    placed.append((shopper, order.id))
                } else if reply.status.code >= 500 {
                    failures.append("checkout: \(reply.status) \(reply.text)")
                }
            } catch {
                failures.append("request failed: \(error)")
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    func stop() async {
        stopping.append(true)
        await running.withLock { $0 }?.value
    }

    /// No 5xx; every order placed leaves `pending` within `bound`, confirmed (the stock is ample),
    /// and the stock plus what the orders reserved is what there was.
    func expectSettled(within bound: Duration, initialStock: Int, product: UUID) async throws {
        #expect(failures.items.isEmpty, "\(failures.items.prefix(5))")
        let orders = placed.items
        #expect(orders.count > 20)
        try await store.eventually(timeout: bound, "every order settled") {
            for (shopper, id) in orders where try await store.order(id, as: shopper).status == .pending { return false }
            return true
        }
        let all = try await store.allOrders()
        let stock = try await store.product(product).stock
        #expect(all.allSatisfy { $0.status == .confirmed }, "\(Dictionary(grouping: all, by: \.status).mapValues(\.count))")
        #expect(stock + Store.reservedUnits(of: product, in: all) == initialStock)
        try await store.expectStockInvariant(of: product, initial: initialStock, orders: all)
    }
}

final class Recorder<Item: Sendable>: Sendable {
    private let list = Mutex<[Item]>([])
    var items: [Item] { list.withLock { $0 } }
    func append(_ item: Item) { list.withLock { $0.append(item) } }
}

/// gateway, users, products ×2, cart and orders, each an `ecom serve --only` process of its own
/// with its own database (or all on one, with `sharedDatabaseLayout`), all on one RabbitMQ virtual host.
final class Deployment: @unchecked Sendable {
    typealias Layout = [(name: String, service: String, database: String?)]

    private(set) var processes: [String: ServerProcess]
    let ports: [String: Int]
    let environment: [String: String]
    let prefix: String
    let layout: Layout

    var gatewayProcess: ServerProcess { processes["gateway"]! }

    private init(ports: [String: Int], environment: [String: String], prefix: String, layout: Layout) {
        self.processes = [:]
        self.ports = ports
        self.environment = environment
        self.prefix = prefix
        self.layout = layout
    }

    static let layout: Layout = [
        ("users", "users", "users"), ("products", "products", "products"), ("products2", "products", "products"),
        ("cart", "cart", "carts"), ("orders", "orders", "orders"), ("gateway", "gateway", nil),
    ]

    /// One process per service, every one of them on the same database.
    static let sharedDatabaseLayout: Layout = [
        ("users", "users", "shared"), ("products", "products", "shared"), ("cart", "cart", "shared"),
        ("orders", "orders", "shared"), ("gateway", "gateway", nil),
    ]

    static func start(amqpURL: String, layout: Layout = layout) async throws -> Deployment {
        let prefix = "ecom_mp_\(UUID().uuidString.prefix(8).lowercased())"
        var ports: [String: Int] = [:]
        for entry in layout { ports[entry.name] = try TestEnvironment.freePort() }
        var environment = ["ECOM_AMQP_URL": amqpURL]
        for service in ["users", "products", "cart", "orders"] {
            environment["ECOM_\(service.uppercased())_URL"] = "http://127.0.0.1:\(ports[service]!)"
        }
        let deployment = Deployment(ports: ports, environment: environment, prefix: prefix, layout: layout)
        for entry in layout { try await deployment.restart(entry.name) }
        return deployment
    }

    /// Starts (again) the process `name` on its port and database, and waits until it is ready.
    func restart(_ name: String) async throws {
        let entry = layout.first { $0.name == name }!
        var environment = environment
        environment["ECOM_\(entry.service.uppercased())_PORT"] = String(ports[name]!)
        if let database = entry.database, let server = TestEnvironment.databaseURL {
            environment["DB_URL"] = ServerProcess.url(server, database: "\(prefix)_\(database)")
        }
        let process = try await ServerProcess(
            arguments: ["--only", entry.service], environment: environment, services: [], waitForReady: false, databasePrefix: prefix,
            gatewayPort: entry.service == "gateway" ? ports[name]! : TestEnvironment.freePort())
        processes[name] = process
        let url = "http://127.0.0.1:\(ports[name]!)" + (entry.service == "gateway" ? "/health" : "/ready")
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if (try? await HTTP.send(.GET, url))?.status == .ok { return }
            guard process.process.isRunning else { throw HarnessError("\(name) exited: \(process.log)") }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw HarnessError("\(name) not ready: \(process.log)")
    }

    func tearDown() async {
        for process in processes.values { await process.stop() }
        await processes["users"]?.tearDown()
    }
}
