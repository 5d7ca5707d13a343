import EcomProducts
import EcomServerKit
import EcomUsers
import Foundation

/// A variable of the environment that `ecom serve` reads.
///
/// The code that reads a variable looks it up here, and `ecom serve --help` lists `all`, so the
/// help names every variable the server reads.
package struct EnvironmentVariable: Sendable {
    /// Its names, the preferred first; the first one set to something non-empty wins.
    package var names: [String]
    /// What it does, in one line.
    package var meaning: String
    /// What holds while it is unset.
    package var fallback: String

    init(_ names: String..., meaning: String, fallback: String) {
        self.names = names
        self.meaning = meaning
        self.fallback = fallback
    }

    /// The preferred name.
    package var name: String { names[0] }

    /// Its value in `environment`, if one of its names is set to something non-empty.
    package func value(in environment: [String: String]) -> String? {
        names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
    }

    /// Stands for a service's name, upper-cased, in the names of per-service variables.
    static let servicePlaceholder = "<SERVICE>"

    /// A per-service variable (`ECOM_<SERVICE>_PORT`) as `service`'s own (`ECOM_USERS_PORT`).
    func of(_ service: ServiceName) -> EnvironmentVariable {
        var variable = self
        variable.names = names.map { $0.replacingOccurrences(of: Self.servicePlaceholder, with: service.rawValue.uppercased()) }
        return variable
    }

    /// The list `ecom serve --help` shows: each variable's names, then what it does, then its
    /// default, each line within 80 columns.
    package static var help: String {
        all.map { "  \($0.names.joined(separator: ", "))\n      \($0.meaning)\n      default: \($0.fallback)" }.joined(separator: "\n")
    }
}

