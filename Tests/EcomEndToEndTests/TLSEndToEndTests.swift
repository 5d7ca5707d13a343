import AsyncHTTPClient
import EcomAPI
import EcomPostgres
import EcomTestSupport
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import Testing

/// HTTPS listeners, verified HTTPS from the gateway to the services, and PostgreSQL with
/// `sslmode=verify-full`, all under a throwaway certificate authority (`ecom_test_ca`).
@Suite(.serialized, .enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct TLSEndToEndTests {
    @Test(
        "the services and the gateway serve HTTPS; the gateway calls the services over verified HTTPS, the services reach PostgreSQL with verify-full; another authority is refused at each",
        .timeLimit(.minutes(5)))
    func httpsEverywhere() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-tls-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func file(_ name: String) -> String { directory + "/" + name }
        try await Shell.run("ecom_test_ca '\(directory)' good && ecom_test_ca '\(directory)' rogue")
        let output = try await Shell.run(
            #"ECOM_CI_NO_TRAP=1 ECOM_PG_SSL_CERT='\#(file("good-server.pem"))' ECOM_PG_SSL_KEY='\#(file("good-server.key"))' start_throwaway_postgres >&2 && printf '%s\n' "$ECOM_TEST_POSTGRES_DIR" "$ECOM_TEST_DATABASE_URL""#)
        let lines = output.split(separator: "\n").map(String.init)
        let postgresDirectory = lines[lines.count - 2]
        let port = try #require(URLComponents(string: lines[lines.count - 1])?.port)
        func databaseURL(_ name: String, authority: String = "good-ca.pem") -> String {
            "postgresql://postgres@127.0.0.1:\(port)/\(name)?sslmode=verify-full&sslrootcert=\(file(authority))"
        }
        let client = try Self.client(trusting: file("good-ca.pem"))
        var processes: [ServerProcess] = []
        do {
            let tls = ["ECOM_TLS_CERTIFICATE": file("good-server.pem"), "ECOM_TLS_KEY": file("good-server.key")]
            var ports: [String: Int] = [:]
            for service in Store.services { ports[service] = try TestEnvironment.freePort() }
            let services = try await ServerProcess(
                arguments: ["--only", Store.services.joined(separator: ",")],
                environment: tls.merging(["DB_URL": databaseURL("tls")]) { $1 }, services: [], waitForReady: false, servicePorts: ports)
            processes.append(services)
            var peers: [String: String] = [:]
            for (service, port) in ports { peers["ECOM_\(service.uppercased())_URL"] = "https://127.0.0.1:\(port)" }
            let gateway = try await ServerProcess(
                arguments: ["--only", "gateway"], environment: tls.merging(peers) { $1 }.merging(["ECOM_TLS_CA": file("good-ca.pem")]) { $1 },
                services: [], waitForReady: false)
            processes.append(gateway)
            let rogue = try await ServerProcess(
                arguments: ["--only", "gateway"], environment: tls.merging(peers) { $1 }.merging(["ECOM_TLS_CA": file("rogue-ca.pem")]) { $1 },
                services: [], waitForReady: false)
            processes.append(rogue)
            let base = "https://127.0.0.1:\(gateway.gatewayPort)"
            // The gateway's readiness asks only whether the services answer; each service's, whether its tables are made.
            try await Self.eventually("the gateway and the services ready over HTTPS", processes) {
                var ready = try await Self.send(client, .GET, base + "/ready").status == .ok
                for port in ports.values where ready { ready = try await Self.send(client, .GET, "https://127.0.0.1:\(port)/ready").status == .ok }
                return ready
            }
            #expect(services.log.contains("users listening on https://"), "\(services.log.suffix(2_000))")

            let registered = try await Self.send(client, .POST, base + "/api/users", json: Credentials(email: "tls@shop.test", password: "password123"))
            #expect(registered.status == .created, "\(registered.text)")
            let login = try await Self.send(client, .POST, base + "/api/login", json: Credentials(email: "tls@shop.test", password: "password123"))
            #expect(login.status == .ok, "\(login.text)")
            // The products service's first request opens its first TLS connection to PostgreSQL: on a
            // machine running a dozen such tests at once, it may answer 503 or 504 first, as it should.
            var products = try await Self.send(client, .GET, base + "/api/products")
            var transient: [UInt] = []
            while [.serviceUnavailable, .gatewayTimeout].contains(products.status), transient.count < 10 {
                transient.append(products.status.code)
                try await Task.sleep(for: .milliseconds(500))
                products = try await Self.send(client, .GET, base + "/api/products")
            }
            #expect(products.status == .ok, "\(products.text) after \(transient)")
            if products.status != .ok { print(services.log.suffix(4_000)) }
            // Plain HTTP on an HTTPS listener gets no answer.
            await #expect(throws: (any Error).self) { try await HTTP.send(.GET, "http://127.0.0.1:\(gateway.gatewayPort)/health", timeout: .seconds(5)) }

            // The gateway that trusts another authority cannot verify the services: not ready, and its
            // requests answered as for an unreachable service (502), its log saying why.
            let rogueBase = "https://127.0.0.1:\(rogue.gatewayPort)"
            try await Self.eventually("the other gateway listening", processes) { try await Self.send(client, .GET, rogueBase + "/health").status == .ok }
            #expect(try await Self.send(client, .GET, rogueBase + "/ready").status == .serviceUnavailable)
            let refused = try await Self.send(client, .POST, rogueBase + "/api/login", json: Credentials(email: "tls@shop.test", password: "password123"))
            #expect(refused.status == .badGateway && refused.errorCode == "bad_gateway", "\(refused.text)")
            // The log line is read from the process's pipe, so it may land just after the answer.
            try await Self.eventually("the other gateway logging why", processes) { rogue.log.contains("upstream unreachable") }

            // The services' connections to PostgreSQL are encrypted; one that trusts another authority is refused.
            // (Autovacuum workers show in pg_stat_ssl unencrypted: only client backends count.)
            try await ThrowawayDatabase.withPool(url: databaseURL("postgres"), size: 1) { pool in
                let encrypted: Int = try await pool.query(
                    """
                    SELECT count(*) AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                    WHERE s.ssl AND a.datname LIKE 'tls_%' AND a.backend_type = 'client backend'
                    """
                )[0].decode("n")
                #expect(encrypted > 0)
                let plain: Int = try await pool.query(
                    """
                    SELECT count(*) AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                    WHERE NOT s.ssl AND a.datname LIKE 'tls_%' AND a.backend_type = 'client backend'
                    """
                )[0].decode("n")
                #expect(plain == 0)
            }
            await #expect(throws: SQLError.self) {
                try await ThrowawayDatabase.withPool(url: databaseURL("postgres", authority: "rogue-ca.pem"), size: 1) { pool in
                    _ = try await pool.query("SELECT 1")
                }
            }
        } catch {
            for process in processes { print(process.log.suffix(4_000)) }
            try? await client.shutdown()
            for process in processes { await process.stop() }
            _ = try? await Shell.run("stop_throwaway_postgres '\(postgresDirectory)'; rm -rf '\(directory)'")
            throw error
        }
        try? await client.shutdown()
        for process in processes { await process.stop() }
        _ = try? await Shell.run("stop_throwaway_postgres '\(postgresDirectory)'; rm -rf '\(directory)'")
    }

    @Test(
        "events over amqps:// to the broker's TLS listener: a checkout confirms on TLS connections, the dead-letter commands read over it; without the authority the store is not ready",
        .enabled(if: TestBroker.isAvailable, Comment(rawValue: TestBroker.skipReason)), .timeLimit(.minutes(5)))
    func amqpsCheckout() async throws {
        let authority = try #require(TestBroker.authority, "the test broker has a TLS listener (.ci/lib.sh starts it)")
        try await TestBroker.withVirtualHost { host in
            let url = try #require(host.amqpsURL)
            try await Store.with(environment: ["ECOM_AMQP_URL": url, "ECOM_TLS_CA": authority]) { store in
                #expect(store.server.log.contains("events: RabbitMQ at amqps://guest@localhost:"), "\(store.server.log.suffix(2_000))")
                let product = try await store.createProduct(stock: 5)
                let shopper = try await store.shopper("amqps")
                try await store.add(product.id, quantity: 2, as: shopper)
                let order: Order = try await store.checkout(as: shopper).decode()
                try await store.eventually("the order confirmed") { try await store.order(order.id, as: shopper).status == .confirmed }
                #expect(try await store.product(product.id).stock == 3)
                let connections = try await host.connectionsUseTLS()
                #expect(!connections.isEmpty && !connections.contains(false), "\(connections)")

                let cli = try CLI(server: store.gateway)
                let listed = try await cli.run(
                    ["admin", "dead-letters", "list", "--json"], environment: ["RABBITMQ_URL": url, "ECOM_TLS_CA": authority])
                #expect(listed.status == 0 && listed.array?.isEmpty == true, "\(listed.stderr)")
                let untrusted = try await cli.run(["admin", "dead-letters", "list"], environment: ["RABBITMQ_URL": url])
                #expect(untrusted.status == 69 && untrusted.stderr.contains("verif"), "\(untrusted.stderr)")
            }

            // The system's authorities alone do not vouch for the broker: the services run, not ready.
            let untrusting = try await ServerProcess(environment: ["ECOM_AMQP_URL": url], services: Store.services, waitForReady: false)
            do {
                try await Self.eventually("the store answering while its broker is not trusted", [untrusting]) {
                    let health = try? await HTTP.send(.GET, untrusting.gateway + "/health", timeout: .seconds(3))
                    return health?.status == .ok && untrusting.log.contains("verif")
                }
                #expect(try await HTTP.send(.GET, untrusting.service("orders") + "/ready").status == .serviceUnavailable)
            } catch {
                print(untrusting.log.suffix(4_000))
                await untrusting.tearDown()
                throw error
            }
            await untrusting.tearDown()
        }
    }

    static func client(trusting authority: String) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(authority))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    static func send(_ client: HTTPClient, _ method: HTTPMethod, _ url: String, json: (any Encodable)? = nil) async throws -> HTTP.Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONEncoder.ecom.encode(json)))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 4 * 1024 * 1024)
        return HTTP.Reply(status: response.status, headers: response.headers, body: Data(buffer: body))
    }

    static func eventually(_ what: String, _ processes: [ServerProcess], _ condition: () async throws -> Bool) async throws {
        try await waitWhileRunning(what, processes.map { server in (server.process, { server.log }) }, condition)
    }
}
