import EcomProducts
import EcomServerKit
import Foundation

/// The services `ecom serve` can run.
package enum ServiceName: String, CaseIterable, Sendable, Comparable {
    case gateway, users, products, cart, orders

    package static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    package var defaultPort: Int {
        switch self {
        case .gateway: 8080
        case .users: 8081
        case .products: 8082
        case .cart: 8083
        case .orders: 8084
        }
    }

    /// The database a service owns, named as on the embedded cluster.
    package var databaseName: String? {
        switch self {
        case .gateway: nil
        case .users: "users"
        case .products: "products"
        case .cart: "carts"
        case .orders: "orders"
        }
    }

    /// Environment prefix for this service's own settings (`ECOM_USERS_PORT`, `ECOM_USERS_DATABASE_URL`, `ECOM_USERS_URL`).
    var environmentPrefix: String { "ECOM_\(rawValue.uppercased())_" }
}

/// Everything `ecom serve` needs, resolved from flags and the environment.
package struct ServeConfiguration: Sendable {
    /// The services this process runs.
    package var services: Set<ServiceName> = Set(ServiceName.allCases)
    /// Address the gateway listens on; services always listen on `serviceHost`.
    package var gatewayHost = "127.0.0.1"
    package var serviceHost = "127.0.0.1"
    package var ports: [ServiceName: Int] = [:]
    /// A PostgreSQL URL; `nil` starts the embedded cluster.
    package var databaseURL: String?
    /// A service's own database URL, overriding the one derived from `databaseURL`.
    package var serviceDatabaseURLs: [ServiceName: String] = [:]
    /// Where services not run by this process are reached (`ECOM_USERS_URL`).
    package var serviceURLs: [ServiceName: String] = [:]
    package var secretKey: String?
    /// A RabbitMQ URL: events then travel through the broker, and services may run in separate
    /// processes. Without one they travel in-process.
    package var amqpURL: String?
    package var dataDirectory: URL
    /// An admin to create at start when the database is explicit.
    package var seedAdmin: (email: String, password: String)?
    /// A catalog file to import into an empty catalog (`ECOM_CATALOG_SEED`); the embedded default
    /// imports the sample catalog the binary carries otherwise.
    package var catalogSeed: URL?
    /// How long an order may stay pending before it is rejected with reason `timeout`.
    package var pendingTimeout: Duration = .seconds(120)
    /// Keeps events in the outboxes instead of publishing them (a switch for fault tests).
    package var holdEvents = false
    /// Connections each service keeps to its database.
    package var poolSize = 8
    /// The gateway's listener limits and each service's, before they are fitted to the descriptor limit.
    package var gatewayLimits = ListenerLimits.gateway
    package var serviceLimits = ListenerLimits.service

    package init(dataDirectory: URL) {
        self.dataDirectory = dataDirectory
    }

    package func port(of service: ServiceName) -> Int { ports[service] ?? service.defaultPort }

    package var isAllInOne: Bool { services == Set(ServiceName.allCases) }

    /// The base URL the gateway uses for `service`.
    package func url(of service: ServiceName) -> String {
        if let url = serviceURLs[service] { return url }
        let host = services.contains(service) ? serviceHost : "127.0.0.1"
        let connectHost = host == "0.0.0.0" ? "127.0.0.1" : host
        return "http://\(connectHost.contains(":") ? "[\(connectHost)]" : connectHost):\(port(of: service))"
    }

    /// Reads the original platform's variables (`PORT`, `DB_URL`, `SECRET_KEY`) and their `ECOM_` forms.
    package mutating func apply(environment: [String: String]) {
        func value(_ names: String...) -> String? {
            names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        }
        if let url = value("ECOM_DATABASE_URL", "DB_URL", "DATABASE_URL") { databaseURL = url }
        if let key = value("ECOM_SECRET_KEY", "SECRET_KEY") { secretKey = key }
        if let url = value("ECOM_AMQP_URL", "RABBITMQ_URL") { amqpURL = url }
        if let port = value("ECOM_PORT", "PORT").flatMap(Int.init) { ports[.gateway] = port }
        if let host = value("ECOM_HOST", "HOST") { gatewayHost = host }
        for service in ServiceName.allCases {
            if let port = value(service.environmentPrefix + "PORT").flatMap(Int.init) { ports[service] = port }
            if let url = value(service.environmentPrefix + "DATABASE_URL") { serviceDatabaseURLs[service] = url }
            if let url = value(service.environmentPrefix + "URL") { serviceURLs[service] = url }
        }
        if let email = value("ECOM_ADMIN_EMAIL"), let password = value("ECOM_ADMIN_PASSWORD") {
            seedAdmin = (email, password)
        }
        if let path = value("ECOM_CATALOG_SEED") { catalogSeed = URL(fileURLWithPath: path) }
        if let seconds = value("ECOM_ORDER_PENDING_TIMEOUT").flatMap(Int.init), seconds > 0 {
            pendingTimeout = .seconds(seconds)
        }
        holdEvents = value("ECOM_HOLD_EVENTS") == "1"
        if let size = value("ECOM_DB_POOL_SIZE").flatMap(Int.init), (1...256).contains(size) { poolSize = size }
        if let cap = value("ECOM_MAX_CONNECTIONS").flatMap(Int.init), cap > 0 { gatewayLimits.maxConnections = cap }
        if let cap = value("ECOM_MAX_CONNECTIONS_PER_CLIENT").flatMap(Int.init), cap >= 0 {
            gatewayLimits.maxConnectionsPerClient = cap == 0 ? nil : cap
        }
        if let cap = value("ECOM_SERVICE_MAX_CONNECTIONS").flatMap(Int.init), cap > 0 { serviceLimits.maxConnections = cap }
        if let seconds = value("ECOM_HEADER_TIMEOUT").flatMap(Int.init), seconds > 0 {
            gatewayLimits.headerTimeout = .seconds(seconds)
            serviceLimits.headerTimeout = .seconds(seconds)
        }
        if let seconds = value("ECOM_IDLE_TIMEOUT").flatMap(Int.init), seconds > 0 {
            gatewayLimits.idleTimeout = .seconds(seconds)
            serviceLimits.idleTimeout = .seconds(seconds)
        }
    }

    /// Descriptors kept for the process's own connections rather than its listeners': the database pools,
    /// the gateway's connections to the services (64 each at most), the services' connections to one another
    /// (32 per peer), and 128 for RabbitMQ, the embedded cluster, files and the unforeseen.
    package var descriptorReserve: Int {
        var reserve = 128 + poolSize * services.filter { $0.databaseName != nil }.count
        if services.contains(.gateway) { reserve += 64 * (ServiceName.allCases.count - 1) }
        if services.contains(.orders) { reserve += 2 * 32 }
        if services.contains(.cart) { reserve += 32 }
        return reserve
    }

    /// Each listener's limits, their connection caps scaled down together (per-client caps with them) when
    /// they would not fit `openFileLimit` less `descriptorReserve`.
    package func listenerLimits(openFileLimit: Int?) -> [ServiceName: ListenerLimits] {
        let selected = services.sorted()
        var limits = selected.map { $0 == .gateway ? gatewayLimits : serviceLimits }
        if let openFileLimit {
            let caps = DescriptorBudget.fit(limits.map(\.maxConnections), limit: openFileLimit, reserve: descriptorReserve)
            for index in limits.indices where caps[index] != limits[index].maxConnections {
                let scale = { (cap: Int) in max(1, cap * caps[index] / limits[index].maxConnections) }
                limits[index].maxConnectionsPerClient = limits[index].maxConnectionsPerClient.map(scale)
                limits[index].maxConnections = caps[index]
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(selected, limits))
    }

    /// Who each service exchanges events with: products and cart take the orders' events, and
    /// orders take the products' answers.
    package static let eventPeers: [ServiceName: Set<ServiceName>] = [
        .products: [.orders],
        .cart: [.orders],
        .orders: [.products, .cart],
    ]

    /// Why the in-process transport cannot carry this process's events, if it cannot: a chosen
    /// service exchanges events with one that would run in another process.
    package var inProcessEventsProblem: String? {
        for service in services.sorted() {
            let missing = (Self.eventPeers[service] ?? []).subtracting(services)
            if !missing.isEmpty {
                return "--only \(services.map(\.rawValue).sorted().joined(separator: ",")) needs RabbitMQ: \(service.rawValue) exchanges events with \(missing.map(\.rawValue).sorted().joined(separator: " and ")), which would run in another process; give --amqp-url (or RABBITMQ_URL)"
            }
        }
        return nil
    }

    package static func defaultDataDirectory(environment: [String: String]) -> URL {
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appendingPathComponent("ecom")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".local/share/ecom")
    }
}

/// A reason `ecom serve` will not start, said in one line.
package struct ServeError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

extension CatalogSeed {
    /// `fixtures/catalog.json` as it was at build time, inside the binary, so that the embedded
    /// default shows a catalog wherever the binary runs.
    package static let sample = CatalogSeed.embedded(
        json: SampleCatalog.text, origin: "embedded sample catalog (\(SampleCatalog.path), built into this binary)")
}
