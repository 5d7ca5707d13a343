import EcomCart
import EcomGateway
import EcomMessaging
import EcomOrders
import EcomProducts
import EcomServerKit
import EcomUsers
import Logging

/// The routes each service's listener answers, from the routers its builder makes, as
/// `ecom serve` would run them. Nothing is started or connected: the database URL is never used.
///
/// The OpenAPI document is checked against this, so a route added to a router and not
/// documented (or the other way round) fails a test.
package func routeInventory() async throws -> [ServiceName: [ServiceRoute]] {
    let logger = Logger(label: "ecom.routes") { _ in SwiftLogNoOpLogHandler() }
    let tokens = await TokenService(key: try SigningKey(SigningKey.generateSecret()))
    let transport = LocalTransport()
    let database = "postgresql://127.0.0.1:1/unused"
    func address(_ service: ServiceName) -> ListenAddress { ListenAddress(host: "127.0.0.1", port: service.defaultPort) }
    func url(_ service: ServiceName) -> String { "http://127.0.0.1:\(service.defaultPort)" }

    let upstreams = Dictionary(
        uniqueKeysWithValues: ServiceName.allCases.filter { $0 != .gateway }.map { ($0.rawValue, url($0)) })
    let units: [ServiceName: ServiceUnit] = [
        .gateway: buildGatewayService(
            GatewayConfiguration(address: address(.gateway), upstreams: upstreams, tokens: tokens), logger: logger),
        .users: buildUsersService(
            UsersConfiguration(address: address(.users), databaseURL: database, tokens: tokens, seedAdmin: nil, poolSize: 1),
            logger: logger),
        .products: buildProductsService(
            ProductsConfiguration(
                address: address(.products), databaseURL: database, tokens: tokens, transport: transport, catalogSeed: nil,
                poolSize: 1),
            logger: logger),
        .cart: buildCartService(
            CartConfiguration(
                address: address(.cart), databaseURL: database, tokens: tokens, transport: transport,
                productsURL: url(.products), poolSize: 1),
            logger: logger),
        .orders: buildOrdersService(
            OrdersConfiguration(
                address: address(.orders), databaseURL: database, tokens: tokens, transport: transport, cartURL: url(.cart),
                productsURL: url(.products), poolSize: 1),
            logger: logger),
    ]
    var routes: [ServiceName: [ServiceRoute]] = [:]
    for (name, unit) in units {
        routes[name] = unit.routes
        await unit.shutdown()
    }
    return routes
}
