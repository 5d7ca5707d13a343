import AsyncHTTPClient
import EcomAPI
import EcomMessaging
import EcomPostgres
import EcomServerKit
import Hummingbird
import Logging

/// The cart service's routes behind the shared middleware.
package func buildCartRouter(
    controller: CartController, tokens: TokenService, checks: [ReadinessCheck], startup: DatabaseStartup? = nil
) -> Router<EcomRequestContext> {
    let router = Router.service("cart", tokens: tokens, checks: checks, startup: startup)
    controller.addRoutes(to: router)
    return router
}

package struct CartConfiguration: Sendable {
    package var address: ListenAddress
    package var databaseURL: String
    package var tokens: TokenService
    package var transport: any EventTransport
    /// Where the products service listens, e.g. `http://127.0.0.1:8082`.
    package var productsURL: String
    /// The services running in the same process, which this one calls in memory rather than at their URLs.
    package var localServices: LocalServices?
    package var events: EventBus.Settings
    package var poolSize: Int

    package init(
        address: ListenAddress, databaseURL: String, tokens: TokenService, transport: any EventTransport,
        productsURL: String, events: EventBus.Settings = .init(), poolSize: Int = 8
    ) {
        self.address = address
        self.databaseURL = databaseURL
        self.tokens = tokens
        self.transport = transport
        self.productsURL = productsURL
        self.events = events
        self.poolSize = poolSize
    }
}

/// The cart service: its HTTP listener, its database start-up, its consumer of `order.created`
/// and `order.rejected`, and the restore of rejected orders' lines.
package func buildCartService(_ configuration: CartConfiguration, logger: Logger) -> ServiceUnit {
    var logger = logger
    logger[metadataKey: "service"] = "cart"
    let pool = PostgresPool(url: configuration.databaseURL, size: configuration.poolSize, schema: "cart", logger: logger)
    let httpClient = ServiceClient.makeHTTPClient()
    let products = ServiceClient(
        baseURL: configuration.productsURL, caller: "cart", tokens: configuration.tokens, client: httpClient,
        local: configuration.localServices, service: "products")
    let repository = PostgresCartRepository(pool: pool)
    let catalog = ProductCatalog(products: products)
    let controller = CartController(repository: repository, catalog: catalog)
    let startup = DatabaseStartup(pool: pool, migrations: cartMigrations, logger: logger)
    let bus = EventBus(
        service: "cart", pool: pool, transport: configuration.transport, subscribesTo: Subscriptions.cart,
        handler: makeOrderEventsHandler(appliedHere: repository.appliedHere),
        // Each event's statements ignore one seen before (`applied_orders`), and in one process an
        // order's `order.created` finds its lines already taken out by the checkout's call, so it
        // costs nothing but the transaction that would have stored and marked it in the inbox.
        // An order's events take the same effect in either order (a rejection first keeps a late
        // `order.created` from removing anything), so a batch that fails waits in the inbox.
        applyOnArrival: true, onArrivalFailuresToInbox: true, handlersPublish: false, settings: configuration.events,
        logger: logger)
    let router = buildCartRouter(
        controller: controller, tokens: configuration.tokens, checks: [startup.readinessCheck, bus.readinessCheck], startup: startup)
    bus.addAdminRoutes(to: router)
    let application = makeApplication(router: router, address: configuration.address, logger: logger)
    let restorer = CartRestorer(repository: repository, catalog: catalog)
    let restoring = PeriodicTask(name: "rejected order restore", interval: .seconds(1), logger: logger) { [logger] in
        guard startup.isComplete else { return }
        let restored = try await restorer.restorePending()
        if restored > 0 { logger.info("rejected orders back in their carts", metadata: ["orders": "\(restored)"]) }
    }
    return ServiceUnit(
        name: "cart", address: configuration.address, services: [startup, application, restoring] + bus.services,
        routes: router.serviceRoutes, inProcess: InProcessService(router: router, logger: logger),
        shutdown: {
            try? await httpClient.shutdown()
            await pool.shutdown()
        })
}
