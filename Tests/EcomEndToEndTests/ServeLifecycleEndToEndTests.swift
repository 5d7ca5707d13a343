import EcomAPI
import EcomPostgres
import EcomTestSupport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// How `ecom serve` starts and stops: where it may listen, what stops it, and a database that is not there.
extension UsersEndToEndTests {
    @Test("while the demo admin keeps its published password, the gateway refuses to listen beyond loopback")
    func demoPasswordKeepsGatewayLocal() async throws {
        let server = try await ServerProcess(
            arguments: ["--host", "0.0.0.0"],
            environment: ["ECOM_ADMIN_EMAIL": "admin@example.com", "ECOM_ADMIN_PASSWORD": "admin123"], waitForReady: false)
        let status = await server.stopWhenExited()
        #expect(status != 0)
        #expect(server.log.contains("refusing to listen on 0.0.0.0"), "\(server.log)")
        await server.tearDown()
    }

    @Test(
        "while the demo admin keeps its published password, no listener of its process binds beyond loopback, judged on the resolved address",
        arguments: [
            (["--service-host", "0.0.0.0"], "refusing to listen on 0.0.0.0:"),
            (["--host", "127.evil.example"], "refusing to listen on 127.evil.example:"),
        ])
    func demoPasswordKeepsServicesLocal(arguments: [String], refusal: String) async throws {
        // A named host means services on other hosts: every one this process calls has its URL.
        var peers = ["ECOM_ADMIN_EMAIL": "admin@example.com", "ECOM_ADMIN_PASSWORD": "admin123"]
        for service in ["products", "cart", "orders", "notifications"] { peers["ECOM_\(service.uppercased())_URL"] = "http://127.0.0.1:1" }
        let server = try await ServerProcess(arguments: arguments, environment: peers, waitForReady: false)
        let status = await server.stopWhenExited()
        #expect(status != 0)
        #expect(server.log.contains(refusal), "\(server.log)")
        await server.tearDown()
    }

    @Test("a process listening on a named address beyond loopback refuses to start until told where each service it calls runs")
    func namedAddressNeedsPeerURLs() async throws {
        let server = try await ServerProcess(arguments: ["--only", "gateway", "--host", "127.evil.example"], services: [], waitForReady: false)
        let status = await server.stopWhenExited()
        #expect(status != 0)
        let lines = server.log.split(separator: "\n").filter { $0.contains("beyond loopback") }
        #expect(lines.count == 1, "\(server.log)")
        for service in ["USERS", "PRODUCTS", "CART", "ORDERS", "NOTIFICATIONS"] {
            #expect(lines.first?.contains("ECOM_\(service)_URL") == true, "\(server.log)")
        }
        await server.tearDown()
    }

    @Test("with the demo password changed, services listen beyond loopback when told to")
    func servicesExposedOnceChanged() async throws {
        let server = try await ServerProcess(arguments: ["--service-host", "0.0.0.0"])
        #expect(server.log.contains("users listening on http://0.0.0.0:"), "\(server.log)")
        #expect(try await HTTP.send(.GET, server.service("users") + "/ready").status == .ok)
        await server.tearDown()
    }

    @Test("a port another process holds stops ecom serve with the reason and status 1, not a crash, while clients connect to its other listeners")
    func portTakenWhileConnecting() async throws {
        // A listener of the test's own holds the notifications service's port.
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var held = 0
        for _ in 0..<50 where held == 0 {
            let port = try TestEnvironment.freePort()
            if TestEnvironment.withLoopback(port: port, { bind(holder, $0, $1) }) == 0 && listen(holder, 8) == 0 { held = port }
        }
        try #require(held != 0)
        var ports: [String: Int] = [:]
        for service in Store.services { ports[service] = try TestEnvironment.freePort() }
        ports["notifications"] = held
        let gatewayPort = try TestEnvironment.freePort()
        // Clients keep connecting to the listeners that did start while the process stops: a
        // connection accepted as the group stops must not bring the process down (SIGILL).
        let hammering = Hammer(ports: [gatewayPort, ports["users"]!, ports["products"]!])
        let server = try await ServerProcess(
            services: Store.services, waitForReady: false, gatewayPort: gatewayPort, servicePorts: ports)
        let status = await server.waitForExit()
        hammering.stop()
        #expect(server.process.terminationReason == .exit && status == 1, "status \(status): \(server.log.suffix(3_000))")
        #expect(server.log.contains("Address already in use"), "\(server.log.suffix(3_000))")
        #expect(hammering.connections > 0)
        await server.tearDown()
    }

    @Test("a short SECRET_KEY stops the server with a one-line reason")
    func shortSecret() async throws {
        let server = try await ServerProcess(environment: ["SECRET_KEY": "short"], waitForReady: false)
        let status = await server.stopWhenExited()
        #expect(status != 0)
        let lines = server.log.split(separator: "\n").filter { $0.contains("SECRET_KEY") }
        #expect(lines.count == 1)
        #expect(lines.first?.contains("at least 32 bytes") == true)
        await server.tearDown()
    }

