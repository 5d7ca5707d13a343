import Logging
import ServiceLifecycle

/// One ecom service as `ecom serve` runs it: the long-running parts that join the process's
/// `ServiceGroup`, and what to release once the group has stopped.
package struct ServiceUnit: Sendable {
    package var name: String
    package var address: ListenAddress
    package var services: [any Service]
    package var shutdown: @Sendable () async -> Void

    package init(
        name: String, address: ListenAddress, services: [any Service],
        shutdown: @escaping @Sendable () async -> Void = {}
    ) {
        self.name = name
        self.address = address
        self.services = services
        self.shutdown = shutdown
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
