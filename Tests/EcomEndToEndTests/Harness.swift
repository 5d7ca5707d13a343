import AsyncHTTPClient
import EcomAPI
import EcomPostgres
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The environment of the database-backed end-to-end tests.
enum TestEnvironment {
    static let databaseURL = ProcessInfo.processInfo.environment["ECOM_TEST_DATABASE_URL"]
    static let hasDatabase = databaseURL != nil
    static let skipReason: Comment = "set ECOM_TEST_DATABASE_URL to a throwaway PostgreSQL superuser URL (.ci/test does)"

    /// The built `ecom` executable, next to the test bundle.
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["ECOM_BINARY"] { return URL(fileURLWithPath: path) }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("ecom")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/ecom")
    }

    /// The ports `freePort()` picks from: below the kernel's ephemeral range (read from
    /// /proc, 32768 by default), so that no outgoing connection of the tests takes one before
    /// the server binds it, and apart from `ecom_free_port`'s 20000–32767 in .ci/lib.sh: a
    /// broker node a test stops and starts again takes its ports back, and a server killed
    /// and started again takes back its own.
    static let testPorts: Range<Int> = {
        let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
            .split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        let ephemeralStart = range?.first ?? 32_768
        return 10_000..<max(12_000, min(ephemeralStart, 20_000))
    }()

    /// A port nothing listens on right now, from `testPorts`.
    static func freePort() throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: testPorts)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            if withLoopback(port: port, { bind(fd, $0, $1) }) == 0 { return port }
        }
        throw HarnessError("no free port")
    }

    /// Calls `body` with 127.0.0.1:`port` as a socket address and its length, for `bind` or `connect`.
    static func withLoopback<T>(port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }

    /// The server could not listen because another process took one of its ports.
    var portTaken: Bool { description.contains("Address already in use") }
}

/// An `ecom serve` process on free ports with its own databases, stopped at the end of a test.
final class ServerProcess: @unchecked Sendable {
    private(set) var process = Process()
    private(set) var gatewayPort: Int
    private(set) var servicePorts: [String: Int]
    let databasePrefix: String
    let output: URL
    /// Whether the test stopped it (it did not exit by itself).
    private(set) var stopped = false
    /// Where the current launch's output starts in `output`.
    private var attemptStart = 0
    static let secret = "end-to-end-test-signing-key-0123456789abcdef"

    var gateway: String { "http://127.0.0.1:\(gatewayPort)" }
    func service(_ name: String) -> String { "http://127.0.0.1:\(servicePorts[name]!)" }

    /// Starts `ecom serve` with an explicit test database and waits until it is ready.
    ///
    /// Ports are picked at random; if another process takes one first, the server is started
    /// again on new ones. A given gateway port is kept (clients hold it): a start that finds
    /// it, or a service's port, still taken waits a little and tries again, and the services'
    /// ports move if one stays taken, unless `keepServicePorts` (another process calls them).
    init(
        arguments: [String] = [], environment extra: [String: String] = [:], services: [String] = ["users"],
        waitForReady: Bool = true, databasePrefix: String? = nil, gatewayPort: Int? = nil, servicePorts: [String: Int]? = nil,
        embeddedDataDirectory: URL? = nil, launcher: [String] = [], binary: URL? = nil, workingDirectory: URL? = nil,
        keepServicePorts: Bool = false
    ) async throws {
        let fixedGateway = gatewayPort != nil
        self.gatewayPort = try gatewayPort ?? TestEnvironment.freePort()
        var ports: [String: Int] = [:]
        for service in services { ports[service] = try TestEnvironment.freePort() }
        self.servicePorts = servicePorts ?? ports
        self.databasePrefix = databasePrefix ?? "ecom_e2e_\(UUID().uuidString.prefix(8).lowercased())"
        output = FileManager.default.temporaryDirectory.appendingPathComponent("\(self.databasePrefix)-\(UUID().uuidString.prefix(6)).log")

        let attempts = 5
        for attempt in 1...attempts {
            try launch(
                arguments: arguments, extra: extra, embeddedDataDirectory: embeddedDataDirectory, launcher: launcher,
                binary: binary, workingDirectory: workingDirectory)
            guard waitForReady else { return }
            do {
                try await self.waitForReady()
                return
            } catch let error as HarnessError where error.portTaken && attempt < attempts {
                await stop(signal: SIGKILL)
                if fixedGateway {
                    // A port of a killed server may take a moment to be released; first try the same ones again.
                    try await Task.sleep(for: .seconds(attempt))
                    guard attempt >= 2, !keepServicePorts else { continue }
                } else {
                    self.gatewayPort = try TestEnvironment.freePort()
                }
                for service in self.servicePorts.keys { self.servicePorts[service] = try TestEnvironment.freePort() }
            }
        }
    }

