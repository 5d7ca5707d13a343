import EcomCart
import EcomGateway
import EcomMessaging
import EcomOrders
import EcomPostgres
import EcomProducts
import EcomServerKit
import EcomUsers
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// Runs the services of `configuration` until SIGINT or SIGTERM.
///
/// Without a database URL it starts the embedded PostgreSQL cluster under the data directory,
/// creates one database per service, keeps a random signing key there, and seeds the demo
/// admin and catalog; it stops the cluster when the services have stopped.
package func serve(_ configuration: ServeConfiguration, logger: Logger, announce: @Sendable (String) -> Void) async throws {
    EcomMetrics.bootstrap()
    // Listener caps are sized from this limit, so that sockets held by clients never take the descriptors
    // of the process's own database, broker and upstream connections.
    let openFileLimit = DescriptorBudget.raiseOpenFileLimit()
    // A bad key is refused before anything is started or created.
    if let key = configuration.secretKey { _ = try SigningKey(key) }
    let selected = configuration.services.sorted()
    let transport: any EventTransport
    if let amqpURL = configuration.amqpURL {
        do {
            transport = try AMQPTransport(url: amqpURL, logger: logger)
        } catch {
            throw ServeError("\(error)")
        }
    } else {
        if let problem = configuration.inProcessEventsProblem { throw ServeError(problem) }
        transport = LocalTransport()
    }
    var catalogSeed = configuration.catalogSeed.map(CatalogSeed.file)
    let needsDatabase = selected.contains { $0.databaseName != nil && configuration.serviceDatabaseURLs[$0] == nil }

    var embedded: EmbeddedPostgres?
    var databaseURLs: [ServiceName: String] = configuration.serviceDatabaseURLs
    var secret = configuration.secretKey
    var seedAdmin: DemoAdmin? = configuration.seedAdmin.map { DemoAdmin(email: $0.email, password: $0.password) }
    var provisioner: DatabaseProvisioner?

    if needsDatabase, configuration.databaseURL == nil {
        guard configuration.isAllInOne else {
            throw ServeError("--only needs an explicit database: set DB_URL (or --database-url) and SECRET_KEY")
        }
        try FileManager.default.createDirectory(at: configuration.dataDirectory, withIntermediateDirectories: true)
        for orphan in await EmbeddedPostgres.removeOrphanedClusters(logger: logger) {
            announce("removed the embedded PostgreSQL cluster \(orphan.cluster), left behind by the deleted data directory \(orphan.dataDirectory)")
        }
        let cluster = EmbeddedPostgres(dataDirectory: configuration.dataDirectory, logger: logger)
        let serverURL = try await cluster.start()
        embedded = cluster
        for service in selected {
            guard let name = service.databaseName, databaseURLs[service] == nil else { continue }
            try await createDatabaseIfNeeded(serverURL: serverURL, name: name)
            databaseURLs[service] = postgresURL(serverURL, replacingDatabaseWith: name)
        }
        if secret == nil { secret = try loadOrCreateSecret(in: configuration.dataDirectory) }
        if seedAdmin == nil { seedAdmin = .standard }
        if catalogSeed == nil { catalogSeed = .sample }
    } else if let base = configuration.databaseURL {
        let databaseServices = selected.filter { $0.databaseName != nil && databaseURLs[$0] == nil }
        if !configuration.isAllInOne && databaseServices.count == 1 {
            // One service per process, the original deployment: the URL is that service's database.
            databaseURLs[databaseServices[0]] = base
            if let name = postgresDatabaseName(of: base), name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" }) {
                provisioner = DatabaseProvisioner(serverURL: base, names: [name], logger: logger)
            }
        } else {
            // Several services in one process: one database each, named after the URL's.
            // They are created in the background, so a server that is down at start is waited for.
            let prefix = postgresDatabaseName(of: base) ?? "ecom"
            var names: [String] = []
            for service in databaseServices {
                let name = "\(prefix)_\(service.databaseName!)"
                names.append(name)
                databaseURLs[service] = postgresURL(base, replacingDatabaseWith: name)
            }
            provisioner = DatabaseProvisioner(serverURL: base, names: names, logger: logger)
        }
    }

    do {
        guard let secret else {
            throw ServeError("SECRET_KEY is required with an explicit database or --only; generate one with: openssl rand -base64 48")
        }
        // One table for every service of the process: they share its view of the users service's feed.
        let revocations = RevocationTable()
        let tokens = await TokenService(key: try SigningKey(secret), revocations: revocations)
        var events = EventBus.Settings()
        events.holdOutbox = configuration.holdEvents

        let limits = configuration.listenerLimits(openFileLimit: openFileLimit)
        logger.info(
            "listener limits",
            metadata: [
                "open_file_limit": "\(openFileLimit.map(String.init) ?? "unknown")",
                "reserved": "\(configuration.descriptorReserve)",
                "max_connections": "\(selected.map { "\($0.rawValue)=\(limits[$0]!.maxConnections)" }.joined(separator: " "))",
            ])
        var units: [ServiceUnit] = []
        for service in selected {
            // Resolved once here, so that the address judged loopback or not is the one bound.
            let address = ListenAddress(
                host: service == .gateway ? configuration.gatewayHost : configuration.serviceHost,
                port: configuration.port(of: service), limits: limits[service]!
            ).resolved()
            switch service {
            case .gateway:
                let upstreams = Dictionary(
                    uniqueKeysWithValues: ServiceName.allCases.filter { $0 != .gateway }.map {
                        ($0.rawValue, configuration.url(of: $0))
                    })
                units.append(buildGatewayService(GatewayConfiguration(address: address, upstreams: upstreams, tokens: tokens), logger: logger))
            case .users:
                units.append(
                    buildUsersService(
                        UsersConfiguration(
                            address: address, databaseURL: databaseURLs[.users]!, tokens: tokens, seedAdmin: seedAdmin,
                            poolSize: configuration.poolSize),
                        logger: logger))
            case .products:
                units.append(
                    buildProductsService(
                        ProductsConfiguration(
                            address: address, databaseURL: databaseURLs[.products]!, tokens: tokens, transport: transport,
                            catalogSeed: catalogSeed, events: events, poolSize: configuration.poolSize),
                        logger: logger))
            case .cart:
                units.append(
                    buildCartService(
                        CartConfiguration(
                            address: address, databaseURL: databaseURLs[.cart]!, tokens: tokens, transport: transport,
                            productsURL: configuration.url(of: .products), events: events, poolSize: configuration.poolSize),
                        logger: logger))
            case .orders:
                units.append(
                    buildOrdersService(
                        OrdersConfiguration(
                            address: address, databaseURL: databaseURLs[.orders]!, tokens: tokens, transport: transport,
                            cartURL: configuration.url(of: .cart), productsURL: configuration.url(of: .products),
                            pendingTimeout: configuration.pendingTimeout, events: events, poolSize: configuration.poolSize),
                        logger: logger))
            }
        }

        units = guardingExposure(units, logger: logger)

        for unit in units {
            announce("\(unit.name) listening on http://\(unit.address)")
        }
        if let embedded {
            announce("database: embedded PostgreSQL in \(embedded.clusterDirectory.path)")
        }
        if let amqp = transport as? AMQPTransport, selected.contains(where: { ServeConfiguration.eventPeers[$0] != nil }) {
            announce("events: RabbitMQ at \(amqp.endpoint)")
        }
        if let catalogSeed, selected.contains(.products) {
            announce("catalog seed: \(catalogSeed.origin), imported into an empty catalog")
        }
        if let seedAdmin, embedded != nil, seedAdmin.email == DemoAdmin.standard.email {
            announce("demo admin: \(seedAdmin.email) / \(seedAdmin.password) (change it with: ecom passwd)")
        }

        // The transport's own upkeep comes first, so that it is the last to stop.
        var services: [any Service] = (transport.service.map { [$0] } ?? []) + (provisioner.map { [$0] } ?? [])
        // The users service feeds the table from its database; without it here, the feed is polled over HTTP.
        if !selected.contains(.users) {
            services.append(
                RevocationPoller.polling(
                    usersURL: configuration.url(of: .users), caller: selected.first?.rawValue ?? "ecom", tokens: tokens,
                    into: revocations, logger: logger))
        }
        services += units.flatMap { $0.services }

        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            for unit in units { await unit.shutdown() }
            throw error
        }
        for unit in units { await unit.shutdown() }
    } catch {
        await embedded?.stop()
        throw error
    }
    await embedded?.stop()
}

