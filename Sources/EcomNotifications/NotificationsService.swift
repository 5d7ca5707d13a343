import AsyncHTTPClient
import EcomAPI
import EcomMessaging
import EcomPostgres
import EcomServerKit
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

package struct NotificationsConfiguration: Sendable {
    package var address: ListenAddress
    package var databaseURL: String
    package var tokens: TokenService
    package var transport: any EventTransport
    package var events: EventBus.Settings
    package var poolSize: Int
    /// How long events stay in the log, and so how far back a stream can resume.
    package var retention: Duration
    /// How long an open stream may go without a line before it gets a comment line.
    package var heartbeat: Duration
    /// Webhook deliveries: timeout, retries, disabling, and whether plain HTTP and private addresses are allowed.
    package var webhooks = WebhookSettings()

    package init(
        address: ListenAddress, databaseURL: String, tokens: TokenService, transport: any EventTransport,
        events: EventBus.Settings = .init(), poolSize: Int = 8, retention: Duration = .seconds(7 * 24 * 3600),
        heartbeat: Duration = .seconds(15)
    ) {
        self.address = address
        self.databaseURL = databaseURL
        self.tokens = tokens
        self.transport = transport
        self.events = events
        self.poolSize = poolSize
        self.retention = retention
        self.heartbeat = heartbeat
    }
}

/// The notifications service: its consumer of every store event, the event log it keeps, and
/// the live streams it serves from that log.
package func buildNotificationsService(_ configuration: NotificationsConfiguration, logger: Logger) -> ServiceUnit {
    var logger = logger
    logger[metadataKey: "service"] = "notifications"
    let pool = PostgresPool(url: configuration.databaseURL, size: configuration.poolSize, schema: "notifications", logger: logger)
    let log = EventLog(pool: pool)
    let live = LiveLog(log: log, logger: logger)
    let startup = DatabaseStartup(pool: pool, migrations: notificationsMigrations, logger: logger)
    let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)), connectionPool: .init(idleTimeout: .seconds(30))))
    let relay = RelayBell()
    let dispatcher = WebhookDispatcher(
        pool: pool, settings: configuration.webhooks.dispatcher, client: client, logger: logger, outboxChanged: { relay.ring() })
    let bus = EventBus(
        service: "notifications", pool: pool, transport: configuration.transport, subscribesTo: ["#"],
        handler: { delivery, connection in try EventLog.append([delivery], on: connection) },
        applyBatch: { deliveries, connection in try EventLog.append(deliveries, on: connection) },
        // The log is this service's inbox: its statement drops an event logged before.
        applyOnArrival: true,
        applied: {
            live.logChanged()
            dispatcher.logAppended()
        }, handlersPublish: false, settings: configuration.events, logger: logger)
    relay.bus.withLock { $0 = bus }
    let router = Router.service(
        "notifications", tokens: configuration.tokens, checks: [startup.readinessCheck, bus.readinessCheck], startup: startup)
    EventStreamController(live: live, heartbeat: configuration.heartbeat).addRoutes(to: router)
    let webhooks = WebhookStore(pool: pool)
    WebhooksController(store: webhooks, dispatcher: dispatcher, allowInsecure: configuration.webhooks.allowInsecure).addRoutes(to: router)
    bus.addAdminRoutes(to: router)
    let application = makeApplication(router: router, address: configuration.address, logger: logger)
    let retention = configuration.retention
    let purge = PeriodicTask(name: "event log retention", interval: .seconds(60), logger: logger) { [logger] in
        guard startup.isComplete else { return }
        let purged = try await log.purge(olderThan: retention)
        let deliveries = try await webhooks.purge(olderThan: retention)
        if purged + deliveries > 0 {
            logger.info("events and deliveries past their retention dropped", metadata: ["events": "\(purged)", "deliveries": "\(deliveries)"])
        }
    }
    let delivering = StartAfter(startup: startup, service: dispatcher)
    return ServiceUnit(
        name: "notifications", address: configuration.address, services: [startup, application, purge, live, delivering] + bus.services,
        routes: router.serviceRoutes, inProcess: InProcessService(router: router, logger: logger),
        shutdown: {
            try? await client.shutdown()
            await pool.shutdown()
        })
}

/// How the notifications service delivers webhooks.
package struct WebhookSettings: Sendable {
    package var timeout: Duration = .seconds(10)
    package var firstRetry: Duration = .seconds(60)
    package var disableAfter = 20
    package var allowInsecure = false

    package init() {}

    var dispatcher: WebhookDispatcher.Settings {
        var settings = WebhookDispatcher.Settings()
        settings.timeout = timeout
        settings.firstRetry = firstRetry
        settings.disableAfter = disableAfter
        settings.allowInsecure = allowInsecure
        return settings
    }
}

/// The outbox relay's doorbell, for what is built before the bus it rings.
final class RelayBell: Sendable {
    let bus = Mutex<EventBus?>(nil)

    func ring() {
        bus.withLock { $0 }?.outboxChanged()
    }
}

/// Runs `service` once the database's migrations are in place.
struct StartAfter: Service {
    let startup: DatabaseStartup
    let service: any Service

    func run() async throws {
        while !startup.isComplete {
            try await Task.sleep(for: .milliseconds(100))
            if Task.isShuttingDownGracefully { return }
        }
        try await service.run()
    }
}
