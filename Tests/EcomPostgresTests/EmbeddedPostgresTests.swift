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
            try await pool.execute("INSERT INTO kept VALUES ($1)", ["first run"])
        }

        let intruder = EmbeddedPostgres(dataDirectory: dataDirectory, logger: logger)
        let error = await #expect(throws: (any Error).self) { _ = try await intruder.start() }
        #expect("\(error!)" == "another ecom serve is using \(dataDirectory.path)")
        await cluster.stop()

        let restarted = EmbeddedPostgres(dataDirectory: dataDirectory, logger: logger)
        let secondURL = try await restarted.start()
        #expect(secondURL == url)
        let note = try await TestDatabase.withPool(url: secondURL, size: 1) { pool in
            try await pool.query("SELECT note FROM kept")[0].decode("note", as: String.self)
        }
        #expect(note == "first run")
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
