import EcomPostgres
import EcomServerKit
import Hummingbird
import Logging
import Synchronization

/// The users service's routes behind the shared middleware.
package func buildUsersRouter(
    controller: UsersController, tokens: TokenService, checks: [ReadinessCheck], startup: DatabaseStartup? = nil
) -> Router<EcomRequestContext> {
    let router = Router.service("users", tokens: tokens, checks: checks, startup: startup)
    controller.addRoutes(to: router)
    return router
}

package struct UsersConfiguration: Sendable {
    package var address: ListenAddress
    package var databaseURL: String
    package var tokens: TokenService
    /// An admin account to create at start unless its email exists.
    package var seedAdmin: DemoAdmin?
    package var poolSize: Int

    package init(address: ListenAddress, databaseURL: String, tokens: TokenService, seedAdmin: DemoAdmin?, poolSize: Int = 8) {
        self.address = address
        self.databaseURL = databaseURL
        self.tokens = tokens
        self.seedAdmin = seedAdmin
        self.poolSize = poolSize
    }
}

/// The users service: its HTTP listener, its database start-up (migrations, seeding) and its housekeeping.
package func buildUsersService(_ configuration: UsersConfiguration, logger: Logger) -> ServiceUnit {
    var logger = logger
    logger[metadataKey: "service"] = "users"
    let pool = PostgresPool(url: configuration.databaseURL, size: configuration.poolSize, schema: "users", logger: logger)
    let hasher = PasswordHasher()
    let repository = PostgresUserRepository(pool: pool)
    let seeded = Mutex(false)
    // This process reads its revocation table from the database directly; other processes poll
    // `/internal/revocations`.
    let poller = configuration.tokens.revocations.map { table in
        RevocationPoller(
            table: table, source: DatabaseRevocationSource(repository: repository, ready: { seeded.withLock { $0 } }), logger: logger)
    }
    let controller = UsersController(
        repository: repository, hasher: hasher, tokens: configuration.tokens, seeded: { seeded.withLock { $0 } },
        revocationsChanged: { try? await poller?.refresh() })
    let seedAdmin = configuration.seedAdmin
    let startup = DatabaseStartup(pool: pool, migrations: usersMigrations, logger: logger) { [logger] in
        if let seedAdmin {
            try await controller.seedAdmin(email: seedAdmin.email, password: seedAdmin.password, logger: logger)
        }
        seeded.withLock { $0 = true }
    }
    let router = buildUsersRouter(controller: controller, tokens: configuration.tokens, checks: [startup.readinessCheck], startup: startup)
    let application = makeApplication(router: router, address: configuration.address, logger: logger)
    let housekeeping = PeriodicTask(name: "users housekeeping", interval: .seconds(3600), logger: logger) { [logger] in
        let removed = try await repository.purgeExpired()
        if removed > 0 { logger.info("purged expired sign-in records", metadata: ["rows": "\(removed)"]) }
    }
    return ServiceUnit(
        name: "users", address: configuration.address,
        services: [startup, application, housekeeping] + (poller.map { [$0] } ?? []),
        routes: router.serviceRoutes, inProcess: InProcessService(router: router, logger: logger),
        demoPassword: {
            guard seeded.withLock({ $0 }), let active = try? await controller.demoPasswordActive() else { return .unknown }
            return active ? .active : .changed
        },
        shutdown: {
            await hasher.shutdown()
            await pool.shutdown()
        })
}

/// The users service's own revocation feed, read from its database once it is migrated.
struct DatabaseRevocationSource: RevocationSource {
    let repository: any UserRepository
    let ready: @Sendable () -> Bool

    func revocations(since cursor: Int64?) async throws -> RevocationPage {
        guard ready() else { throw APIError.unavailable }
        return try await repository.revocations(since: cursor, limit: RevocationPage.limit)
    }
}