extension EnvironmentVariable {
    package static let databaseURL = EnvironmentVariable(
        "ECOM_DATABASE_URL", "DB_URL", "DATABASE_URL", meaning: "PostgreSQL URL, as --database-url",
        fallback: "the embedded cluster")
    package static let secretKey = EnvironmentVariable(
        "ECOM_SECRET_KEY", "SECRET_KEY", meaning: "token signing key, 32 bytes or more; needed with a database URL or --only",
        fallback: "a random key kept in the data directory")
    package static let acceptedSecretKey = EnvironmentVariable(
        "ECOM_ACCEPTED_SECRET_KEY", meaning: "a second key whose tokens are accepted, not signed with (key rotation)",
        fallback: "none: only SECRET_KEY's tokens are")
    package static let amqpURL = EnvironmentVariable(
        "ECOM_AMQP_URL", "RABBITMQ_URL", meaning: "RabbitMQ URL for events, as --amqp-url; a cluster's nodes: URL,URL…",
        fallback: "events travel in-process")
    package static let amqpQueueType = EnvironmentVariable(
        "ECOM_AMQP_QUEUE_TYPE", meaning: "the type of the queues declared, classic or quorum; as --amqp-queue-type",
        fallback: "classic")
    package static let port = EnvironmentVariable(
        "ECOM_PORT", "PORT", meaning: "port of the gateway, as --port", fallback: "\(ServiceName.gateway.defaultPort)")
    package static let host = EnvironmentVariable(
        "ECOM_HOST", "HOST", meaning: "address the gateway listens on, as --host", fallback: ServeConfiguration.defaultHost)
    package static let servicePort = EnvironmentVariable(
        "ECOM_<SERVICE>_PORT",
        meaning: "port of a service (\(ServiceName.allCases.map { $0.rawValue.uppercased() }.joined(separator: ", ")))",
        fallback: "\(ServiceName.allCases.map { String($0.defaultPort) }.joined(separator: ", ")), in that order")
    package static let serviceDatabaseURL = EnvironmentVariable(
        "ECOM_<SERVICE>_DATABASE_URL", meaning: "a service's own PostgreSQL URL",
        fallback: "a database derived from the database URL")
    package static let serviceURL = EnvironmentVariable(
        "ECOM_<SERVICE>_URL", meaning: "where another process runs that service",
        fallback: "http://127.0.0.1:<its port>")
    package static let adminEmail = EnvironmentVariable(
        "ECOM_ADMIN_EMAIL", meaning: "with ECOM_ADMIN_PASSWORD, an admin created at start",
        fallback: "\(DemoAdmin.standard.email) on the embedded database, none otherwise")
    package static let adminPassword = EnvironmentVariable(
        "ECOM_ADMIN_PASSWORD", meaning: "the password of ECOM_ADMIN_EMAIL's admin",
        fallback: "\(DemoAdmin.standard.password) on the embedded database")
    package static let catalogSeed = EnvironmentVariable(
        "ECOM_CATALOG_SEED", meaning: "catalog file imported into an empty catalog",
        fallback: "the sample catalog on the embedded database, none otherwise")
    package static let orderPendingTimeout = EnvironmentVariable(
        "ECOM_ORDER_PENDING_TIMEOUT", meaning: "seconds an order may stay pending before it is rejected",
        fallback: "\(ServeConfiguration.defaultPendingTimeout.components.seconds)")
    package static let holdEvents = EnvironmentVariable(
        "ECOM_HOLD_EVENTS", meaning: "1 keeps events in the outboxes instead of publishing them (fault tests)",
        fallback: "0")
    package static let batchCommitDelay = EnvironmentVariable(
        "ECOM_BATCH_COMMIT_DELAY", meaning: "ms an applied batch of events waits before its commit (fault tests)",
        fallback: "0")
    package static let lowStockThreshold = EnvironmentVariable(
        "ECOM_LOW_STOCK_THRESHOLD", meaning: "stock.low is announced when available units fall below it",
        fallback: "\(ProductEvents.defaultLowStockThreshold)")
    package static let eventRetention = EnvironmentVariable(
        "ECOM_EVENT_RETENTION_DAYS", meaning: "days the notifications service keeps events for streams to resume from",
        fallback: "\(ServeConfiguration.defaultEventRetentionDays)")
    package static let streamHeartbeat = EnvironmentVariable(
        "ECOM_STREAM_HEARTBEAT", meaning: "seconds an idle event stream waits before a keep-alive line",
        fallback: "\(ServeConfiguration.defaultStreamHeartbeat.components.seconds)")
    package static let webhookAllowInsecure = EnvironmentVariable(
        "ECOM_WEBHOOK_ALLOW_INSECURE", meaning: "1 allows http:// webhooks and private, loopback addresses",
        fallback: "0: https:// to public addresses only")
    package static let webhookTimeout = EnvironmentVariable(
        "ECOM_WEBHOOK_TIMEOUT", meaning: "seconds a webhook endpoint has to answer a delivery", fallback: "10")
    package static let webhookFirstRetry = EnvironmentVariable(
        "ECOM_WEBHOOK_FIRST_RETRY_MS", meaning: "ms before a failed delivery's first retry; doubles up to 6 h, for 3 days",
        fallback: "60000")
    package static let webhookDisableAfter = EnvironmentVariable(
        "ECOM_WEBHOOK_DISABLE_AFTER", meaning: "failed attempts in a row that disable a webhook endpoint", fallback: "20")
    package static let poolSize = EnvironmentVariable(
        "ECOM_DB_POOL_SIZE", meaning: "connections each service keeps to its database, 2 to 256 (1 counts as 2)",
        fallback: "\(ServeConfiguration.defaultPoolSize)")
    package static let maxConnections = EnvironmentVariable(
        "ECOM_MAX_CONNECTIONS", meaning: "connections the gateway holds at once",
        fallback: "\(ListenerLimits.gateway.maxConnections)")
    package static let maxConnectionsPerClient = EnvironmentVariable(
        "ECOM_MAX_CONNECTIONS_PER_CLIENT", meaning: "connections the gateway holds from one client address; 0 for no cap",
        fallback: "\(ListenerLimits.gateway.maxConnectionsPerClient ?? 0)")
    package static let serviceMaxConnections = EnvironmentVariable(
        "ECOM_SERVICE_MAX_CONNECTIONS", meaning: "connections each service holds at once",
        fallback: "\(ListenerLimits.service.maxConnections)")
    package static let headerTimeout = EnvironmentVariable(
        "ECOM_HEADER_TIMEOUT", meaning: "seconds a new connection has to send its request head",
        fallback: "\(ListenerLimits.gateway.headerTimeout.components.seconds)")
    package static let idleTimeout = EnvironmentVariable(
        "ECOM_IDLE_TIMEOUT", meaning: "seconds an idle connection is kept open",
        fallback: "\(ListenerLimits.gateway.idleTimeout.components.seconds)")
    package static let tlsCertificate = EnvironmentVariable(
        "ECOM_TLS_CERTIFICATE", meaning: "PEM certificate chain: every listener serves HTTPS", fallback: "plain HTTP")
    package static let tlsKey = EnvironmentVariable(
        "ECOM_TLS_KEY", meaning: "PEM private key of ECOM_TLS_CERTIFICATE", fallback: "none")
    package static let tlsAuthority = EnvironmentVariable(
        "ECOM_TLS_CA", meaning: "PEM authorities trusted for https:// and amqps://, with the system's",
        fallback: "the system's")
    package static let logLevel = EnvironmentVariable(
        "LOG_LEVEL", meaning: "trace, debug, info, notice, warning or error, as --log-level", fallback: "info")
    package static let dataHome = EnvironmentVariable(
        "XDG_DATA_HOME", meaning: "the data directory is its ecom folder, unless --data-dir", fallback: "$HOME/.local/share")
    package static let home = EnvironmentVariable(
        "HOME", meaning: "the home directory, for the default data directory", fallback: "the account's home directory")
    package static let mallocArenaMax = EnvironmentVariable(
        "MALLOC_ARENA_MAX", meaning: "glibc's cap on malloc arenas", fallback: "2")

    /// Every variable, in the order `ecom serve --help` lists them.
    package static let all: [EnvironmentVariable] = [
        databaseURL, secretKey, acceptedSecretKey, amqpURL, amqpQueueType, port, host, servicePort, serviceDatabaseURL, serviceURL, adminEmail, adminPassword,
        catalogSeed, orderPendingTimeout, holdEvents, batchCommitDelay, lowStockThreshold, eventRetention, streamHeartbeat,
        webhookAllowInsecure, webhookTimeout, webhookFirstRetry, webhookDisableAfter, poolSize, maxConnections, maxConnectionsPerClient, serviceMaxConnections,
        headerTimeout, idleTimeout, tlsCertificate, tlsKey, tlsAuthority, logLevel, dataHome, home, mallocArenaMax,
    ]
}
