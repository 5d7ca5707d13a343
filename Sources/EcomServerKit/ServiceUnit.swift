import Hummingbird
import Logging
import ServiceLifecycle

/// One ecom service as `ecom serve` runs it: the long-running parts that join the process's
/// `ServiceGroup`, and what to release once the group has stopped.
package struct ServiceUnit: Sendable {
    package var name: String
    package var address: ListenAddress
    package var services: [any Service]
    /// Every route its HTTP listener answers, as its router holds them.
    package var routes: [ServiceRoute]
    /// Its router, for callers in the same process (`LocalServices`).
    package var inProcess: InProcessService?
    package var shutdown: @Sendable () async -> Void
    /// How this unit learns whether the demo admin's published password is still set, for a
    /// process that would listen beyond loopback: the users service asks its own database, the
    /// gateway asks the users service.
    package var demoPassword: (@Sendable () async -> DemoPasswordState)?

    package init(
        name: String, address: ListenAddress, services: [any Service], routes: [ServiceRoute] = [],
        inProcess: InProcessService? = nil,
        demoPassword: (@Sendable () async -> DemoPasswordState)? = nil,
        shutdown: @escaping @Sendable () async -> Void = {}
    ) {
        self.name = name
        self.address = address
        self.services = services
        self.routes = routes
        self.inProcess = inProcess
        self.demoPassword = demoPassword
        self.shutdown = shutdown
    }
}

/// A route a router answers: `GET /api/products/{id}`, its parameters written as OpenAPI writes them.
package struct ServiceRoute: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var method: String
    package var path: String

    package init(method: String, path: String) {
        self.method = method
        self.path = path
    }

    package var description: String { "\(method) \(path)" }

    package static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.path, lhs.method) < (rhs.path, rhs.method)
    }
}

extension Router {
    /// The routes this router answers.
    package var serviceRoutes: [ServiceRoute] {
        routes.map { ServiceRoute(method: $0.method.rawValue, path: $0.path.description) }.sorted()
    }
}

/// Runs `work` every `interval` until shutdown; failures are logged and retried next time.
package struct PeriodicTask: Service {
    let name: String
    let interval: Duration
    let logger: Logger
    let work: @Sendable () async throws -> Void

    package init(name: String, interval: Duration, logger: Logger, work: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.interval = interval
        self.logger = logger
        self.work = work
    }

    package func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                try await work()
            } catch {
                logger.warning("\(name) failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
