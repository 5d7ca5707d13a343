import EcomAPI
import EcomMessaging
import EcomPostgres
import EcomServerKit
import Hummingbird
import Logging

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
    let bus = EventBus(
        service: "notifications", pool: pool, transport: configuration.transport, subscribesTo: ["#"],
        handler: { delivery, connection in try EventLog.append(delivery, on: connection) },
        applied: { live.logChanged() }, settings: configuration.events, logger: logger)
    let router = Router.service("notifications", tokens: configuration.tokens, checks: [startup.readinessCheck, bus.readinessCheck])
    EventStreamController(live: live, heartbeat: configuration.heartbeat).addRoutes(to: router)
    bus.addAdminRoutes(to: router)
    let application = makeApplication(router: router, address: configuration.address, logger: logger)
    let retention = configuration.retention
    let purge = PeriodicTask(name: "event log retention", interval: .seconds(60), logger: logger) { [logger] in
        guard startup.isComplete else { return }
        let purged = try await log.purge(olderThan: retention)
        if purged > 0 { logger.info("events past their retention dropped from the log", metadata: ["events": "\(purged)"]) }
    }
    return ServiceUnit(
        name: "notifications", address: configuration.address, services: [startup, application, purge, live] + bus.services,
        routes: router.serviceRoutes, inProcess: InProcessService(router: router, logger: logger),
        shutdown: { await pool.shutdown() })
}
