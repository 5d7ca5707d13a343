import EcomMessaging
import EcomServerKit
import Foundation
import Logging

/// The routes each service's listener answers, from the units `ecom serve` builds for an
/// all-in-one process. Nothing is started or connected: the database URL is never used.
///
/// The OpenAPI document is checked against this, so a route added to a router and not
/// documented (or the other way round) fails a test.
package func routeInventory() async throws -> [ServiceName: [ServiceRoute]] {
    var configuration = ServeConfiguration(dataDirectory: URL(fileURLWithPath: "/nonexistent"))
    configuration.poolSize = 1
    let database = "postgresql://127.0.0.1:1/unused"
    let assembly = ServiceAssembly(
        configuration: configuration,
        tokens: await TokenService(key: try SigningKey(SigningKey.generateSecret())),
        transport: LocalTransport(),
        databaseURLs: Dictionary(uniqueKeysWithValues: ServiceName.allCases.map { ($0, database) }),
        seeds: StoreSeeds(configuration, embedded: false),
        logger: Logger(label: "ecom.routes") { _ in SwiftLogNoOpLogHandler() })
    let units = try assembly.units(limits: configuration.listenerLimits(openFileLimit: nil))
    var routes: [ServiceName: [ServiceRoute]] = [:]
    for (service, unit) in zip(configuration.services.sorted(), units) {
        routes[service] = unit.routes
        await unit.shutdown()
    }
    return routes
}
