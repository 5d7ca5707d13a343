import EcomMessaging
import EcomServerKit
import Foundation
import Logging
import Testing

@testable import EcomServer

@Suite struct ServiceAssemblyTests {
    static func assembly(_ services: Set<ServiceName>, databaseURLs: [ServiceName: String]) async throws -> ServiceAssembly {
        var configuration = ServeConfiguration(dataDirectory: URL(fileURLWithPath: "/nonexistent"))
        configuration.services = services
        configuration.ports[.cart] = 9183
        return ServiceAssembly(
            configuration: configuration, tokens: await TokenService(key: try SigningKey(SigningKey.generateSecret())),
            transport: LocalTransport(), databaseURLs: databaseURLs, seeds: StoreSeeds(configuration, embedded: false),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    @Test("the units are the configured services, in order, on their configured ports")
    func unitsOfTheConfiguration() async throws {
        let assembly = try await Self.assembly([.orders, .cart, .gateway], databaseURLs: [.cart: "postgresql://127.0.0.1:1/c", .orders: "postgresql://127.0.0.1:1/o"])
        let units = try assembly.units(limits: [:])
        #expect(units.map(\.name) == ["gateway", "cart", "orders"])
        #expect(units.map(\.address.port) == [8080, 9183, 8084])
        #expect(units.map(\.address.limits) == [.gateway, .service, .service])
        for unit in units { await unit.shutdown() }
    }

    @Test("a service without a database URL is refused with a message, not a crash")
    func missingDatabase() async throws {
        let assembly = try await Self.assembly([.users], databaseURLs: [:])
        #expect(throws: ServeError.self) { try assembly.units(limits: [:]) }
    }

    @Test("the route inventory holds every service's routes, from the units serve builds")
    func inventory() async throws {
        let inventory = try await routeInventory()
        #expect(Set(inventory.keys) == Set(ServiceName.allCases))
        for service in ServiceName.allCases {
            let routes = try #require(inventory[service])
            #expect(routes.contains(ServiceRoute(method: "GET", path: "/health")), "\(service)")
        }
        #expect(inventory[.products]?.contains(ServiceRoute(method: "GET", path: "/api/products")) == true)
    }
}
