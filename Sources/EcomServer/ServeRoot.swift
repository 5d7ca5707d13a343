import CLazyLibraries
import CMalloc
import EcomMessaging
import EcomPostgres
import EcomServerKit
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Runs the services of `configuration` until SIGINT or SIGTERM.
///
/// Without a database URL it starts the embedded PostgreSQL cluster under the data directory,
/// creates one database per service, keeps a random signing key there, and seeds the demo
/// admin and catalog; it stops the cluster when the services have stopped.
package func serve(
    _ configuration: ServeConfiguration, logger: Logger, announce: @escaping @Sendable (String) -> Void
) async throws {
    try await ServeRoot(configuration: configuration, logger: logger, announce: announce).run()
}

/// `ecom serve`'s composition root: the steps of a start, in the order they run.
struct ServeRoot {
    let configuration: ServeConfiguration
    let logger: Logger
    let announce: @Sendable (String) -> Void

    /// The embedded cluster once it runs, and the URL of its server.
    struct Cluster {
        var postgres: EmbeddedPostgres
        var serverURL: String
    }

    /// The database of each service, and what creates those of an explicit server.
    struct Databases {
        var urls: [ServiceName: String]
        var provisioner: DatabaseProvisioner?
    }

    func run() async throws {
        EcomMetrics.bootstrap()
        // Listener caps are sized from this limit, so that sockets held by clients never take the descriptors
        // of the process's own database, broker and upstream connections.
        let openFileLimit = DescriptorBudget.raiseOpenFileLimit()
        // A bad key is refused before anything is started or created.
        if let key = configuration.secretKey { _ = try SigningKey(key) }
        let acceptedKey = try configuration.acceptedSecretKey.map { try SigningKey($0, variable: EnvironmentVariable.acceptedSecretKey.name) }
        let listenerTLS = try configuration.loadTLS()
        try openLibraries()
        let transport = try chooseTransport()
        let plan = try DatabasePlan(for: configuration)
        let cluster = plan.server == .embedded ? try await startEmbeddedCluster() : nil
        try await withCleanup {
            let databases = try await provisionDatabases(plan, on: cluster)
            let secret = try loadSecret(embedded: cluster != nil)
            // One table for every service of the process: they share its view of the users service's feed.
            let revocations = RevocationTable()
            let tokens = await TokenService(key: try SigningKey(secret), acceptedKey: acceptedKey, revocations: revocations)
            if let accepted = tokens.acceptedKeyID {
                logger.notice(
                    "tokens signed with ECOM_ACCEPTED_SECRET_KEY are accepted too",
                    metadata: ["key_id": "\(tokens.keyID)", "accepted_key_id": "\(accepted)"])
            }
            let seeds = StoreSeeds(configuration, embedded: cluster != nil)
            let assembly = ServiceAssembly(
                configuration: configuration, tokens: tokens, transport: transport, databaseURLs: databases.urls, seeds: seeds,
                logger: logger, listenerTLS: listenerTLS)
            let units = try makeUnits(assembly, openFileLimit: openFileLimit)
            let messages = StartMessages(
                configuration: configuration, units: units, transport: transport, seeds: seeds,
                embeddedCluster: cluster?.postgres.clusterDirectory)
            messages.lines.forEach(announce)
            try await withCleanup {
                try await runServiceGroup(
                    units, transport: transport, provisioner: databases.provisioner, tokens: tokens, revocations: revocations)
            } cleanup: {
                for unit in units { await unit.shutdown() }
            }
        } cleanup: {
            await cluster?.postgres.stop()
        }
    }

    /// libpq, and librabbitmq with a broker, are opened at their first call (CLazyLibraries); opened
    /// here, a missing one is said before anything starts rather than stopping the process later.
    func openLibraries() throws {
        var libraries = [ECOM_LIBRARY_PQ]
        if configuration.amqpURL != nil { libraries.append(ECOM_LIBRARY_RABBITMQ) }
        for library in libraries {
            var reason = [CChar](repeating: 0, count: 512)
            guard ecom_library_open(library, &reason, reason.count) != 0 else { continue }
            let text = String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ServeError("cannot load \(String(cString: ecom_library_soname(library))): \(text)")
        }
    }

    /// Events travel through RabbitMQ when there is a broker URL, in-process otherwise (which needs
    /// every service that exchanges events here).
    func chooseTransport() throws -> any EventTransport {
        guard let amqpURL = configuration.amqpURL else {
            if let problem = configuration.inProcessEventsProblem { throw ServeError(problem) }
            return LocalTransport()
        }
        var topology = AMQPTopology.ecom
        if let type = configuration.amqpQueueType {
            guard let queueType = AMQPQueueType(rawValue: type) else {
                throw ServeError("ECOM_AMQP_QUEUE_TYPE must be classic or quorum, got '\(type)'")
            }
            topology.queueType = queueType
        }
        do {
            return try AMQPTransport(url: amqpURL, authorities: configuration.tlsAuthorityFile, topology: topology, logger: logger)
        } catch {
            throw ServeError("\(error)")
        }
    }

