import EcomAPI
import EcomTestSupport
import Foundation
import NIOHTTP1
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// ecom on four "hosts" (network namespaces on one bridge, `ecom_netns_lab_start` in
/// `.ci/lib.sh`), each with an address of its own and nothing on a shared loopback: the users
/// service, the other services together (events in-process), and two gateways. PostgreSQL
/// listens on the bridge.
@Suite(
    .serialized,
    .enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason),
    .enabled(if: getuid() == 0, "network namespaces need root"))
struct SeparateHostsTests {
    @Test(
        "services on hosts of their own find one another by address; a checkout through one gateway is confirmed, and a second gateway answers alike",
        .timeLimit(.minutes(10)))
    func separateHosts() async throws {
        let lab = try await NetworkLab.start(hosts: 4)
        var processes: [LabProcess] = []
        do {
            let database = try await lab.postgres()
            let (usersHost, servicesHost, gatewayHost, secondGatewayHost) = (lab.hosts[0], lab.hosts[1], lab.hosts[2], lab.hosts[3])
            var common = [
                "SECRET_KEY": ServerProcess.secret, "ECOM_ADMIN_EMAIL": "root@example.com", "ECOM_ADMIN_PASSWORD": "root-password-123",
                "LOG_LEVEL": "info", "ECOM_DB_POOL_SIZE": "3", "ECOM_USERS_URL": "http://\(usersHost.address):8081",
            ]
            for (service, port) in [("products", 8082), ("cart", 8083), ("orders", 8084), ("notifications", 8085)] {
                common["ECOM_\(service.uppercased())_URL"] = "http://\(servicesHost.address):\(port)"
            }
            processes.append(
                try LabProcess(
                    on: usersHost, ["--only", "users", "--service-host", usersHost.address],
                    environment: common.merging(["DB_URL": database + "/lab_users"]) { $1 }))
            processes.append(
                try LabProcess(
                    on: servicesHost, ["--only", "products,cart,orders,notifications", "--service-host", servicesHost.address],
                    environment: common.merging(["DB_URL": database + "/lab"]) { $1 }))
            for host in [gatewayHost, secondGatewayHost] {
                processes.append(try LabProcess(on: host, ["--only", "gateway", "--host", host.address], environment: common))
            }
            let gateways = [gatewayHost, secondGatewayHost].map { "http://\($0.address):8080" }
            // Each service's own readiness too: a service apart from the users service serves
            // admin routes once it has read the revocation feed, which the gateway's does not wait for.
            let services = [common["ECOM_USERS_URL"]!] + ["products", "cart", "orders", "notifications"].map { common["ECOM_\($0.uppercased())_URL"]! }
            for base in gateways + services {
                try await Self.eventually("\(base) ready", processes) { try await HTTP.send(.GET, base + "/ready").status == .ok }
            }

            let admin = try await Self.login(gateways[0], "root@example.com", "root-password-123")
            let created = try await HTTP.send(
                .POST, gateways[0] + "/admin/products",
                json: ProductCreate(sku: "LAB-1", name: "Lab lamp", description: "far away", priceCents: 2500, stock: 5, isActive: true),
                token: admin.token)
            try #require(created.status == .created, "\(created.text)")
            let product: Product = try created.decode()
            let registered = try await HTTP.send(.POST, gateways[1] + "/api/users", json: Credentials(email: "far@shop.test", password: "password123"))
            try #require(registered.status == .created, "\(registered.text)")
            // Signed in through one gateway, shopping through the other: the same keys and services behind both.
            let shopper = try await Self.login(gateways[1], "far@shop.test", "password123")
            let added = try await HTTP.send(.POST, gateways[0] + "/api/cart/items", json: CartItemAdd(productID: product.id, quantity: 2), token: shopper.token)
            #expect(added.status == .created || added.status == .ok, "\(added.text)")
            let placed = try await HTTP.send(.POST, gateways[0] + "/api/orders", token: shopper.token)
            try #require(placed.status == .created, "\(placed.text)")
            let order: Order = try placed.decode()
            try await Self.eventually("order confirmed", processes) {
                try await HTTP.send(.GET, gateways[1] + "/api/orders/\(order.id.lowercased)", token: shopper.token).decode(Order.self).status == .confirmed
            }
            for path in ["/api/products/\(product.id.lowercased)", "/api/orders/\(order.id.lowercased)", "/api/cart"] {
                let answers = try await gateways.asyncMap { try await HTTP.send(.GET, $0 + path, token: shopper.token) }
                #expect(answers.allSatisfy { $0.status == .ok }, "\(path)")
                #expect(answers[0].body == answers[1].body, "\(path): \(answers[0].text) ≠ \(answers[1].text)")
            }
            let stock = try await HTTP.send(.GET, gateways[1] + "/admin/products/\(product.id.lowercased)", token: admin.token).decode(Product.self)
            #expect(stock.stock == 3)
            // Each listener is on its host's address, not on a loopback the others could not reach anyway.
            #expect(processes[0].log.contains(usersHost.address) && processes[1].log.contains(servicesHost.address), "\(processes[1].log.suffix(3_000))")
        } catch {
            for process in processes { print(process.log.suffix(4_000)) }
            for process in processes { await process.stop() }
            await lab.remove()
            throw error
        }
        for process in processes { await process.stop() }
        await lab.remove()
    }

