@testable import EcomPostgres
import Foundation
import Logging
import Testing

@Suite(
    .enabled(
        if: ProcessInfo.processInfo.environment["ECOM_TEST_EMBEDDED_POSTGRES"] == "1",
        "set ECOM_TEST_EMBEDDED_POSTGRES=1 to start a real cluster"
    )
)
struct EmbeddedPostgresTests {
    @Test("An embedded cluster starts, refuses a second owner, and keeps its data across restarts", .timeLimit(.minutes(3)))
    func lifecycle() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-embedded-\(UUID())")
        let logger = Logger(label: "test")
        let cluster = EmbeddedPostgres(dataDirectory: dataDirectory, logger: logger)
        defer { removeCluster(of: dataDirectory) }

        let url = try await cluster.start()
        try await TestDatabase.withPool(url: url, size: 1) { pool in
            try await pool.execute("CREATE TABLE kept (note text)")
            try await pool.execute("INSERT INTO kept VALUES (\("first run"))")
        }

        let intruder = EmbeddedPostgres(dataDirectory: dataDirectory, logger: logger)
        let error = await #expect(throws: (any Error).self) { _ = try await intruder.start() }
        #expect("\(error!)" == "another ecom serve is using \(dataDirectory.path)")
        await cluster.stop()

        // Started again with room for bigger pools: the setting is the server's, not the cluster's files'.
        let restarted = EmbeddedPostgres(dataDirectory: dataDirectory, maxConnections: 150, logger: logger)
        let secondURL = try await restarted.start()
        #expect(secondURL == url)
        let (note, maxConnections) = try await TestDatabase.withPool(url: secondURL, size: 1) { pool in
            (
                try await pool.query("SELECT note FROM kept")[0].decode("note", as: String.self),
                try await pool.query("SHOW max_connections")[0].decode("max_connections", as: String.self)
            )
        }
        #expect(note == "first run")
        #expect(maxConnections == "150")
        await restarted.stop()
    }

    @Test("A cluster left running by a killed ecom is stopped and reused", .timeLimit(.minutes(3)))
    func leftover() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-embedded-\(UUID())")
        let logger = Logger(label: "test")
        defer { removeCluster(of: dataDirectory) }
        let first = EmbeddedPostgres(dataDirectory: dataDirectory, logger: logger)
        _ = try await first.start()
        await first.stop()

        // What a killed ecom leaves: a server running with nobody holding the lock.
        let cluster = dataDirectory.appendingPathComponent("postgres").resolvingSymlinksInPath()
        let options = "-c listen_addresses='' -c unix_socket_directories='\(cluster.path)/socket'"
        try runAsClusterOwner(["pg_ctl", "start", "-w", "-D", cluster.path + "/data", "-l", "/dev/null", "-o", options])

        let second = EmbeddedPostgres(dataDirectory: dataDirectory, logger: logger)
        let url = try await second.start()
        #expect(try await TestDatabase.withPool(url: url, size: 1) { try await $0.query("SELECT 1 AS one").count } == 1)
        await second.stop()
    }

    @Test(
        "As root, clusters whose data directory is gone are removed; running ones and those still linked are kept",
        .enabled(if: geteuid() == 0, "only root's clusters live outside their data directory"), .timeLimit(.minutes(5)))
    func orphanedClusters() async throws {
        let logger = Logger(label: "test")
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-orphans-\(UUID())")
        let (orphaned, running, stopped) = (base.appendingPathComponent("orphaned"), base.appendingPathComponent("running"), base.appendingPathComponent("stopped"))
        // A place of its own, so that no other test's clusters count, and this test's count for no other.
        let rootClusters = URL(fileURLWithPath: "/var/lib/ecom-test-\(UUID().uuidString.prefix(8))")
        var clusters: [URL] = []
        defer {
            for cluster in clusters { try? FileManager.default.removeItem(at: cluster) }
            try? FileManager.default.removeItem(at: rootClusters)
            try? FileManager.default.removeItem(at: base)
        }
        func cluster(of dataDirectory: URL) throws -> URL {
            let cluster = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: dataDirectory.appendingPathComponent("postgres").path))
            clusters.append(cluster)
            return cluster
        }

        let first = EmbeddedPostgres(dataDirectory: orphaned, rootClusters: rootClusters, logger: logger)
        _ = try await first.start()
        await first.stop()
        let orphanedCluster = try cluster(of: orphaned)
        try FileManager.default.removeItem(at: orphaned)

        // Its data directory deleted under it, but its server still runs.
        let live = EmbeddedPostgres(dataDirectory: running, rootClusters: rootClusters, logger: logger)
        _ = try await live.start()
        let runningCluster = try cluster(of: running)
        try FileManager.default.removeItem(at: running)

        let kept = EmbeddedPostgres(dataDirectory: stopped, rootClusters: rootClusters, logger: logger)
        _ = try await kept.start()
        await kept.stop()
        let stoppedCluster = try cluster(of: stopped)

        let removed = await EmbeddedPostgres.removeOrphanedClusters(under: rootClusters, logger: logger)
        await live.stop()
        #expect(removed == [.init(cluster: orphanedCluster.path, dataDirectory: orphaned.path)], "\(removed)")
        #expect(!FileManager.default.fileExists(atPath: orphanedCluster.path))
        #expect(FileManager.default.fileExists(atPath: runningCluster.appendingPathComponent("data/PG_VERSION").path))
        #expect(FileManager.default.fileExists(atPath: stoppedCluster.appendingPathComponent("data/PG_VERSION").path))

        // Once its server has stopped, nothing holds the second one any more.
        let later = await EmbeddedPostgres.removeOrphanedClusters(under: rootClusters, logger: logger)
        #expect(later.map(\.cluster) == [runningCluster.path], "\(later)")
    }

    /// Stops nothing: removes the data directory and, as root, the cluster directory it links to.
    private func removeCluster(of dataDirectory: URL) {
        let cluster = dataDirectory.appendingPathComponent("postgres").resolvingSymlinksInPath()
        try? FileManager.default.removeItem(at: cluster)
        try? FileManager.default.removeItem(at: dataDirectory)
    }

    private func runAsClusterOwner(_ command: [String]) throws {
        let newest = try #require(
            (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.compactMap { Int($0) }.max()
        )
        let program = "/usr/lib/postgresql/\(newest)/bin/\(command[0])"
        let asOwner = geteuid() == 0 ? ["/usr/bin/env", "-C", "/tmp", "runuser", "-u", "postgres", "--"] : []
        // Not Foundation's Process, which would wait for the server pg_ctl leaves running.
        let (status, output) = try EmbeddedPostgres.spawn(asOwner + [program] + command.dropFirst())
        #expect(status == 0, "\(output)")
    }
}
