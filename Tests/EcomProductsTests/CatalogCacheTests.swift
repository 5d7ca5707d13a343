import EcomAPI
import EcomMessaging
import EcomPostgres
import EcomServerKit
import EcomTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOFoundationCompat
import ServiceLifecycle
import Synchronization
import Testing

@testable import EcomProducts

/// One products process of a test: its own pool, cache, listener and router, on a database it shares.
struct ProductsProcess: ProductsRequesting {
    let pool: PostgresPool
    let freshness: CatalogFreshness
    let client: any TestClientProtocol
    let adminToken: String
    let serviceToken: String

    var cache: ProductCache { freshness.cache }

    /// Runs `body` with two products processes on one fresh, migrated database, each listening for
    /// the other's changes.
    static func withTwo(_ body: @escaping @Sendable (_ database: String, ProductsProcess, ProductsProcess) async throws -> Void) async throws {
        try await ThrowawayDatabase.withDatabase(prefix: "ecom_products_cache") { url in
            try await ThrowawayDatabase.withPool(url: url, size: 4) { first in
                try await migrate(first, migrations: productsMigrations, logger: Logger(label: "test"))
                try await ThrowawayDatabase.withPool(url: url, size: 4) { second in
                    let tokens = await TokenService(key: try SigningKey(String(repeating: "products-cache-key-", count: 3)))
                    try await run(pool: first, url: url, tokens: tokens) { a in
                        try await run(pool: second, url: url, tokens: tokens) { b in try await body(url, a, b) }
                    }
                }
            }
        }
    }

    static func run(
        pool: PostgresPool, url: String, tokens: TokenService, _ body: @escaping @Sendable (ProductsProcess) async throws -> Void
    ) async throws {
        let freshness = CatalogFreshness(cache: ProductCache(), pool: pool, url: url, logger: Logger(label: "test"))
        let controller = ProductsController(repository: PostgresProductRepository(pool: pool), freshness: freshness)
        let app = Application(router: buildProductsRouter(controller: controller, tokens: tokens, checks: []))
        let adminToken = try await tokens.issueAccessToken(userID: UUID(), role: .admin, sessionID: nil)
        let serviceToken = try await tokens.issueServiceToken(service: "cart")
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for service in freshness.services { tasks.addTask { try await service.run() } }
            #expect(try await eventually { freshness.cache.isServing }, "the listener never listened")
            try await app.test(.router) { client in
                try await body(
                    ProductsProcess(pool: pool, freshness: freshness, client: client, adminToken: adminToken, serviceToken: serviceToken))
            }
            tasks.cancelAll()
        }
    }

    /// The product as each of the three cached reads shows it: by id, in the first page, and looked up.
    func views(of id: UUID) async throws -> [Product?] {
        let response = try await send(.get, "/api/products/\(id.lowercased)")
        let single = response.status == .ok ? try JSONDecoder.ecom.decode(Product.self, from: Data(buffer: response.body)) : nil
        let page: Page<Product> = try await call(.get, "/api/products?limit=100")
        let found: [Product] = try await call(
            .post, InternalPath.productLookup, token: serviceToken, json: #"{"ids":["\#(id.lowercased)"]}"#)
        return [single, page.items.first { $0.id == id }, found.first]
    }
}

/// Polls `condition` for up to 30 seconds.
private func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return false
}