    static func login(_ gateway: String, _ email: String, _ password: String) async throws -> TokenPair {
        let reply = try await HTTP.send(.POST, gateway + "/api/login", json: Credentials(email: email, password: password))
        try #require(reply.status == .ok, "login failed: \(reply.text)")
        return try reply.decode()
    }

    static func eventually(_ what: String, _ processes: [LabProcess], _ condition: () async throws -> Bool) async throws {
        try await waitWhileRunning(what, processes.map { lab in (lab.process, { lab.log }) }, condition)
    }
}

/// Waits up to two minutes for `condition`, failing early, with its log, when one of `processes` exited.
func waitWhileRunning(
    _ what: String, _ processes: [(process: Process, log: () -> String)], _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + .seconds(120)
    while ContinuousClock.now < deadline {
        if let exited = processes.first(where: { !$0.process.isRunning }) {
            throw HarnessError("a process exited while waiting for \(what): \(exited.log().suffix(3_000))")
        }
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(250))
    }
    throw HarnessError("timed out waiting for \(what)")
}

/// Network namespaces on a bridge of their own, and a PostgreSQL listening on that bridge.
final class NetworkLab: Sendable {
    struct Host: Sendable {
        var namespace: String
        var address: String
    }

    let directory: String
    let hosts: [Host]
    let bridgeAddress: String
    private let postgresDirectory = Mutex<String?>(nil)

    private init(directory: String, hosts: [Host], bridgeAddress: String) {
        self.directory = directory
        self.hosts = hosts
        self.bridgeAddress = bridgeAddress
    }

    static func start(hosts count: Int) async throws -> NetworkLab {
        let directory = try await Shell.run("ecom_netns_lab_start \(count)").trimmingCharacters(in: .whitespacesAndNewlines)
        let hosts = try String(contentsOfFile: directory + "/hosts", encoding: .utf8).split(separator: "\n").map { line in
            let parts = line.split(separator: " ").map(String.init)
            return Host(namespace: parts[0], address: parts[1])
        }
        let bridge = try String(contentsOfFile: directory + "/bridge_address", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return NetworkLab(directory: directory, hosts: hosts, bridgeAddress: bridge)
    }

    /// Starts a PostgreSQL that the hosts reach on the bridge; returns its URL without a database.
    func postgres() async throws -> String {
        let output = try await Shell.run(
            #"ECOM_CI_NO_TRAP=1 ECOM_PG_LISTEN=\#(bridgeAddress) start_throwaway_postgres >&2 && printf '%s\n' "$ECOM_TEST_POSTGRES_DIR" "$ECOM_TEST_DATABASE_URL""#)
        let lines = output.split(separator: "\n").map(String.init)
        guard lines.count >= 2, let url = URLComponents(string: lines[lines.count - 1]), let port = url.port else {
            throw HarnessError("the lab's PostgreSQL did not start: \(output)")
        }
        postgresDirectory.withLock { $0 = lines[lines.count - 2] }
        return "postgresql://postgres@\(bridgeAddress):\(port)"
    }

    func remove() async {
        if let postgres = postgresDirectory.withLock({ $0 }) { _ = try? await Shell.run("stop_throwaway_postgres '\(postgres)'") }
        _ = try? await Shell.run("ecom_netns_lab_stop '\(directory)'")
    }
}

/// `ecom serve` in a lab host's namespace (`ip netns exec`, which becomes ecom), its output in a file.
final class LabProcess: @unchecked Sendable {
    let process = Process()
    private let output: URL

    init(on host: NetworkLab.Host, _ arguments: [String], environment: [String: String]) throws {
        output = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-lab-\(host.namespace)-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", host.namespace, TestEnvironment.binary.path, "serve"] + arguments
        var inherited = ProcessInfo.processInfo.environment
        for name in ["DB_URL", "DATABASE_URL", "ECOM_DATABASE_URL", "ECOM_AMQP_URL", "RABBITMQ_URL"] { inherited[name] = nil }
        process.environment = inherited.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    func stop() async {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        for _ in 0..<300 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: output)
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