    @Test("SIGTERM stops the server gracefully with status 0, and every request answered before it has its access line")
    func gracefulShutdown() async throws {
        let server = try await ServerProcess()
        let ids = (0..<200).map { "stop-\($0)" }
        for id in ids {
            #expect(try await HTTP.send(.GET, server.gateway + "/openapi.json", headers: [("X-Request-ID", id)]).status == .ok)
        }
        let status = await server.stop(signal: SIGTERM)
        #expect(status == 0, "\(server.log)")
        let logged = Set(server.log.split(separator: "\n").filter { $0.hasSuffix("ms") && $0.contains(" GET /openapi.json 200 ") }.compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("request_id=stop-") }.map { String($0.dropFirst("request_id=".count)) }
        })
        #expect(logged == Set(ids))
        await server.tearDown()
    }
}

extension ServerProcess {
    /// Waits (up to three minutes) for the process to exit by itself.
    func stopWhenExited() async -> Int32 {
        for _ in 0..<1800 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        return await stop()
    }
}

@Suite struct DatabaseOutageTests {
    @Test("with its database unreachable, ecom serve stays alive and says it is not ready")
    func databaseDownAtStart() async throws {
        let closed = try TestEnvironment.freePort()
        let server = try await ServerProcess(
            environment: ["DB_URL": "postgresql://postgres@127.0.0.1:\(closed)/ecom"], services: ["users"], waitForReady: false)
        var health: HTTP.Reply?
        for _ in 0..<100 {
            health = try? await HTTP.send(.GET, server.service("users") + "/health")
            if health != nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(health?.status == .ok)
        #expect(try await HTTP.send(.GET, server.service("users") + "/ready").status == .serviceUnavailable)
        let login = try await HTTP.send(.POST, server.gateway + "/api/login", json: Credentials(email: "a@b.co", password: "password123"))
        #expect(login.status == .serviceUnavailable)
        #expect(login.errorCode == ErrorCode.serviceUnavailable)
        #expect(server.process.isRunning)
        await server.stop()
    }

    @Test(
        "while a service's tables are still being made, its routes answer 503 service_unavailable with Retry-After, not 500; then they serve",
        .enabled(if: TestEnvironment.hasDatabase, "set ECOM_TEST_DATABASE_URL to run PostgreSQL tests"), .timeLimit(.minutes(3)))
    func migratingAnswersUnavailable() async throws {
        let serverURL = try #require(TestEnvironment.databaseURL)
        let database = "ecom_e2e_\(UUID().uuidString.prefix(8).lowercased())"
        try await createDatabaseIfNeeded(serverURL: serverURL, name: database)
        // Another starter holds the users schema's migration lock, so this one waits at its first migration.
        let holder = PostgresPool(url: ServerProcess.url(serverURL, database: database), size: 1, logger: Logger(label: "test"))
        let release = DispatchSemaphore(value: 0)
        let (held, heldContinuation) = AsyncStream<Void>.makeStream()
        let holding = Task {
            try await holder.withConnection { connection in
                try connection.execute("SELECT pg_advisory_lock(\(migrationLockKeys(schema: "users")))")
                heldContinuation.yield()
                release.wait()
                try connection.execute("SELECT pg_advisory_unlock(\(migrationLockKeys(schema: "users")))")
            }
        }
        for await _ in held { break }
        let server = try await ServerProcess(services: ["users"], waitForReady: false, databasePrefix: database)
        let outcome = await Result {
            try await waitWhileRunning("the users service listening", [(server.process, { server.log })]) {
                (try? await HTTP.send(.GET, server.service("users") + "/health", timeout: .seconds(3)))?.status == .ok
            }
            for base in [server.service("users"), server.gateway] {
                let login = try await HTTP.send(.POST, base + "/api/login", json: Self.admin)
                #expect(login.status == .serviceUnavailable && login.errorCode == ErrorCode.serviceUnavailable, "\(base): \(login.text)")
                #expect(login.headers.first(name: "Retry-After") == "1")
            }
            #expect(try await HTTP.send(.GET, server.service("users") + "/ready").status == .serviceUnavailable)
            release.signal()
            try await holding.value
            try await waitWhileRunning("the admin's login once migrated", [(server.process, { server.log })]) {
                try await HTTP.send(.POST, server.gateway + "/api/login", json: Self.admin).status == .ok
            }
        }
        release.signal()
        _ = try? await holding.value
        await holder.shutdown()
        if case .failure = outcome { print(server.log.suffix(4_000)) }
        await server.tearDown()
        try outcome.get()
    }

    static let admin = Credentials(email: "root@example.com", password: "root-password-123")
}

/// Opens and closes TCP connections to some ports of 127.0.0.1, round and round, on a thread of
/// its own, until stopped.
final class Hammer: Sendable {
    private let done = Atomic<Bool>(false)
    private let count = Atomic<Int>(0)

    var connections: Int { count.load(ordering: .relaxed) }

    init(ports: [Int]) {
        Thread { [self] in
            while !done.load(ordering: .relaxed) {
                for port in ports {
                    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                    if TestEnvironment.withLoopback(port: port, { connect(fd, $0, $1) }) == 0 { count.add(1, ordering: .relaxed) }
                    close(fd)
                }
                if connections == 0 { usleep(1_000) }
            }
        }.start()
    }

    /// Tells the thread to stop after its current round.
    func stop() { done.store(true, ordering: .relaxed) }
}
