import EcomMessaging
import EcomProducts
import EcomServerKit
import EcomUsers
import Foundation
import Logging
import Testing

@testable import EcomServer

@Suite struct StartMessagesTests {
    static func configuration(_ services: Set<ServiceName> = Set(ServiceName.allCases)) -> ServeConfiguration {
        var configuration = ServeConfiguration(dataDirectory: URL(fileURLWithPath: "/nonexistent"))
        configuration.services = services
        return configuration
    }

    static let units = [
        ServiceUnit(name: "gateway", address: ListenAddress(host: "127.0.0.1", port: 8080), services: []),
        ServiceUnit(name: "products", address: ListenAddress(host: "127.0.0.1", port: 8082), services: []),
    ]

    @Test("the embedded default seeds the demo admin and the sample catalog, and says so")
    func embeddedDefault() {
        let configuration = Self.configuration()
        let seeds = StoreSeeds(configuration, embedded: true)
        #expect(seeds.admin?.email == DemoAdmin.standard.email)
        #expect(seeds.catalog == .sample)
        let lines = StartMessages(
            configuration: configuration, units: Self.units, transport: LocalTransport(), seeds: seeds,
            embeddedCluster: URL(fileURLWithPath: "/data/postgres")
        ).lines
        #expect(lines == [
            "gateway listening on http://127.0.0.1:8080",
            "products listening on http://127.0.0.1:8082",
            "database: embedded PostgreSQL in /data/postgres",
            "catalog seed: \(CatalogSeed.sample.origin) (imported only into an empty catalog)",
            "demo admin: admin@example.com / admin123 (change it with: ecom passwd)",
        ])
    }

    @Test("an explicit database seeds only what the configuration names, and never shows a password")
    func explicitDatabase() {
        var configuration = Self.configuration()
        #expect(StoreSeeds(configuration, embedded: false).admin == nil)
        #expect(StoreSeeds(configuration, embedded: false).catalog == nil)
        configuration.seedAdmin = ("root@example.com", "long enough password")
        configuration.catalogSeed = URL(fileURLWithPath: "/srv/catalog.json")
        let seeds = StoreSeeds(configuration, embedded: false)
        #expect(seeds.admin?.email == "root@example.com")
        let lines = StartMessages(configuration: configuration, units: [], transport: LocalTransport(), seeds: seeds, embeddedCluster: nil).lines
        #expect(lines == ["catalog seed: /srv/catalog.json (imported only into an empty catalog)"])
    }

    @Test("the broker is named when the transport crosses processes and a service here exchanges events")
    func broker() throws {
        let transport = try AMQPTransport(url: "amqp://ecom:hidden@broker.example:5672/shop", logger: Logger(label: "test"))
        #expect(transport.crossesProcesses)
        #expect(!LocalTransport().crossesProcesses)
        let seeds = StoreSeeds(Self.configuration(), embedded: false)
        let withPeers = StartMessages(
            configuration: Self.configuration([.orders]), units: [], transport: transport, seeds: seeds, embeddedCluster: nil
        ).lines
        #expect(withPeers.count == 1)
        let line = try #require(withPeers.first)
        #expect(line.hasPrefix("events: RabbitMQ at "))
        #expect(line.contains("broker.example"))
        #expect(!line.contains("hidden"))
        let gatewayOnly = StartMessages(
            configuration: Self.configuration([.gateway]), units: [], transport: transport, seeds: seeds, embeddedCluster: nil)
        #expect(gatewayOnly.lines.isEmpty)
    }
}
