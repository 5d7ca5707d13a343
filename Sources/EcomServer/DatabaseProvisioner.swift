import EcomPostgres
import Logging
import ServiceLifecycle

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