    /// Starts the embedded cluster under the data directory, first removing those whose data
    /// directory was deleted.
    func startEmbeddedCluster() async throws -> Cluster {
        try FileManager.default.createDirectory(at: configuration.dataDirectory, withIntermediateDirectories: true)
        for orphan in await EmbeddedPostgres.removeOrphanedClusters(logger: logger) {
            announce(
                "removed the embedded PostgreSQL cluster \(orphan.cluster), left behind by the deleted data directory \(orphan.dataDirectory)")
        }
        let postgres = EmbeddedPostgres(
            dataDirectory: configuration.dataDirectory, maxConnections: configuration.embeddedMaxConnections, logger: logger)
        return Cluster(postgres: postgres, serverURL: try await postgres.start())
    }

    /// Makes the planned databases on the embedded cluster before the services start, or has an
    /// explicit server's made in the background.
    func provisionDatabases(_ plan: DatabasePlan, on cluster: Cluster?) async throws -> Databases {
        var databases = Databases(urls: plan.urls)
        switch plan.server {
        case .none:
            break
        case .explicit(let url):
            if !plan.databases.isEmpty {
                databases.provisioner = DatabaseProvisioner(serverURL: url, names: plan.databases.map(\.name), logger: logger)
            }
        case .embedded:
            guard let cluster else { throw ServeError("the embedded PostgreSQL cluster is not running") }
            for database in plan.databases {
                try await createDatabaseIfNeeded(serverURL: cluster.serverURL, name: database.name)
                databases.urls[database.service] = postgresURL(cluster.serverURL, replacingDatabaseWith: database.name)
            }
        }
        return databases
    }

    /// The configured key; on the embedded database, the one kept in the data directory otherwise.
    func loadSecret(embedded: Bool) throws -> String {
        if let key = configuration.secretKey { return key }
        guard embedded else {
            throw ServeError("SECRET_KEY is required with an explicit database or --only; generate one with: openssl rand -base64 48")
        }
        return try loadOrCreateSecret(in: configuration.dataDirectory)
    }

    /// The units of the selected services, their listeners fitted to the descriptor limit, and
    /// held back from beyond loopback while the demo password stands.
    func makeUnits(_ assembly: ServiceAssembly, openFileLimit: Int?) throws -> [ServiceUnit] {
        let limits = configuration.listenerLimits(openFileLimit: openFileLimit)
        logger.info(
            "listener limits",
            metadata: [
                "open_file_limit": "\(openFileLimit.map(String.init) ?? "unknown")",
                "reserved": "\(configuration.descriptorReserve)",
                "max_connections": "\(limits.sorted { $0.key < $1.key }.map { "\($0.key.rawValue)=\($0.value.maxConnections)" }.joined(separator: " "))",
            ])
        // Before any unit exists: a unit left unstarted would have to be shut down.
        for service in configuration.services.sorted() {
            let address = assembly.address(of: service, limits: configuration.unscaledLimits(of: service))
            if let problem = configuration.unnamedPeersProblem(listeningOn: address) { throw ServeError(problem) }
        }
        return guardingExposure(try assembly.units(limits: limits), logger: logger)
    }

    /// Gives the heap's free pages back to the system every few seconds. glibc keeps what a burst of
    /// requests or a seeding freed, which would otherwise stay in the process's resident memory while idle:
    /// about 20 MB after a minute of load, two fifths of an idle `ecom serve`.
    static func memoryTrim(logger: Logger) -> PeriodicTask {
        PeriodicTask(name: "memory trim", interval: .seconds(5), logger: logger) {
            #if canImport(Glibc)
            _ = malloc_trim(0)
            #endif
        }
    }

    /// Runs every long-running part of the process in one group until SIGTERM or SIGINT.
    func runServiceGroup(
        _ units: [ServiceUnit], transport: any EventTransport, provisioner: DatabaseProvisioner?, tokens: TokenService,
        revocations: RevocationTable
    ) async throws {
        // The transport's own upkeep comes first, so that it is the last to stop.
        var services: [any Service] = [transport.service, provisioner].compactMap { $0 }
        // The users service feeds the table from its database; without it here, the feed is polled over HTTP.
        let selected = configuration.services.sorted()
        if !selected.contains(.users) {
            services.append(
                RevocationPoller.polling(
                    usersURL: configuration.url(of: .users), caller: selected.first?.rawValue ?? "ecom", tokens: tokens,
                    into: revocations, logger: logger))
        }
        services += units.flatMap { $0.services }
        services.append(Self.memoryTrim(logger: logger))
        // A part that stops (a listener that cannot bind) shuts the others down gracefully, as
        // SIGTERM does. Cancelling them instead can drop a connection a listener accepted and
        // had not handed over yet, which NIO treats as a programming error and traps on.
        let group = ServiceGroup(
            configuration: .init(
                services: services.map {
                    .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
                },
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
