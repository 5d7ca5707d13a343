import EcomPostgres
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// Brings a service's database up to date in the background, so the HTTP listener can answer
/// `/health` (and `/ready` with 503) while PostgreSQL is still unreachable.
///
/// Retries with capped exponential backoff until the migrations and the follow-up work
/// (seeding) succeed, then stays idle until shutdown; a database whose tables it must not touch
/// ends the run with the reason.
package final class DatabaseStartup: Service, Sendable {
    private let pool: PostgresPool
    private let migrations: [Migration]
    private let afterMigrating: @Sendable () async throws -> Void
    private let logger: Logger
    private let done = Atomic(false)

    package init(
        pool: PostgresPool, migrations: [Migration], logger: Logger,
        afterMigrating: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.pool = pool
        self.migrations = migrations
        self.logger = logger
        self.afterMigrating = afterMigrating
    }

    /// Whether the database has been migrated and seeded by this process.
    package var isComplete: Bool { done.load(ordering: .acquiring) }

    package func run() async throws {
        var delay = Duration.milliseconds(250)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await migrate(pool, migrations: migrations, logger: logger)
                try await afterMigrating()
                done.store(true, ordering: .releasing)
                break
            } catch let error as MixedReleaseTablesError {
                // Waiting cannot sort the tables out: stop the process and say what to do.
                logger.error("cannot take over the tables of an earlier release", metadata: ["error": "\(error)"])
                throw error
            } catch {
                logger.warning(
                    "database not ready, retrying",
                    metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                let wait = delay
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                delay = min(delay * 2, .seconds(10))
            }
        }
        try? await gracefulShutdown()
    }

    /// Answers the service's requests with 503 `service_unavailable` (and `Retry-After`) until the database
    /// is migrated and seeded: a request that reached tables still being made would fail as an internal
    /// error. `Router.service` puts it after the operational routes (`/health`, `/ready`, `/metrics`), which
    /// it does not reach, and before the service's own.
    package var requestGate: StartupGateMiddleware { StartupGateMiddleware { [self] in isComplete } }

    /// A readiness check: migrated, and the database answers now.
    package var readinessCheck: ReadinessCheck {
        { [self] in
            guard isComplete else { return ("database", false) }
            return ("database", await pool.ping())
        }
    }
}

/// Refuses requests while `isStarted` says no; see `DatabaseStartup.requestGate`.
package struct StartupGateMiddleware: RouterMiddleware {
    package typealias Context = EcomRequestContext

    let isStarted: @Sendable () -> Bool

    package init(isStarted: @escaping @Sendable () -> Bool) {
        self.isStarted = isStarted
    }

    package func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if !isStarted() { throw APIError.starting }
        return try await next(request, context)
    }
}
