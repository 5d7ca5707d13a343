import EcomCart
import EcomGateway
import EcomMessaging
import EcomNotifications
import EcomOrders
import EcomProducts
import EcomServerKit
import EcomUsers
import Logging

/// How each service of a process is built from what the process shares: the one list of services
/// that `ecom serve` runs and the route inventory reads.
struct ServiceAssembly {
    var configuration: ServeConfiguration
    var tokens: TokenService
    var transport: any EventTransport
    /// Each service's database; the gateway has none.
    var databaseURLs: [ServiceName: String]
    var seeds: StoreSeeds
    var logger: Logger
    /// The certificate and key every listener of the process serves HTTPS with; nil for plain HTTP.
    var listenerTLS: ListenerTLS? = nil
    /// The services of this process, which the gateway and the other services reach in memory.
    let localServices = LocalServices()

    /// A unit for each service of the configuration, in order, listening within `limits`.
    func units(limits: [ServiceName: ListenerLimits]) throws -> [ServiceUnit] {
        let units = try configuration.services.sorted().map { service in
            try unit(service, address: address(of: service, limits: limits[service] ?? configuration.unscaledLimits(of: service)))
        }
        for unit in units { localServices.register(unit) }
        return units
    }

    /// Resolved once here, so that the address judged loopback or not is the one bound.
    func address(of service: ServiceName, limits: ListenerLimits) -> ListenAddress {
        ListenAddress(
            host: service == .gateway ? configuration.gatewayHost : configuration.serviceHost,
            port: configuration.port(of: service), limits: limits, tls: listenerTLS
        ).resolved()
    }

    func unit(_ service: ServiceName, address: ListenAddress) throws -> ServiceUnit {
        switch service {
        case .gateway:
            let upstreams = Dictionary(
                uniqueKeysWithValues: ServiceName.allCases.filter { $0 != .gateway }.map { ($0.rawValue, configuration.url(of: $0)) })
            return buildGatewayService(
                GatewayConfiguration(address: address, upstreams: upstreams, localServices: localServices, tokens: tokens), logger: logger)
        case .users:
            return buildUsersService(
                UsersConfiguration(
                    address: address, databaseURL: try databaseURL(of: service), tokens: tokens, seedAdmin: seeds.admin,
                    poolSize: configuration.poolSize),
                logger: logger)
        case .products:
            return buildProductsService(
                ProductsConfiguration(
                    address: address, databaseURL: try databaseURL(of: service), tokens: tokens, transport: transport,
                    catalogSeed: seeds.catalog, events: events, poolSize: configuration.poolSize,
                    lowStockThreshold: configuration.lowStockThreshold),
                logger: logger)
        case .cart:
            var cart = CartConfiguration(
                address: address, databaseURL: try databaseURL(of: service), tokens: tokens, transport: transport,
                productsURL: configuration.url(of: .products), events: events, poolSize: configuration.poolSize)
            cart.localServices = localServices
            return buildCartService(cart, logger: logger)
        case .orders:
            var orders = OrdersConfiguration(
                address: address, databaseURL: try databaseURL(of: service), tokens: tokens, transport: transport,
                cartURL: configuration.url(of: .cart), productsURL: configuration.url(of: .products),
                pendingTimeout: configuration.pendingTimeout, events: events, poolSize: configuration.poolSize)
            orders.localServices = localServices
            return buildOrdersService(orders, logger: logger)
        case .notifications:
            var notifications = NotificationsConfiguration(
                address: address, databaseURL: try databaseURL(of: service), tokens: tokens, transport: transport, events: events,
                poolSize: configuration.poolSize, retention: configuration.eventRetention, heartbeat: configuration.streamHeartbeat)
            notifications.webhooks = configuration.webhooks
            return buildNotificationsService(notifications, logger: logger)
        }
    }

    var events: EventBus.Settings {
        var events = EventBus.Settings()
        events.holdOutbox = configuration.holdEvents
        events.batchCommitDelay = configuration.batchCommitDelay
        return events
    }

    func databaseURL(of service: ServiceName) throws -> String {
        guard let url = databaseURLs[service] else { throw ServeError("no database for the \(service.rawValue) service") }
        return url
    }
}