/// Holds back every listener beyond loopback of a process that runs the users service, and the
/// gateway's wherever the users service runs, until the demo admin's published password is known
/// to be changed; while it is still set, the process refuses to start.
func guardingExposure(_ units: [ServiceUnit], logger: Logger) -> [ServiceUnit] {
    let localUsers = units.first { $0.name == ServiceName.users.rawValue }?.demoPassword
    return units.map { unit in
        guard !unit.address.isLoopback, let demoPassword = localUsers ?? unit.demoPassword else { return unit }
        return unit.wrappingListener { listener in
            ExposureGuard(listener: listener, address: unit.address, logger: logger, demoPassword: demoPassword)
        }
    }
}

/// The embedded default's signing key: made once, kept in the data directory, readable by its owner only.
///
/// The file is created with mode 0600 by `open(2)` itself (`O_CREAT | O_EXCL`), so it is never
/// readable by others, not even between its creation and a later change of mode.
func loadOrCreateSecret(in directory: URL) throws -> String {
    let file = directory.appendingPathComponent("secret.key")
    for _ in 0..<3 {
        if let existing = try? String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
            !existing.isEmpty
        {
            return existing
        }
        // An empty file is what a start that died before writing the key leaves: made again.
        if FileManager.default.fileExists(atPath: file.path) { unlink(file.path) }
        let descriptor = open(file.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            // Another process made it first: read theirs.
            if errno == EEXIST { continue }
            throw ServeError("cannot create \(file.path): \(String(cString: strerror(errno)))")
        }
        let secret = SigningKey.generateSecret()
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: Data((secret + "\n").utf8))
            try handle.synchronize()
            try handle.close()
        } catch {
            unlink(file.path)
            throw ServeError("cannot write \(file.path): \(error)")
        }
        return secret
    }
    throw ServeError("cannot create \(file.path)")
}

/// Creates the service databases on an explicit server, retrying with backoff while it is unreachable;
/// the services' own start-up waits for them meanwhile.
struct DatabaseProvisioner: Service {
    let serverURL: String
    let names: [String]
    let logger: Logger

    func run() async throws {
        var pending = names
        var delay = Duration.milliseconds(250)
        while !pending.isEmpty && !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await createDatabaseIfNeeded(serverURL: serverURL, name: pending[0])
                pending.removeFirst()
            } catch {
                logger.warning("cannot create database yet, retrying", metadata: ["database": "\(pending[0])", "error": "\(error)"])
                let wait = delay
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                delay = min(delay * 2, .seconds(10))
            }
        }
        try? await gracefulShutdown()
    }
}
