import EcomNotifications
import EcomPostgres
import EcomProducts
import EcomServerKit
import Foundation

/// Everything `ecom serve` needs, resolved from flags and the environment.
package struct ServeConfiguration: Sendable {
    /// The services this process runs.
    package var services: Set<ServiceName> = Set(ServiceName.allCases)
    /// Address the gateway listens on; services always listen on `serviceHost`.
    package var gatewayHost = Self.defaultHost
    package var serviceHost = Self.defaultHost
    package var ports: [ServiceName: Int] = [:]
    /// A PostgreSQL URL; `nil` starts the embedded cluster.
    package var databaseURL: String?
    /// A service's own database URL, overriding the one derived from `databaseURL`.
    package var serviceDatabaseURLs: [ServiceName: String] = [:]
    /// Where services not run by this process are reached (`ECOM_USERS_URL`).
    package var serviceURLs: [ServiceName: String] = [:]
    package var secretKey: String?
    /// A second key whose tokens are accepted, while `secretKey` is being replaced.
    package var acceptedSecretKey: String?
    /// A RabbitMQ URL: events then travel through the broker, and services may run in separate
    /// processes. Without one they travel in-process.
    package var amqpURL: String?
    /// `classic` or `quorum`: the type of the queues declared on RabbitMQ (checked when the transport is made).
    package var amqpQueueType: String?
    package var dataDirectory: URL
    /// An admin to create at start when the database is explicit.
    package var seedAdmin: (email: String, password: String)?
    /// A catalog file to import into an empty catalog (`ECOM_CATALOG_SEED`); the embedded default
    /// imports the sample catalog the binary carries otherwise.
    package var catalogSeed: URL?
    /// How long an order may stay pending before it is rejected with reason `timeout`.
    package var pendingTimeout = Self.defaultPendingTimeout
    /// Keeps events in the outboxes instead of publishing them (a switch for fault tests).
    package var holdEvents = false
    /// How long a batch of inbox events waits before its commit (a switch for fault tests).
    package var batchCommitDelay: Duration?
    /// `stock.low` is announced when a product's available units fall below it.
    package var lowStockThreshold = ProductEvents.defaultLowStockThreshold
    /// How long the notifications service keeps events, and how often an idle stream hears from it.
    package var eventRetention = Duration.seconds(defaultEventRetentionDays * 24 * 3600)
    package var streamHeartbeat = defaultStreamHeartbeat
    package var webhooks = WebhookSettings()
    /// PEM files: the listeners' certificate chain and key (HTTPS when given), and authorities
    /// trusted for the services this process calls over https.
    package var tlsCertificateFile: String?
    package var tlsKeyFile: String?
    package var tlsAuthorityFile: String?
    /// Connections each service keeps to its database.
    package var poolSize = Self.defaultPoolSize
    /// The gateway's listener limits and each service's, before they are fitted to the descriptor limit.
    package var gatewayLimits = ListenerLimits.gateway
    package var serviceLimits = ListenerLimits.service

    static let defaultHost = "127.0.0.1"
    static let defaultPendingTimeout = Duration.seconds(120)
    static let defaultPoolSize = 8
    static let defaultEventRetentionDays = 7
    static let defaultStreamHeartbeat = Duration.seconds(15)

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
        // With TLS, the services of this host are taken to listen as this process does.
        return "\(tlsCertificateFile == nil ? "http" : "https")://\(connectHost.contains(":") ? "[\(connectHost)]" : connectHost):\(port(of: service))"
    }

    /// The services this process calls over HTTP without running them: the gateway calls every
    /// service, orders call cart and products, the cart calls products, and a process without the
    /// users service reads its revocation feed.
    package var peers: [ServiceName] {
        var called: Set<ServiceName> = services.contains(.users) ? [] : [.users]
        if services.contains(.gateway) { called.formUnion(ServiceName.allCases.filter { $0 != .gateway }) }
        if services.contains(.orders) { called.formUnion([.cart, .products]) }
        if services.contains(.cart) { called.insert(.products) }
        return called.subtracting(services).sorted()
    }

    /// Why this process may not start when it listens on `address`: a specific address beyond
    /// loopback means a deployment across hosts, where a peer without its URL
    /// (`ECOM_<SERVICE>_URL`) would be looked for on 127.0.0.1. A wildcard (0.0.0.0, ::) keeps
    /// the loopback defaults, for processes sharing one host.
    package func unnamedPeersProblem(listeningOn address: ListenAddress) -> String? {
        guard !address.isLoopback, !["0.0.0.0", "::"].contains(address.host) else { return nil }
        let unnamed = peers.filter { serviceURLs[$0] == nil }
        guard !unnamed.isEmpty else { return nil }
        let variables = unnamed.map { EnvironmentVariable.serviceURL.of($0).name }
        return "listening on \(address.host), beyond loopback, means services on other hosts: "
            + "set \(variables.joined(separator: ", ")) to where the services this process calls run"
    }

    /// The listeners' TLS, read from its files, and the authorities trusted for calls to peers
    /// (`PeerTLS`); nil for plain HTTP. Throws naming the variable whose file is wrong.
    package func loadTLS() throws -> ListenerTLS? {
        if let authority = tlsAuthorityFile {
            do {
                try PeerTLS.trust(authoritiesIn: authority)
            } catch {
                throw ServeError("\(EnvironmentVariable.tlsAuthority.name): \(error)")
            }
        }
        switch (tlsCertificateFile, tlsKeyFile) {
        case (nil, nil):
            return nil
        case (let certificate?, let key?):
            do {
                return try ListenerTLS(certificateFile: certificate, keyFile: key)
            } catch {
                throw ServeError("\(EnvironmentVariable.tlsCertificate.name)/\(EnvironmentVariable.tlsKey.name): \(error)")
            }
        default:
            throw ServeError("HTTPS needs both \(EnvironmentVariable.tlsCertificate.name) and \(EnvironmentVariable.tlsKey.name)")
        }
    }

    /// Reads the original platform's variables (`PORT`, `DB_URL`, `SECRET_KEY`) and their `ECOM_` forms.
    package mutating func apply(environment: [String: String]) {
        typealias Variable = EnvironmentVariable
        func value(_ variable: Variable) -> String? { variable.value(in: environment) }
        func positive(_ variable: Variable) -> Int? { value(variable).flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil } }
        if let url = value(.databaseURL) { databaseURL = url }
        if let key = value(.secretKey) { secretKey = key }
        if let key = value(.acceptedSecretKey) { acceptedSecretKey = key }
        if let url = value(.amqpURL) { amqpURL = url }
        if let type = value(.amqpQueueType) { amqpQueueType = type }
        if let port = value(.port).flatMap(Int.init) { ports[.gateway] = port }
        if let host = value(.host) { gatewayHost = host }
        for service in ServiceName.allCases {
            if let port = value(Variable.servicePort.of(service)).flatMap(Int.init) { ports[service] = port }
            if let url = value(Variable.serviceDatabaseURL.of(service)) { serviceDatabaseURLs[service] = url }
            if let url = value(Variable.serviceURL.of(service)) { serviceURLs[service] = url }
        }
        if let email = value(.adminEmail), let password = value(.adminPassword) { seedAdmin = (email, password) }
        if let path = value(.catalogSeed) { catalogSeed = URL(fileURLWithPath: path) }
        if let seconds = positive(.orderPendingTimeout) { pendingTimeout = .seconds(seconds) }
        holdEvents = value(.holdEvents) == "1"
        if let milliseconds = positive(.batchCommitDelay) { batchCommitDelay = .milliseconds(milliseconds) }
        if let units = value(.lowStockThreshold).flatMap(Int.init), units >= 0 { lowStockThreshold = units }
        if let days = positive(.eventRetention) { eventRetention = .seconds(days * 24 * 3600) }
        if let seconds = positive(.streamHeartbeat) { streamHeartbeat = .seconds(seconds) }
        webhooks.allowInsecure = value(.webhookAllowInsecure) == "1"
        if let seconds = positive(.webhookTimeout) { webhooks.timeout = .seconds(seconds) }
        if let milliseconds = positive(.webhookFirstRetry) { webhooks.firstRetry = .milliseconds(milliseconds) }
        if let attempts = positive(.webhookDisableAfter) { webhooks.disableAfter = attempts }
        tlsCertificateFile = value(.tlsCertificate)
        tlsKeyFile = value(.tlsKey)
        tlsAuthorityFile = value(.tlsAuthority)
        // Two at least (1, which earlier versions took, counts as 2): an outbox relay holds one while
        // it publishes, and in one process the notifications service's own events come back to its
        // inbox through another.
        if let size = value(.poolSize).flatMap(Int.init), (1...256).contains(size) { poolSize = max(2, size) }
        if let cap = positive(.maxConnections) { gatewayLimits.maxConnections = cap }
        if let cap = value(.maxConnectionsPerClient).flatMap(Int.init), cap >= 0 {
            gatewayLimits.maxConnectionsPerClient = cap == 0 ? nil : cap
        }
        if let cap = positive(.serviceMaxConnections) { serviceLimits.maxConnections = cap }
        if let seconds = positive(.headerTimeout) {
            gatewayLimits.headerTimeout = .seconds(seconds)
            serviceLimits.headerTimeout = .seconds(seconds)
        }
        if let seconds = positive(.idleTimeout) {
            gatewayLimits.idleTimeout = .seconds(seconds)
            serviceLimits.idleTimeout = .seconds(seconds)
        }
    }

    /// `max_connections` of the embedded cluster: every service's pool, with room for the catalog's
    /// change listener, the databases' creation at start and an operator's `psql` or `pg_dump`;
    /// PostgreSQL's own default (100) at least, which five pools of 20 or more (`ECOM_DB_POOL_SIZE`)
    /// would outgrow under load.
    package var embeddedMaxConnections: Int {
        max(EmbeddedPostgres.defaultMaxConnections, poolConnections + 20)
    }

    /// The connections every pool of this process's services may open together.
    var poolConnections: Int { poolSize * services.filter { $0.databaseName != nil }.count }

    /// Descriptors kept for the process's own connections rather than its listeners': the database pools,
    /// the gateway's connections to the services (64 each at most), the services' connections to one another
    /// (32 per peer), and 128 for RabbitMQ, the embedded cluster, files and the unforeseen.
    package var descriptorReserve: Int {
        var reserve = 128 + poolConnections
        if services.contains(.gateway) { reserve += 64 * (ServiceName.allCases.count - 1) }
        if services.contains(.orders) { reserve += 2 * 32 }
        if services.contains(.cart) { reserve += 32 }
        return reserve
    }

    /// A listener's limits as configured, before they are fitted to the descriptor limit.
    package func unscaledLimits(of service: ServiceName) -> ListenerLimits {
        service == .gateway ? gatewayLimits : serviceLimits
    }

    /// Each listener's limits, their connection caps scaled down together (per-client caps with them) when
    /// they would not fit `openFileLimit` less `descriptorReserve`.
    package func listenerLimits(openFileLimit: Int?) -> [ServiceName: ListenerLimits] {
        let selected = services.sorted()
        var limits = selected.map(unscaledLimits(of:))
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
        .notifications: [.products, .orders],
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
        if let xdg = environment[EnvironmentVariable.dataHome.name], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appendingPathComponent("ecom")
        }
        let home = environment[EnvironmentVariable.home.name] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".local/share/ecom")
    }
}
