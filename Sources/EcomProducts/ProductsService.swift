import EcomAPI
import EcomMessaging
import EcomPostgres
import EcomServerKit
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The products service's routes behind the shared middleware.
package func buildProductsRouter(
    controller: ProductsController, tokens: TokenService, checks: [ReadinessCheck], startup: DatabaseStartup? = nil
) -> Router<EcomRequestContext> {
    let router = Router.service("products", tokens: tokens, checks: checks, startup: startup)
    controller.addRoutes(to: router)
    return router
}

package struct ProductsConfiguration: Sendable {
    package var address: ListenAddress
    package var databaseURL: String
    package var tokens: TokenService
    package var transport: any EventTransport
    /// A catalog to import when the catalog is empty (the embedded default passes its sample catalog).
    package var catalogSeed: CatalogSeed?
    package var events: EventBus.Settings
    package var poolSize: Int
    /// `stock.low` is announced when a product's available units fall below it.
    package var lowStockThreshold: Int

    package init(
        address: ListenAddress, databaseURL: String, tokens: TokenService, transport: any EventTransport,
        catalogSeed: CatalogSeed?, events: EventBus.Settings = .init(), poolSize: Int = 8,
        lowStockThreshold: Int = ProductEvents.defaultLowStockThreshold
    ) {
        self.lowStockThreshold = lowStockThreshold
        self.address = address
        self.databaseURL = databaseURL
        self.tokens = tokens
        self.transport = transport
        self.catalogSeed = catalogSeed
        self.events = events
        self.poolSize = poolSize
    }
}

/// The products service: its HTTP listener, its database start-up (migrations, catalog seed) and
/// its event bus, which consumes `order.created` / `order.cancelled` / `order.shipped` and publishes stock answers.
package func buildProductsService(_ configuration: ProductsConfiguration, logger: Logger) -> ServiceUnit {
    var logger = logger
    logger[metadataKey: "service"] = "products"
    let pool = PostgresPool(url: configuration.databaseURL, size: configuration.poolSize, schema: "products", logger: logger)
    let freshness = CatalogFreshness(cache: ProductCache(), pool: pool, url: configuration.databaseURL, logger: logger)
    let events = ProductEvents(lowStockThreshold: configuration.lowStockThreshold)
    let bus = makeProductsEventBus(
        pool: pool, transport: configuration.transport, settings: configuration.events, logger: logger, events: events,
        catalog: freshness.updates)
    let repository = PostgresProductRepository(pool: pool, events: events, outboxChanged: { bus.outboxChanged() })
    let controller = ProductsController(repository: repository, freshness: freshness)
    let seed = configuration.catalogSeed
    let startup = DatabaseStartup(pool: pool, migrations: productsMigrations, logger: logger) { [logger] in
        if let seed, try await seedCatalog(from: seed, into: repository, logger: logger) { freshness.changed(.everything) }
    }
    let router = buildProductsRouter(
        controller: controller, tokens: configuration.tokens, checks: [startup.readinessCheck, bus.readinessCheck], startup: startup)
    bus.addAdminRoutes(to: router)
    let application = makeApplication(router: router, address: configuration.address, logger: logger)
    return ServiceUnit(
        name: "products", address: configuration.address, services: [startup, application] + bus.services + freshness.services,
        routes: router.serviceRoutes, inProcess: InProcessService(router: router, logger: logger),
        shutdown: { await pool.shutdown() })
}

/// The products service's events: it consumes the orders' events and answers with stock events.
func makeProductsEventBus(
    pool: PostgresPool, transport: any EventTransport, settings: EventBus.Settings = .init(), logger: Logger,
    events: ProductEvents = ProductEvents(), catalog: CatalogUpdates = CatalogUpdates()
) -> EventBus {
    let reservations = StockReservations(logger: logger, catalog: catalog, events: events)
    return EventBus(
        service: "products", pool: pool, transport: transport,
        subscribesTo: Subscriptions.products,
        handler: { delivery, connection in try reservations.handle(delivery, on: connection) },
        prepareBatch: { deliveries, connection in try StockReservations.lockProducts(of: deliveries, on: connection) },
        // Each order's reservation row makes a repeated event change nothing, and an order's events
        // take the same effect in any order (a cancel or a shipment first is recorded, and the late
        // `order.created` reserves nothing), so events are applied in the transaction that receives
        // them, and a batch that fails waits in the inbox.
        applyOnArrival: true, onArrivalFailuresToInbox: true, settings: settings, logger: logger)
}

/// A catalog import (`{"products": [...]}`) for a fresh store: a file, or JSON the binary carries.
package enum CatalogSeed: Sendable, Equatable {
    case file(URL)
    /// `origin` says where the JSON came from, for messages.
    case embedded(json: String, origin: String)

    /// Where the catalog comes from, as the start message and the log say it.
    package var origin: String {
        switch self {
        case .file(let url): url.path
        case .embedded(_, let origin): origin
        }
    }

    func data() throws -> Data {
        switch self {
        case .file(let url): try Data(contentsOf: url)
        case .embedded(let json, _): Data(json.utf8)
        }
    }
}

/// Imports `seed` if the catalog has no product yet: the sample catalog of a fresh store. It
/// goes through the same checks as an admin's import, so a broken fixture stops the start-up loudly.
/// Returns whether it imported.
@discardableResult
func seedCatalog(from seed: CatalogSeed, into repository: any ProductRepository, logger: Logger) async throws -> Bool {
    guard try await repository.isEmpty() else { return false }
    let catalog = try StrictJSONDecoder.decode(CatalogImport.self, from: try seed.data())
    let result = try await repository.importCatalog(try catalog.validatedEntries())
    logger.notice("seeded the catalog", metadata: ["from": "\(seed.origin)", "products": "\(result.created)"])
    return true
}
