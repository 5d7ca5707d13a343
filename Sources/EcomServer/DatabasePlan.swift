import EcomPostgres

/// Which database each service of a process uses, decided from the configuration before anything
/// starts.
///
/// A service's own URL (`ECOM_<SERVICE>_DATABASE_URL`) always wins. The others are named one of
/// three ways: without a database URL, one database per service on the embedded cluster, named as
/// `ServiceName.databaseName`; with one, a process of a single service with a database uses the
/// URL's own database, and any other process one database per service, named
/// `<the URL's database>_<service>`.
struct DatabasePlan: Equatable {
    enum Server: Equatable {
        /// Every service here that needs a database has its URL already.
        case none
        /// The embedded cluster, started under the data directory; its databases are made before
        /// the services start.
        case embedded
        /// The server of the database URL; its databases are made in the background, so a server
        /// that is down at start is waited for.
        case explicit(url: String)
    }

    /// A database to create on the plan's server, and the service it is for.
    struct Database: Equatable {
        var service: ServiceName
        var name: String
    }

    var server: Server
    /// The URL of each service's database known before any server is reached; on the embedded
    /// cluster the others' are known once it runs.
    var urls: [ServiceName: String]
    /// The databases to create on `server`, in the order of the services.
    var databases: [Database] = []

    init(server: Server, urls: [ServiceName: String], databases: [Database] = []) {
        self.server = server
        self.urls = urls
        self.databases = databases
    }

    /// Throws when the embedded cluster would be needed by a process that does not run every
    /// service: split processes need a server they can all reach.
    init(for configuration: ServeConfiguration) throws {
        let given = configuration.serviceDatabaseURLs
        let unnamed = configuration.services.sorted().compactMap { service in
            service.databaseName.map { Database(service: service, name: $0) }
        }.filter { given[$0.service] == nil }
        guard let base = configuration.databaseURL else {
            guard !unnamed.isEmpty else {
                self.init(server: .none, urls: given)
                return
            }
            guard configuration.isAllInOne else {
                throw ServeError("--only needs an explicit database: set DB_URL (or --database-url) and SECRET_KEY")
            }
            self.init(server: .embedded, urls: given, databases: unnamed)
            return
        }
        self.init(server: .explicit(url: base), urls: given)
        if !configuration.isAllInOne, unnamed.count == 1, let only = unnamed.first {
            // One service per process, the original deployment: the URL is that service's database.
            urls[only.service] = base
            if let name = postgresDatabaseName(of: base), name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" }) {
                databases = [Database(service: only.service, name: name)]
            }
        } else {
            // Several services in one process: one database each, named after the URL's.
            let prefix = postgresDatabaseName(of: base) ?? "ecom"
            databases = unnamed.map { Database(service: $0.service, name: "\(prefix)_\($0.name)") }
            for database in databases {
                urls[database.service] = postgresURL(base, replacingDatabaseWith: database.name)
            }
        }
    }
}