    /// `launcher` is a command that runs `ecom` in its place (`prlimit --nofile=1024 --`), which must exec it.
    private func launch(
        arguments: [String], extra: [String: String], embeddedDataDirectory: URL?, launcher: [String], binary: URL?,
        workingDirectory: URL?
    ) throws {
        stopped = false
        var environment = ProcessInfo.processInfo.environment
        for name in ["DB_URL", "DATABASE_URL", "ECOM_DATABASE_URL", "SECRET_KEY", "ECOM_SECRET_KEY"] { environment[name] = nil }
        environment["SECRET_KEY"] = Self.secret
        environment["PORT"] = String(gatewayPort)
        environment["ECOM_ADMIN_EMAIL"] = "root@example.com"
        environment["ECOM_ADMIN_PASSWORD"] = "root-password-123"
        environment["LOG_LEVEL"] = "info"
        // Many servers run at once in a test run; keep each one's share of the database's connections small.
        environment["ECOM_DB_POOL_SIZE"] = "3"
        for (service, port) in servicePorts { environment["ECOM_\(service.uppercased())_PORT"] = String(port) }
        if embeddedDataDirectory != nil {
            // The embedded default: its own cluster, key and demo admin.
            for name in ["SECRET_KEY", "ECOM_ADMIN_EMAIL", "ECOM_ADMIN_PASSWORD"] { environment[name] = nil }
        } else if let url = TestEnvironment.databaseURL {
            environment["DB_URL"] = Self.url(url, database: databasePrefix)
        }
        environment.merge(extra) { $1 }
        process = Process()
        let binary = binary ?? TestEnvironment.binary
        process.executableURL = launcher.first.map { URL(fileURLWithPath: $0) } ?? binary
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }
        // Run only the services asked for (each on its own free port), unless the test says otherwise.
        let subset = Set(servicePorts.keys) == Set(Store.services) || arguments.contains("--only")
            ? [] : ["--only", (["gateway"] + servicePorts.keys.sorted()).joined(separator: ",")]
        process.arguments = (launcher.isEmpty ? [] : launcher.dropFirst() + [binary.path])
            + ["serve"] + (embeddedDataDirectory.map { ["--data-dir", $0.path] } ?? []) + subset + arguments
        process.environment = environment
        // A relaunch on new ports appends, so the log keeps what the first attempt said.
        if !FileManager.default.fileExists(atPath: output.path) {
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: output)
        attemptStart = Int(try handle.seekToEnd())
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    static func url(_ url: String, database: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + database
        return components.string ?? url
    }

    func waitForReady(timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let log = String(self.log.utf8.dropFirst(attemptStart)) ?? ""
            guard process.isRunning, !log.contains("\necom serve: ") else { throw HarnessError("ecom serve exited: \(log)") }
            // The gateway's own /ready also wants every upstream, which a subset does not run.
            // Probes give up quickly: a port another process took may accept and never answer,
            // and the next round then sees that the server exited.
            var ready = (try? await HTTP.send(.GET, gateway + "/health", timeout: .seconds(3)))?.status == .ok
            for base in servicePorts.keys.map(service) {
                let response = try? await HTTP.send(.GET, base + "/ready", timeout: .seconds(3))
                if response?.status != .ok { ready = false }
            }
            if ready { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw HarnessError("ecom serve not ready in time: \(log)")
    }

    var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    /// Sends `signal` (SIGTERM by default) and waits for the exit status, SIGKILL after 30 s.
    ///
    /// It polls rather than blocking in `waitUntilExit()`: a blocked thread of the small Swift
    /// concurrency pool would stall every other test of the run.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) async -> Int32 {
        stopped = true
        if process.isRunning { kill(process.processIdentifier, signal) }
        for _ in 0..<300 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            for _ in 0..<100 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        }
        return process.isRunning ? -1 : process.terminationStatus
    }

    /// Waits for the process to exit by itself (up to a minute) and returns its status, -1 if it did not.
    func waitForExit() async -> Int32 {
        for _ in 0..<600 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        return process.isRunning ? -1 : process.terminationStatus
    }

    /// Stops the server and drops its databases.
    func tearDown() async {
        await stop()
        if let url = TestEnvironment.databaseURL {
            let admin = PostgresPool(url: url, size: 1, logger: Logger(label: "test"))
            let names = (try? await admin.query(
                "SELECT datname FROM pg_database WHERE datname LIKE \(databasePrefix + "%")"
            ).map { try $0.decode("datname", as: String.self) }) ?? []
            for name in names {
                _ = try? await admin.execute("DROP DATABASE IF EXISTS \"\(unescaped: name)\" WITH (FORCE)")
            }
            await admin.shutdown()
        }
        try? FileManager.default.removeItem(at: output)
    }
}

/// A small HTTP helper over AsyncHTTPClient for the tests.
enum HTTP {
    struct Reply {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: Data

        func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
            try JSONDecoder.ecom.decode(T.self, from: body)
        }

        var errorCode: String? { (try? decode(APIErrorBody.self))?.error.code }
        var errorField: String? { (try? decode(APIErrorBody.self))?.error.field }
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
    }

    static func send(
        _ method: HTTPMethod, _ url: String, json: (any Encodable)? = nil, raw: String? = nil,
        token: String? = nil, headers: [(String, String)] = [], timeout: TimeAmount = .seconds(90)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONEncoder.ecom.encode(json)))
        } else if let raw {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: raw))
        }
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        if response.headers.first(name: "Content-Type")?.hasPrefix("text/event-stream") == true {
            // A stream stays open: its first lines stand for its body, and leaving hangs up.
            var parts = response.body.makeAsyncIterator()
            let first = try await parts.next() ?? ByteBuffer()
            return Reply(status: response.status, headers: response.headers, body: Data(buffer: first))
        }
        let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Reply(status: response.status, headers: response.headers, body: Data(buffer: body))
    }
}

extension ServerProcess {
    /// Starts `ecom serve` again on the same databases and ports as a stopped server, with
    /// `environment` instead of the extra environment it had. The services' ports move if one
    /// is taken by another process meanwhile, unless `keepServicePorts`.
    convenience init(
        reusing previous: ServerProcess, environment: [String: String] = [:], keepServicePorts: Bool = false
    ) async throws {
        try await self.init(
            environment: environment, services: Array(previous.servicePorts.keys), databasePrefix: previous.databasePrefix,
            gatewayPort: previous.gatewayPort, servicePorts: previous.servicePorts, keepServicePorts: keepServicePorts)
    }
}