/// The freshness rule of the products service's cache, with two processes on one database: a change
/// is seen at once by the process that made it, and soon by the other.
@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason))
struct CatalogFreshnessTests {
    /// Creates a product through `a`, fills both caches with it, applies `change` through `a` and
    /// expects `a` to show `expected` at once in every read and `b` to show it within the bound.
    static func expectSeen(
        create: ProductCreate = entry("FRESH-1", "Kettle", stock: 10),
        change: @escaping @Sendable (_ product: Product, _ a: ProductsProcess) async throws -> Void,
        expected: @escaping @Sendable (Product) -> Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        try await ProductsProcess.withTwo { _, a, b in
            let body = String(decoding: try JSONEncoder.ecom.encode(create), as: UTF8.self)
            var product: Product = try await a.call(.post, "/admin/products", token: a.adminToken, json: body)
            (product.onHand, product.held, product.archived) = (nil, nil, nil)
            for process in [a, b] {
                _ = try await process.views(of: product.id)
                // Read twice: the second answer comes from the cache.
                #expect(try await process.views(of: product.id).allSatisfy { $0 == product }, sourceLocation: sourceLocation)
                #expect(process.cache.count.products >= 1 && process.cache.count.pages >= 1, sourceLocation: sourceLocation)
            }
            try await change(product, a)
            let id = product.id
            #expect(try await a.views(of: id).allSatisfy { $0.map(expected) == true }, sourceLocation: sourceLocation)
            let started = ContinuousClock.now
            #expect(
                try await eventually { try await b.views(of: id).allSatisfy { $0.map(expected) == true } },
                sourceLocation: sourceLocation)
            Logger(label: "test").info("another process saw the change", metadata: ["after": "\(ContinuousClock.now - started)"])
        }
    }

    @Test("a PATCH is seen at once by its process and soon by another")
    func patch() async throws {
        try await Self.expectSeen(
            change: { product, a in
                try await a.send(.patch, "/admin/products/\(product.id.lowercased)", token: a.adminToken, json: #"{"name":"Kettle Pro","price_cents":2500}"#)
            },
            expected: { $0.name == "Kettle Pro" && $0.priceCents == 2500 })
    }

    @Test("a price-only PATCH is seen at once by its process and soon by another")
    func pricePatch() async throws {
        try await Self.expectSeen(
            change: { product, a in
                try await a.send(.patch, "/admin/products/\(product.id.lowercased)", token: a.adminToken, json: #"{"price_cents":777}"#)
            },
            expected: { $0.priceCents == 777 })
    }

    @Test("a stock adjustment is seen at once by its process and soon by another")
    func stockAdjustment() async throws {
        try await Self.expectSeen(
            change: { product, a in
                try await a.send(
                    .post, "/admin/products/\(product.id.lowercased)/stock", token: a.adminToken, json: #"{"delta":-3,"reason":"count"}"#)
            },
            expected: { $0.stock == 7 })
    }

    @Test("an import is seen at once by its process and soon by another")
    func catalogImport() async throws {
        try await Self.expectSeen(
            change: { _, a in
                let body = String(
                    decoding: try JSONEncoder.ecom.encode(CatalogImport(products: [entry("FRESH-1", "Kettle (imported)", stock: 4)])),
                    as: UTF8.self)
                try await a.send(.post, "/admin/products/import", token: a.adminToken, json: body)
            },
            expected: { $0.name == "Kettle (imported)" && $0.stock == 4 })
    }

    @Test("a burst of concurrent changes reaches the other process, in fewer round trips than changes when they pile up")
    func burst() async throws {
        try await ProductsProcess.withTwo { _, a, b in
            let product: Product = try await a.call(
                .post, "/admin/products", token: a.adminToken, json: #"{"name":"Mug","price_cents":500,"stock":1000}"#)
            _ = try await b.views(of: product.id)
            let before = a.freshness.batchesSent
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        try await a.send(
                            .post, "/admin/products/\(product.id.lowercased)/stock", token: a.adminToken, json: #"{"delta":-1,"reason":"burst"}"#
                        ).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // On a busy machine some adjustments may be refused as busy (503, nothing changed); each one
            // applied must show.
            #expect(statuses.allSatisfy { $0 == .ok || $0 == .serviceUnavailable }, "\(Set(statuses.map(\.code)))")
            let stock = 1000 - statuses.filter { $0 == .ok }.count
            #expect(stock < 1000)
            #expect(try await a.views(of: product.id).allSatisfy { $0?.stock == stock })
            #expect(try await eventually { try await b.views(of: product.id).allSatisfy { $0?.stock == stock } })
            Logger(label: "test").info("burst sent", metadata: ["changes": "200", "round trips": "\(a.freshness.batchesSent - before)"])
        }
    }

    @Test("archiving takes the product out of both processes' catalog")
    func archive() async throws {
        try await ProductsProcess.withTwo { _, a, b in
            let product: Product = try await a.call(
                .post, "/admin/products", token: a.adminToken, json: #"{"name":"Vase","price_cents":900,"stock":2}"#)
            for process in [a, b] { _ = try await process.views(of: product.id) }
            try await a.send(.delete, "/admin/products/\(product.id.lowercased)", token: a.adminToken)
            let gone: @Sendable ([Product?]) -> Bool = { $0[0] == nil && $0[1] == nil && $0[2]?.isActive == false }
            #expect(gone(try await a.views(of: product.id)))
            #expect(try await eventually { gone(try await b.views(of: product.id)) })
        }
    }

    @Test("a reservation is seen at once by the process whose event handler made it, from its cache, and soon by another")
    func reservation() async throws {
        try await ProductsProcess.withTwo { _, a, b in
            let product: Product = try await a.call(
                .post, "/admin/products", token: a.adminToken, json: #"{"name":"Lamp","price_cents":1200,"stock":5}"#)
            for process in [a, b] {
                _ = try await process.views(of: product.id)
                #expect(try await process.views(of: product.id).allSatisfy { $0?.stock == 5 })
            }
            // The handler's changes reach the test once they reached `a`'s cache, after the commit.
            let (told, tell) = AsyncStream.makeStream(of: CatalogChange.self)
            let transport = LocalTransport()
            var settings = EventBus.Settings()
            settings.pollInterval = .milliseconds(50)
            var updates = a.freshness.updates
            updates.changed = { change in
                a.freshness.changed(change)
                tell.yield(change)
            }
            updates.refilled = { records, ticket in
                a.freshness.changed(records, ticket: ticket)
                tell.yield(.products(Set(records.map(\.id))))
            }
            let bus = makeProductsEventBus(
                pool: a.pool, transport: transport, settings: settings, logger: Logger(label: "test"), catalog: updates)
            let group = ServiceGroup(configuration: .init(services: bus.services.map { .init(service: $0) }, logger: Logger(label: "test")))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let order = Event(type: EventType.orderCreated, requestID: "req-cache", data: StockReservationTests.order([(product.id, 2)]))
                try await EventHandlingTests.publish(order, through: transport)
                var iterator = told.makeAsyncIterator()
                #expect(await iterator.next() == .products([product.id]))
                // `a` keeps the product as the reservation left it: the bytes a query would give.
                let kept = try #require(a.cache.product(product.id, for: .product))
                let queried = try #require(try await PostgresProductRepository(pool: a.pool).find(id: product.id))
                #expect(kept.json == (try ProductsController.encoded(queried, with: .ecom)).json)
                #expect(try JSONDecoder.ecom.decode(Product.self, from: Data(buffer: kept.json)).stock == 3)
                #expect(try await a.views(of: product.id).allSatisfy { $0?.stock == 3 })
                #expect(try await eventually { try await b.views(of: product.id).allSatisfy { $0?.stock == 3 } })

                let cancel = Event(type: EventType.orderCancelled, requestID: "req-cache", data: OrderCancelled(orderID: order.data.orderID, reason: "customer"))
                try await EventHandlingTests.publish(cancel, through: transport)
                #expect(await iterator.next() == .products([product.id]))
                #expect(try await a.views(of: product.id).allSatisfy { $0?.stock == 5 })
                #expect(try await eventually { try await b.views(of: product.id).allSatisfy { $0?.stock == 5 } })
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }

    @Test("while its listener is disconnected a process reads from the database, and it starts afresh once it listens again")
    func bypassedWhileDisconnected() async throws {
        try await ProductsProcess.withTwo { _, a, b in
            let product: Product = try await a.call(
                .post, "/admin/products", token: a.adminToken, json: #"{"name":"Chair","price_cents":3000,"stock":8}"#)
            // A write no process is told about: a serving cache keeps showing what it had, which is what
            // makes the checks below mean something. The cache serves only once its listener is
            // connected, which can come after the process answers requests.
            #expect(try await eventually { b.cache.isServing })
            // Again until it holds: `a`'s notice of the product's creation may reach `b` after the
            // first read, and rightly empty what it had cached.
            #expect(
                try await eventually {
                    try await a.pool.execute("UPDATE products SET price_cents = 3000 WHERE id = \(product.id)")
                    _ = try await b.views(of: product.id)
                    try await a.pool.execute("UPDATE products SET price_cents = 3100 WHERE id = \(product.id)")
                    return try await b.views(of: product.id).allSatisfy { $0?.priceCents == 3000 }
                })

            // No new connection can reach the database, so the listener cannot come back.
            let name: String = try await a.pool.query("SELECT current_database() AS name")[0].decode("name")
            // From another database: PostgreSQL refuses it for the database a session is connected to.
            try await Self.allowConnections(false, to: name)
            let pid = try #require(b.freshness.listener.backendPID)
            try await a.pool.execute("SELECT pg_terminate_backend(\(pid))")
            #expect(try await eventually { !b.cache.isServing })
            #expect(b.cache.count.products == 0 && b.cache.count.pages == 0)
            try await a.pool.execute("UPDATE products SET price_cents = 3200 WHERE id = \(product.id)")
            #expect(try await b.views(of: product.id).allSatisfy { $0?.priceCents == 3200 })
            #expect(b.cache.count.products == 0 && b.cache.count.pages == 0)

            try await Self.allowConnections(true, to: name)
            #expect(try await eventually { b.cache.isServing })
            #expect(try await b.views(of: product.id).allSatisfy { $0?.priceCents == 3200 })
            // And it hears `a` again.
            try await a.send(.patch, "/admin/products/\(product.id.lowercased)", token: a.adminToken, json: #"{"price_cents":3300}"#)
            #expect(try await eventually { try await b.views(of: product.id).allSatisfy { $0?.priceCents == 3300 } })
        }
    }

    private static func allowConnections(_ allowed: Bool, to database: String) async throws {
        try await ThrowawayDatabase.withPool(url: try #require(ThrowawayDatabase.serverURL), size: 1) { server in
            let name = "\"" + database.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            try await server.execute("ALTER DATABASE \(unescaped: name) ALLOW_CONNECTIONS \(unescaped: allowed ? "true" : "false")")
        }
    }

    @Test("a cached answer is the answer the database gives, byte for byte, headers included")
    func cachedAnswersAreUnchanged() async throws {
        try await ProductsProcess.withTwo { _, a, _ in
            let body = String(
                decoding: try JSONEncoder.ecom.encode(
                    CatalogImport(products: (1...25).map { entry("BYTE-\($0)", "Ünïcode \"quoted\" / \($0)", description: "line\nbreak ✓") })),
                as: UTF8.self)
            try await a.send(.post, "/admin/products/import", token: a.adminToken, json: body)
            let page: Page<Product> = try await a.call(.get, "/api/products?limit=10")
            let ids = page.items.map(\.id.lowercased)
            let requests: [(HTTPRequest.Method, String, String?, String?)] = [
                (.get, "/api/products", nil, nil),
                (.get, "/api/products?limit=10&cursor=\(page.nextCursor!)", nil, nil),
                (.get, "/api/products?q=quoted&limit=3", nil, nil),
                (.get, "/api/products/\(ids[0])", nil, nil),
                (.post, InternalPath.productLookup, a.serviceToken, #"{"ids":["\#(ids[3])","\#(ids[1])","\#(ids[1])","\#(UUID().lowercased)"]}"#),
            ]
            for (method, path, token, json) in requests {
                a.cache.stopServing()
                let uncached = try await a.send(method, path, token: token, json: json)
                a.cache.startServing()
                let miss = try await a.send(method, path, token: token, json: json)
                let hit = try await a.send(method, path, token: token, json: json)
                for response in [miss, hit] {
                    #expect(response.status == uncached.status)
                    #expect(response.headers[.contentType] == uncached.headers[.contentType])
                    #expect(response.headers[.contentLength] == uncached.headers[.contentLength])
                    #expect(response.headers.count == uncached.headers.count)
                    #expect(response.body == uncached.body, "\(path)")
                }
            }
        }
    }
}

/// The cache on its own: what it stores, when it refuses to, and how much it holds.
@Suite struct ProductCacheTests {
    static func encoded(_ name: String, id: UUID = UUID()) throws -> (id: UUID, product: ProductCache.EncodedProduct) {
        let product = Product(
            id: id, sku: "S-\(name)", name: name, description: "", priceCents: 100, stock: 1, isActive: true,
            createdAt: Date(timeIntervalSince1970: 1_700_000_000), updatedAt: Date(timeIntervalSince1970: 1_700_000_000))
        return (id, ProductCache.EncodedProduct(json: try EncodedJSON.product(product, with: .ecom), isOnSale: true))
    }

    static func key(_ limit: Int) -> ProductCache.PageKey {
        ProductCache.PageKey(limit: limit, search: nil, idLower: nil, idUpper: nil, sku: nil, afterName: nil, afterID: nil)
    }

    @Test("a read that began before an invalidation stores nothing, one that began after it does")
    func raceGuard() throws {
        let cache = ProductCache()
        cache.startServing()
        let product = try Self.encoded("Old")
        let before = try #require(cache.ticket())
        cache.invalidate(.products([product.id]))
        cache.store([product], page: (Self.key(20), try EncodedJSON.pageTail(nextCursor: nil, with: .ecom)), ticket: before)
        #expect(cache.product(product.id, for: .product) == nil)
        #expect(cache.page(Self.key(20)) == nil)

        let after = try #require(cache.ticket())
        cache.store([product], ticket: after)
        #expect(cache.product(product.id, for: .product)?.json == product.product.json)

        // Changes to other products keep out nothing; a change to the pages keeps out pages only.
        let other = try Self.encoded("Other")
        let third = try Self.encoded("Third")
        let ticket = try #require(cache.ticket())
        for _ in 0..<10 { cache.invalidate(.products([UUID()])) }
        cache.invalidate(.listings([third.id]))
        cache.store([other, third], page: (Self.key(5), try EncodedJSON.pageTail(nextCursor: nil, with: .ecom)), ticket: ticket)
        #expect(cache.product(other.id, for: .product) != nil)
        #expect(cache.product(third.id, for: .product) == nil)
        #expect(cache.count.pages == 0)

        // A read older than the invalidations remembered stores nothing.
        let old = try #require(cache.ticket())
        for _ in 0...300 { cache.invalidate(.products([UUID()])) }
        let late = try Self.encoded("Late")
        cache.store([late], ticket: old)
        #expect(cache.product(late.id, for: .product) == nil)
        cache.invalidate(.everything)
        let beforeAll = old
        cache.store([late], ticket: beforeAll)
        #expect(cache.product(late.id, for: .product) == nil)
    }

    @Test("a refill keeps a changed product only if no other change of it was invalidated since its ticket")
    func refillGuard() throws {
        let cache = ProductCache()
        cache.startServing()
        let stale = try Self.encoded("Stale")
        let fresh = try Self.encoded("Fresh", id: stale.id)

        // Another change of the product, invalidated after the ticket: dropped, not stored.
        let early = try #require(cache.ticket())
        cache.store([stale], ticket: early)
        cache.invalidate(.products([stale.id]))
        cache.refill([fresh], ticket: early)
        #expect(cache.product(stale.id, for: .product) == nil)

        // None since: stored, and a read in flight since before it cannot put back what it found.
        let reading = try #require(cache.ticket())
        let ticket = try #require(cache.ticket())
        cache.refill([fresh], ticket: ticket)
        #expect(cache.product(fresh.id, for: .product)?.json == fresh.product.json)
        cache.store([stale], ticket: reading)
        #expect(cache.product(fresh.id, for: .product)?.json == fresh.product.json)

        // Two changes of one transaction, with tickets from before either: the later refill sees the
        // earlier one's drop, so whatever order they come in, neither may be the one kept.
        let first = try #require(cache.ticket())
        let second = try #require(cache.ticket())
        cache.refill([stale], ticket: first)
        cache.refill([fresh], ticket: second)
        #expect(cache.product(fresh.id, for: .product) == nil)

        // A change of other products keeps nothing out; no ticket, or everything dropped since, stores nothing.
        let other = try Self.encoded("Other")
        let beforeOthers = try #require(cache.ticket())
        cache.invalidate(.products([UUID()]))
        cache.refill([other], ticket: beforeOthers)
        #expect(cache.product(other.id, for: .product) != nil)
        cache.refill([other], ticket: nil)
        #expect(cache.product(other.id, for: .product) == nil)
        let beforeAll = try #require(cache.ticket())
        cache.invalidate(.everything)
        cache.refill([other], ticket: beforeAll)
        #expect(cache.product(other.id, for: .product) == nil)
    }

    @Test("nothing is read or stored while the cache does not serve, and it serves again empty")
    func notServing() throws {
        let cache = ProductCache()
        #expect(cache.ticket() == nil)
        cache.startServing()
        let product = try Self.encoded("Kept")
        let ticket = try #require(cache.ticket())
        cache.stopServing()
        cache.store([product], ticket: ticket)
        #expect(cache.product(product.id, for: .product) == nil)
        cache.startServing()
        #expect(cache.count.products == 0 && cache.count.pages == 0)
    }

    @Test("a stock change drops the product but keeps the pages; a listing change drops every page")
    func invalidation() throws {
        let cache = ProductCache()
        cache.startServing()
        let (first, second) = (try Self.encoded("A"), try Self.encoded("B"))
        let tail = try EncodedJSON.pageTail(nextCursor: nil, with: .ecom)
        cache.store([first, second], page: (Self.key(20), tail), ticket: try #require(cache.ticket()))
        #expect(cache.page(Self.key(20)) != nil)
        cache.invalidate(.products([first.id]))
        #expect(cache.count.products == 1 && cache.count.pages == 1)
        #expect(cache.page(Self.key(20)) == nil)
        cache.store([first, second], page: (Self.key(20), tail), ticket: try #require(cache.ticket()))
        cache.invalidate(.listings([UUID()]))
        #expect(cache.count.products == 2 && cache.count.pages == 0)
    }

    @Test("the cache never holds more entries or bytes than its limits")
    func bounded() throws {
        var limits = ProductCache.Limits()
        limits.maximumProducts = 50
        limits.maximumPages = 5
        let cache = ProductCache(limits: limits)
        cache.startServing()
        let tail = try EncodedJSON.pageTail(nextCursor: "abc", with: .ecom)
        var newest: [(id: UUID, product: ProductCache.EncodedProduct)] = []
        for round in 0..<40 {
            newest = try (0..<3).map { try Self.encoded("P\(round)-\($0)") }
            cache.store(newest, page: (Self.key(round + 1), tail), ticket: try #require(cache.ticket()))
            #expect(cache.count.products <= 50 && cache.count.pages <= 5)
        }
        #expect(cache.count.products == 50 && cache.count.pages == 5)
        // The oldest go first: the newest page and its products are still there.
        #expect(cache.page(Self.key(40)) != nil)

        limits.maximumBytes = 4_000
        let small = ProductCache(limits: limits)
        small.startServing()
        for round in 0..<100 {
            small.store([try Self.encoded("Q\(round)")], ticket: try #require(small.ticket()))
            #expect(small.cost <= 4_000)
        }
        #expect(small.count.products > 0)
    }

    @Test("a page or a lookup joined from each product's encoding is the encoding of the whole")
    func joinedEncoding() throws {
        let products = (0..<5).map { index in
            Product(
                id: UUID(), sku: "J-\(index)", name: "Ñame \"\(index)\" / ✓", description: "two\nlines\t<b>", priceCents: Int64(index * 100),
                stock: index, isActive: index % 2 == 0, createdAt: Date(timeIntervalSince1970: 1_700_000_000.5),
                updatedAt: Date())
        }
        let encoder = JSONEncoder.ecom
        let fragments = try products.map { try EncodedJSON.product($0, with: encoder) }
        for cursor in [nil, "eyJhIjoxfQ", Cursor.encode(["Ñame \"1\"", UUID().lowercased])] {
            let joined = EncodedJSON.page(fragments, tail: try EncodedJSON.pageTail(nextCursor: cursor, with: encoder))
            #expect(try Data(buffer: joined) == encoder.encode(Page(items: products, nextCursor: cursor)))
            let empty = EncodedJSON.page([], tail: try EncodedJSON.pageTail(nextCursor: cursor, with: encoder))
            #expect(try Data(buffer: empty) == encoder.encode(Page<Product>(items: [], nextCursor: cursor)))
        }
        #expect(try Data(buffer: EncodedJSON.array(fragments)) == encoder.encode(products))
        #expect(try Data(buffer: EncodedJSON.array([])) == encoder.encode([Product]()))
    }

    @Test("uuids are ordered as PostgreSQL orders them")
    func uuidOrder() {
        let ids = (0..<200).map { _ in UUID() }
        #expect(ids.sorted(by: ProductsController.precedesInPostgres) == ids.sorted { $0.lowercased < $1.lowercased })
    }

    @Test("notification payloads carry the change, in pieces PostgreSQL accepts")
    func payloads() async throws {
        let ids = Set((0..<450).map { _ in UUID() })
        let pool = PostgresPool(url: "postgresql://unused", size: 1, schema: "products", logger: Logger(label: "test"))
        let freshness = CatalogFreshness(cache: ProductCache(), pool: pool, url: "postgresql://unused", logger: Logger(label: "test"))
        for change in [CatalogChange.products(ids), .listings(ids), .everything, .products([])] {
            let payloads = freshness.payloads(for: change)
            #expect(payloads.allSatisfy { $0.utf8.count < 8000 })
            var merged: CatalogChange?
            for payload in payloads {
                let decoded = try #require(CatalogFreshness.decode(payload))
                merged = merged.map { $0.merged(with: decoded.change) } ?? decoded.change
            }
            #expect(merged == change)
        }
        #expect(freshness.payloads(for: .products(Set((0..<3000).map { _ in UUID() }))).count == 1)
        #expect(CatalogFreshness.decode("garbage") == nil)
        await pool.shutdown()
    }
}
