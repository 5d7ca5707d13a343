import EcomAPI
import EcomPostgres
import Foundation
import Logging
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ecom serve` on its embedded default, as a newcomer runs it: no database URL, no key.
@Suite(
    .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["ECOM_TEST_EMBEDDED_POSTGRES"] == "1", "set ECOM_TEST_EMBEDDED_POSTGRES=1 to start a real cluster"))
struct EmbeddedServeTests {
    @Test("the embedded default starts with the demo admin and catalog, refuses a second instance, and stops cleanly on Ctrl-C")
    func embeddedDefault() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-embedded-\(UUID().uuidString.prefix(8))")
        defer { Self.removeDataDirectory(directory) }
        // As root, what a deleted data directory used to leave behind: its cluster under /var/lib/ecom.
        let orphan = geteuid() == 0 ? try await Self.orphanedCluster() : nil
        let server = try await ServerProcess(services: Store.services, embeddedDataDirectory: directory)
        do {
            if let orphan {
                #expect(!FileManager.default.fileExists(atPath: orphan.cluster))
                #expect(
                    server.log.contains("ecom: removed the embedded PostgreSQL cluster \(orphan.cluster), left behind by the deleted data directory \(orphan.dataDirectory)"),
                    "\(server.log)")
            }
            let admin = try await server.login("admin@example.com", "admin123")
            #expect(admin.user.role == .admin)
            let catalog: Page<Product> = try await HTTP.send(.GET, server.gateway + "/api/products?limit=100").decode()
            #expect(catalog.items.count >= 20)
            #expect(server.log.contains("admin@example.com / admin123"))
            // Where the cluster really is: as root under /var/lib/ecom, which `postgres` in the data directory links to.
            let clusterDirectory = directory.appendingPathComponent("postgres").resolvingSymlinksInPath().path
            #expect(server.log.contains("database: embedded PostgreSQL in \(clusterDirectory)\n"), "\(server.log)")
            #expect(clusterDirectory.hasPrefix("/var/lib/ecom/") == (geteuid() == 0))
            let key = directory.appendingPathComponent("secret.key")
            let mode = try FileManager.default.attributesOfItem(atPath: key.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)

            let second = try await ServerProcess(
                services: Store.services, waitForReady: false, embeddedDataDirectory: directory)
            let status = await second.stopWhenExited()
            #expect(status != 0)
            #expect(second.log.contains("another ecom serve is using"))
            await second.stop()

            let cluster = try FileManager.default.destinationOfSymbolicLink(atPath: directory.appendingPathComponent("postgres").path)
            #expect(try await Self.processes(matching: cluster) > 0)
            #expect(await server.stop(signal: SIGINT) == 0, "\(server.log)")
            #expect(try await Self.processes(matching: cluster) == 0)
        } catch {
            print(server.log)
            await server.stop()
            throw error
        }
    }

    @Test("a binary copied out of the checkout and started in an empty directory serves the 36 products of the embedded catalog")
    func embeddedCatalogTravelsWithTheBinary() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-elsewhere-\(UUID().uuidString.prefix(8))")
        defer { Self.removeDataDirectory(directory.appendingPathComponent("data")); try? FileManager.default.removeItem(at: directory) }
        // As if installed on PATH: no fixtures/ beside it, above it, or in the working directory.
        let bin = directory.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let binary = bin.appendingPathComponent("ecom")
        if link(TestEnvironment.binary.path, binary.path) != 0 {
            try FileManager.default.copyItem(at: TestEnvironment.binary, to: binary)
        }
        let server = try await ServerProcess(
            environment: ["ECOM_CATALOG_SEED": ""], services: Store.services,
            embeddedDataDirectory: directory.appendingPathComponent("data"), binary: binary, workingDirectory: directory)
        do {
            let catalog: Page<Product> = try await HTTP.send(.GET, server.gateway + "/api/products?limit=100").decode()
            #expect(catalog.items.count == 36)
            #expect(server.log.contains("catalog seed: embedded sample catalog (fixtures/catalog.json, built into this binary)"))
            #expect(await server.stop() == 0, "\(server.log)")
        } catch {
            print(server.log)
            await server.stop()
            throw error
        }
    }

    @Test("the embedded default, told to put its services on 0.0.0.0, refuses to start while the demo password is set")
    func embeddedServicesStayLocal() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-embedded-\(UUID().uuidString.prefix(8))")
        defer { Self.removeDataDirectory(directory) }
        let server = try await ServerProcess(
            arguments: ["--service-host", "0.0.0.0"], services: Store.services, waitForReady: false, embeddedDataDirectory: directory)
        let status = await server.stopWhenExited()
        #expect(status != 0)
        #expect(server.log.contains("refusing to listen on 0.0.0.0:"), "\(server.log)")
    }

    /// A cluster whose data directory has been deleted, as tests and throwaway runs delete theirs.
    static func orphanedCluster() async throws -> (cluster: String, dataDirectory: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-orphan-\(UUID().uuidString.prefix(8))")
        let cluster = EmbeddedPostgres(dataDirectory: directory, logger: Logger(label: "test"))
        _ = try await cluster.start()
        await cluster.stop()
        let clusterDirectory = try FileManager.default.destinationOfSymbolicLink(atPath: directory.appendingPathComponent("postgres").path)
        try FileManager.default.removeItem(at: directory)
        return (clusterDirectory, directory.path)
    }

    /// Removes a data directory with its cluster, which as root lives elsewhere.
    static func removeDataDirectory(_ directory: URL) {
        if let cluster = try? FileManager.default.destinationOfSymbolicLink(atPath: directory.appendingPathComponent("postgres").path) {
            try? FileManager.default.removeItem(atPath: cluster)
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// How many running processes mention `text` on their command line.
    static func processes(matching text: String) async throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
        process.arguments = ["-f", "-c", text]
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("pgrep-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        process.standardOutput = try FileHandle(forWritingTo: output)
        // Waits without blocking a thread of the concurrency pool.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            process.terminationHandler = { _ in continuation.resume() }
            do { try process.run() } catch { continuation.resume() }
        }
        let data = (try? Data(contentsOf: output)) ?? Data()
        return Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
}
