import AsyncHTTPClient
import EcomAPI
import EcomMessaging
import EcomPostgres
import EcomServerKit
import Foundation
import Hummingbird
import Logging
import Metrics

package struct OrdersConfiguration: Sendable {
    package var address: ListenAddress
    package var databaseURL: String
    package var tokens: TokenService
    package var transport: any EventTransport
    package var cartURL: String
    package var productsURL: String
    /// The services running in the same process, which this one calls in memory rather than at their URLs.
    package var localServices: LocalServices?
    /// How long an order may stay pending before it is rejected with reason `timeout`.
    package var pendingTimeout: Duration
    package var events: EventBus.Settings
    package var poolSize: Int

    package init(
        address: ListenAddress, databaseURL: String, tokens: TokenService, transport: any EventTransport, cartURL: String,
        productsURL: String, pendingTimeout: Duration = .seconds(120), events: EventBus.Settings = .init(), poolSize: Int = 8
    ) {
        self.address = address
        self.databaseURL = databaseURL
        self.tokens = tokens
        self.transport = transport
        self.cartURL = cartURL
        self.productsURL = productsURL
        self.pendingTimeout = pendingTimeout
        self.events = events
        self.poolSize = poolSize
    }
}

/// The orders service's routes behind the shared middleware.
package func buildOrdersRouter(
    controller: OrdersController, bus: EventBus, tokens: TokenService, checks: [ReadinessCheck], startup: DatabaseStartup? = nil
) -> Router<EcomRequestContext> {
    let router = Router.service("orders", tokens: tokens, checks: checks, startup: startup)
    controller.addRoutes(to: router)
    bus.addAdminRoutes(to: router)
    return router
}

/// The orders service: HTTP, its database start-up, its event bus (publishing `order.*`,
/// consuming the products service's `stock.reserved` and `stock.rejected`), the pending-order
/// timeout and housekeeping.
package func buildOrdersService(_ configuration: OrdersConfiguration, logger: Logger) -> ServiceUnit {
    var logger = logger
    logger[metadataKey: "service"] = "orders"
    let pool = PostgresPool(url: configuration.databaseURL, size: configuration.poolSize, schema: "orders", logger: logger)
    let repository = PostgresOrderRepository(pool: pool)
    let stockEvents = StockEvents(repository: repository)
    let bus = EventBus(
        service: "orders", pool: pool, transport: configuration.transport, subscribesTo: Subscriptions.orders,
        handler: stockEvents.handle(_:on:), applyBatch: stockEvents.handle(_:on:),
        // Only a pending order moves, so a repeated answer changes nothing, and an order gets one
        // answer: events are applied in the transaction that receives them, and a batch that fails
        // waits in the inbox.
        applyOnArrival: true, onArrivalFailuresToInbox: true, settings: configuration.events, logger: logger)
    let client = ServiceClient.makeHTTPClient()
    let controller = OrdersController(
        repository: repository,
        cart: ServiceClient(
            baseURL: configuration.cartURL, caller: "orders", tokens: configuration.tokens, client: client,
            local: configuration.localServices, service: "cart"),
        products: ServiceClient(
            baseURL: configuration.productsURL, caller: "orders", tokens: configuration.tokens, client: client,
            local: configuration.localServices, service: "products"),
        outboxChanged: bus.outboxChanged)
    let startup = DatabaseStartup(pool: pool, migrations: ordersMigrations, logger: logger)
    let router = buildOrdersRouter(
        controller: controller, bus: bus, tokens: configuration.tokens, checks: [startup.readinessCheck, bus.readinessCheck], startup: startup)
    let application = makeApplication(router: router, address: configuration.address, logger: logger)
    let timeout = configuration.pendingTimeout
    let expiry = PeriodicTask(name: "pending order timeout", interval: .seconds(max(1, min(5, timeout.components.seconds / 4))), logger: logger) { [logger] in
        guard startup.isComplete else { return }
        let expired = try await repository.expirePending(olderThan: timeout, requestID: "timeout-\(UUID.random().lowercased)")
        if expired > 0 {
            logger.notice("rejected orders pending too long", metadata: ["orders": "\(expired)"])
            bus.outboxChanged()
        }
        let pending = try await repository.pendingSummary()
        Gauge(label: "ecom_orders_pending").record(pending.count)
        Gauge(label: "ecom_orders_pending_oldest_age_seconds").record(pending.oldest)
    }
    let housekeeping = PeriodicTask(name: "orders housekeeping", interval: .seconds(3600), logger: logger) {
        _ = try await repository.purgeKeys()
    }
    return ServiceUnit(
        name: "orders", address: configuration.address,
        services: [startup, application, expiry, housekeeping] + bus.services, routes: router.serviceRoutes,
        inProcess: InProcessService(router: router, logger: logger),
        shutdown: {
            try? await client.shutdown()
            await pool.shutdown()
        })
}
