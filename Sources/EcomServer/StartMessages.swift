import EcomMessaging
import EcomProducts
import EcomServerKit
import EcomUsers
import Foundation

/// What `ecom serve` tells its user once everything is built: where each service listens, where
/// the data and the events are, and what was seeded.
struct StartMessages {
    var configuration: ServeConfiguration
    var units: [ServiceUnit]
    var transport: any EventTransport
    var seeds: StoreSeeds
    /// The embedded cluster's directory, when it runs.
    var embeddedCluster: URL?

    var lines: [String] {
        var lines = units.map { "\($0.name) listening on \($0.address.scheme)://\($0.address)" }
        if let embeddedCluster {
            lines.append("database: embedded PostgreSQL in \(embeddedCluster.path)")
        }
        let services = configuration.services
        if transport.crossesProcesses, services.contains(where: { ServeConfiguration.eventPeers[$0] != nil }) {
            lines.append("events: \(transport)")
        }
        if let catalog = seeds.catalog, services.contains(.products) {
            lines.append("catalog seed: \(catalog.origin) (imported only into an empty catalog)")
        }
        if let admin = seeds.admin, embeddedCluster != nil, admin.email == DemoAdmin.standard.email {
            lines.append("demo admin: \(admin.email) / \(admin.password) (change it with: ecom passwd)")
        }
        return lines
    }
}
