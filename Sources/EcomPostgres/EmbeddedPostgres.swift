import CLibPQ
import Foundation
import Logging
import NIOPosix
import Synchronization

/// A private PostgreSQL cluster kept under a data directory, for `ecom serve` without a database URL.
///
/// It listens on a Unix socket only, in a directory of mode 0700. PostgreSQL refuses to run as root, so as root
/// the cluster lives in `/var/lib/ecom/<hash of the data directory>/`, owned by the `postgres` user (who cannot
/// enter `/root`), with a `postgres` symlink in the data directory pointing at it and a `data-directory` file in
/// it naming the data directory, so that `removeOrphanedClusters()` can tell when it has outlived it; otherwise
/// it is `<dataDirectory>/postgres/` itself.
package final class EmbeddedPostgres: Sendable {
    private struct Running: Sendable {
        var lockDescriptor: Int32
        var pgCtl: URL
    }

    private let dataDirectory: URL
    /// Where root's clusters go: `/var/lib/ecom` but in tests.
    private let rootClusters: URL
    private let logger: Logger
    /// The server's `max_connections`: enough for the pools of the services that use it.
    private let maxConnections: Int
    /// Set between `start()` and `stop()`: the lock that keeps other ecom processes out, and how to stop the server.
    private let running = Mutex<Running?>(nil)

    /// PostgreSQL's own `max_connections` default.
    package static let defaultMaxConnections = 100

    package convenience init(dataDirectory: URL, maxConnections: Int = defaultMaxConnections, logger: Logger) {
        self.init(dataDirectory: dataDirectory, rootClusters: Self.defaultRootClusters, maxConnections: maxConnections, logger: logger)
    }

    init(dataDirectory: URL, rootClusters: URL, maxConnections: Int = defaultMaxConnections, logger: Logger) {
        self.dataDirectory = dataDirectory
        self.rootClusters = rootClusters
        self.maxConnections = maxConnections
        self.logger = logger
    }

    /// Creates the cluster on first use, stops one left running by a killed ecom, starts the server and returns
    /// a libpq URL for its `postgres` database as the superuser `ecom`.
    package func start() async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { try self.startBlocking() }
    }

    /// Stops the server (`pg_ctl stop -m fast`, waiting for it) and releases the data directory.
    package func stop() async {
        guard let running = running.withLock({ $0.take() }) else { return }
        _ = try? await NIOThreadPool.singleton.runIfActive {
            do {
                try self.run(running.pgCtl, ["stop", "-D", self.layout.pgdata.path, "-m", "fast", "-w", "-t", "60"])
            } catch {
                self.logger.error("Could not stop the embedded PostgreSQL server: \(error)")
            }
            close(running.lockDescriptor)
        }
    }

    private func startBlocking() throws -> String {
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let lockDescriptor = try lockDataDirectory()
        do {
            let binaries = try Self.serverBinaries()
            let pgCtl = binaries.appendingPathComponent("pg_ctl")
            try prepareClusterDirectory()

            if FileManager.default.fileExists(atPath: layout.pgdata.appendingPathComponent("postmaster.pid").path),
               try run(pgCtl, ["status", "-D", layout.pgdata.path], exitStatuses: [0, 3]) == 0 {
                logger.notice("Stopping the PostgreSQL server an earlier ecom left running")
                try run(pgCtl, ["stop", "-D", layout.pgdata.path, "-m", "fast", "-w", "-t", "60"])
            }
            if !FileManager.default.fileExists(atPath: layout.pgdata.appendingPathComponent("PG_VERSION").path) {
                // Whatever is there is an interrupted initdb's leftover.
                try? FileManager.default.removeItem(at: layout.pgdata)
                logger.info("Creating a PostgreSQL cluster in \(layout.clusterDirectory.path)")
                try run(binaries.appendingPathComponent("initdb"), [
                    "-D", layout.pgdata.path, "-U", "ecom", "--auth=trust", "-E", "UTF8", "--locale=C",
                ])
            }
            // pg_ctl hands -o to a shell, hence the quoting.
            let serverOptions = "-c listen_addresses='' -c port=5432 -c max_connections=\(maxConnections) -c "
                + shellQuoted("unix_socket_directories=\(layout.socketDirectory.path)")
            do {
                try run(pgCtl, ["start", "-D", layout.pgdata.path, "-l", layout.logFile.path, "-w", "-t", "60", "-o", serverOptions])
            } catch {
                let reason = logServerLogTail() ?? "\(error)"
                throw EmbeddedPostgresError("PostgreSQL did not start: \(reason) (see \(layout.logFile.path))")
            }
            running.withLock { $0 = Running(lockDescriptor: lockDescriptor, pgCtl: pgCtl) }
        } catch {
            close(lockDescriptor)
            throw error
        }
        let host = layout.socketDirectory.path.addingPercentEncoding(withAllowedCharacters: Self.queryValueCharacters)!
        return "postgresql:///postgres?host=\(host)&port=5432&user=ecom"
    }

    /// Takes `<dataDirectory>/ecom.lock` with `flock`, which the kernel releases however this process ends.
    private func lockDataDirectory() throws -> Int32 {
        let path = dataDirectory.appendingPathComponent("ecom.lock").path
        // O_CLOEXEC: a server started by pg_ctl must not inherit, and so keep holding, the lock.
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw EmbeddedPostgresError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw EmbeddedPostgresError("another ecom serve is using \(dataDirectory.path)")
        }
        return descriptor
    }

    private struct Layout {
        var clusterDirectory: URL
        var pgdata: URL { clusterDirectory.appendingPathComponent("data") }
        var socketDirectory: URL { clusterDirectory.appendingPathComponent("socket") }
        var logFile: URL { clusterDirectory.appendingPathComponent("postgresql.log") }
    }

    private var isRoot: Bool { geteuid() == 0 }

    /// Where the cluster lives: under the data directory, or for root under `/var/lib/ecom`, since
    /// PostgreSQL refuses to run as root and its own user may not reach root's home.
    package var clusterDirectory: URL { layout.clusterDirectory }

    private var layout: Layout {
        guard isRoot else { return Layout(clusterDirectory: dataDirectory.appendingPathComponent("postgres")) }
        let path = dataDirectory.standardizedFileURL.resolvingSymlinksInPath().path
        // FNV-1a: stable across runs and releases, unlike `Hasher`.
        let hash = path.utf8.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
        return Layout(clusterDirectory: rootClusters.appendingPathComponent(String(hash, radix: 16)))
    }

    /// Where the clusters of root's data directories live.
    package static let defaultRootClusters = URL(fileURLWithPath: "/var/lib/ecom")
    /// In a cluster directory under `rootClusters`: the path of the data directory it belongs to.
    private static let ownerFile = "data-directory"

    /// A cluster removed because its data directory was gone.
    package struct OrphanedCluster: Sendable, Equatable {
        package var cluster: String
        package var dataDirectory: String
    }

    /// Removes the clusters under `/var/lib/ecom` (root's) that have outlived their data directory: the data
    /// directory is gone or no longer links to the cluster, no ecom holds its lock, and no server runs on the
    /// cluster. Clusters of releases that did not record their data directory are left alone.
    package static func removeOrphanedClusters(under rootClusters: URL = defaultRootClusters, logger: Logger) async -> [OrphanedCluster] {
        (try? await NIOThreadPool.singleton.runIfActive { removeOrphanedClustersBlocking(under: rootClusters, logger: logger) }) ?? []
    }

    private static func removeOrphanedClustersBlocking(under rootClusters: URL, logger: Logger) -> [OrphanedCluster] {
        guard geteuid() == 0,
              let names = try? FileManager.default.contentsOfDirectory(atPath: rootClusters.path)
        else { return [] }
        var removed: [OrphanedCluster] = []
        for name in names.sorted() {
            let cluster = rootClusters.appendingPathComponent(name)
            guard let recorded = try? String(contentsOf: cluster.appendingPathComponent(ownerFile), encoding: .utf8),
                  !recorded.isEmpty, !serverIsRunning(in: cluster.appendingPathComponent("data"))
            else { continue }
            let dataDirectory = URL(fileURLWithPath: recorded)
            // Held while removing, so that no ecom starts on the data directory meanwhile.
            let lock = open(dataDirectory.appendingPathComponent("ecom.lock").path, O_RDWR | O_CLOEXEC)
            defer { if lock >= 0 { close(lock) } }
            guard lock < 0 || flock(lock, LOCK_EX | LOCK_NB) == 0 else { continue }
            let link = try? FileManager.default.destinationOfSymbolicLink(atPath: dataDirectory.appendingPathComponent("postgres").path)
            guard link != cluster.path else { continue }
            do {
                try FileManager.default.removeItem(at: cluster)
                removed.append(OrphanedCluster(cluster: cluster.path, dataDirectory: recorded))
            } catch {
                logger.warning("cannot remove an orphaned PostgreSQL cluster", metadata: ["cluster": "\(cluster.path)", "error": "\(error)"])
            }
        }
        return removed
    }

    /// Whether `pgdata/postmaster.pid` names a live process.
    private static func serverIsRunning(in pgdata: URL) -> Bool {
        guard let pidFile = try? String(contentsOf: pgdata.appendingPathComponent("postmaster.pid"), encoding: .utf8) else {
            return false
        }
        guard let pid = pidFile.split(whereSeparator: \.isNewline).first.flatMap({ pid_t($0.trimmingCharacters(in: .whitespaces)) }),
              pid > 0
        else { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Creates the cluster and socket directories (mode 0700) and, as root, hands exactly them to `postgres`.
    private func prepareClusterDirectory() throws {
        let layout = layout
        let private0700: [FileAttributeKey: Any] = [.posixPermissions: 0o700]
        for directory in [layout.clusterDirectory, layout.socketDirectory] {
            // Default permissions for the parents: the server's user must be able to pass through them.
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try FileManager.default.setAttributes(private0700, ofItemAtPath: directory.path)
        }
        guard isRoot else { return }
        guard let user = getpwnam("postgres") else {
            throw EmbeddedPostgresError("the postgres system user is missing: install the Debian package postgresql")
        }
        for directory in [layout.clusterDirectory, layout.socketDirectory] {
            guard chown(directory.path, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else {
                throw EmbeddedPostgresError("cannot hand \(directory.path) to postgres: \(String(cString: strerror(errno)))")
            }
        }
        // Tells `removeOrphanedClusters` whose cluster this is.
        let owner = dataDirectory.standardizedFileURL.resolvingSymlinksInPath().path
        try Data(owner.utf8).write(to: layout.clusterDirectory.appendingPathComponent(Self.ownerFile))
        // Tells a reader of the data directory where the cluster is.
        let link = dataDirectory.appendingPathComponent("postgres")
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: link.path)) != layout.clusterDirectory.path {
            try? FileManager.default.removeItem(at: link)
            try FileManager.default.createSymbolicLink(at: link, withDestinationURL: layout.clusterDirectory)
        }
    }

    /// The server binaries' directory: `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`.
    private static func serverBinaries() throws -> URL {
        var candidates = [URL]()
        if let pgConfig = try? spawn(["/usr/bin/env", "pg_config", "--bindir"]), pgConfig.status == 0 {
            candidates.append(URL(fileURLWithPath: pgConfig.output.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.compactMap { Int($0) }.sorted(by: >).map { URL(fileURLWithPath: "/usr/lib/postgresql/\($0)/bin") }
        guard let binaries = candidates.first(where: {
            FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("initdb").path)
        }) else {
            throw EmbeddedPostgresError(
                "PostgreSQL server programs (initdb, pg_ctl) not found: install the Debian package postgresql or give a database URL"
            )
        }
        return binaries
    }

    /// Runs a server program, as `postgres` when we are root, logging its output instead of printing it.
    @discardableResult
    private func run(_ program: URL, _ arguments: [String], exitStatuses: Set<Int32> = [0]) throws -> Int32 {
        // As root, start in a directory the server's user can enter (it cannot enter /root).
        let asOwner = isRoot ? ["/usr/bin/env", "-C", layout.clusterDirectory.path, "runuser", "-u", "postgres", "--"] : []
        let (status, output) = try Self.spawn(asOwner + [program.path] + arguments)
        let succeeded = exitStatuses.contains(status)
        let lines = output.split(whereSeparator: \.isNewline)
        for line in lines {
            logger.log(level: succeeded ? .debug : .error, "\(program.lastPathComponent): \(line)")
        }
        guard succeeded else {
            throw EmbeddedPostgresError(
                "\(program.lastPathComponent) failed (exit status \(status))" + (lines.last.map { ": \($0)" } ?? "")
            )
        }
        return status
    }

    /// Runs `arguments` (the first an absolute path) and returns its exit status and combined output.
    ///
    /// Not Foundation's `Process`: it notices the exit through a descriptor every descendant inherits, so it
    /// would wait for the server `pg_ctl start` leaves running.
    static func spawn(_ arguments: [String]) throws -> (status: Int32, output: String) {
        var pipeEnds: [Int32] = [0, 0]
        // Close-on-exec, so that a program another thread spawns meanwhile does not inherit the write end
        // (a server it leaves running would hold this output open for ever).
        guard pipe2(&pipeEnds, O_CLOEXEC) == 0 else {
            throw EmbeddedPostgresError("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        let output = FileHandle(fileDescriptor: pipeEnds[0], closeOnDealloc: true)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)
        // Only the copies on 1 and 2 stay open, so the output ends when the program (not a daemon it starts)
        // exits; nothing else of this process (listeners, other pipes) reaches the server either.
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)

        let argv = arguments.map { strdup($0) } + [nil]
        let environment = ProcessInfo.processInfo.environment.map { strdup("\($0)=\($1)") } + [nil]
        defer { (argv + environment).forEach { free($0) } }
        var pid: pid_t = 0
        let error = posix_spawn(&pid, arguments[0], &actions, nil, argv, environment)
        close(pipeEnds[1])
        guard error == 0 else {
            throw EmbeddedPostgresError("cannot run \(arguments[0]): \(String(cString: strerror(error)))")
        }
        let text = String(decoding: output.readDataToEndOfFile(), as: UTF8.self)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        // WIFEXITED / WEXITSTATUS, which Swift does not import; a signal counts as 128 + its number, as in shells.
        return (status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + status & 0x7F, text)
    }

    /// Logs the end of the server log, where the reason a start failed is written, and returns its last line.
    private func logServerLogTail() -> String? {
        guard let log = try? String(contentsOf: layout.logFile, encoding: .utf8) else { return nil }
        let tail = log.split(whereSeparator: \.isNewline).suffix(10)
        for line in tail {
            logger.error("postgres: \(line)")
        }
        return tail.last.map(String.init)
    }

    private static let queryValueCharacters = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/"
    )
}

/// Why the embedded cluster could not start, in one line for the terminal.
package struct EmbeddedPostgresError: Error, CustomStringConvertible, LocalizedError {
    package var description: String

    init(_ description: String) {
        self.description = description
    }

    package var errorDescription: String? { description }
}

private func shellQuoted(_ word: String) -> String {
    "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
}
