import AsyncHTTPClient
import EcomAPI
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Slow and numerous clients against a real `ecom serve`: listener caps, header timeouts and database
/// waits keep the store answering its other clients.
@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct ConnectionLimitsTests {
    /// Runs `ecom serve` with an open-file limit of 1,024 where `prlimit` exists.
    static let lowDescriptorLimit = FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit")
        ? ["/usr/bin/prlimit", "--nofile=1024:1024", "--"] : []

    @Test("2,000 half-open requests against the gateway leave /ready, the catalog and checkout answering")
    func halfOpenRequests() async throws {
        let environment = [
            "ECOM_MAX_CONNECTIONS": "400", "ECOM_MAX_CONNECTIONS_PER_CLIENT": "100", "ECOM_SERVICE_MAX_CONNECTIONS": "128",
            // Long enough that the stalled requests stay for the whole test.
            "ECOM_HEADER_TIMEOUT": "600", "ECOM_IDLE_TIMEOUT": "600",
        ]
        try await Store.with(environment: environment, launcher: Self.lowDescriptorLimit) { store in
            if !Self.lowDescriptorLimit.isEmpty { #expect(store.server.log.contains("open_file_limit=1024")) }
            let product = try await store.createProduct(name: "Kettle", stock: 10)
            let shopper = try await store.shopper()
            #expect(try await store.add(product.id, quantity: 2, as: shopper).status == .created)

            // One client address (127.0.0.2) opens 2,000 connections, each with a request line and a header
            // half sent, and stalls.
            var stalled: [RawConnection] = []
            defer { stalled.forEach { $0.close() } }
            for _ in 0..<2000 {
                let connection = try RawConnection(port: store.server.gatewayPort, from: "127.0.0.2")
                connection.send("GET /api/products HTTP/1.1\r\nHost: localhost\r\nX-Stalling: ")
                stalled.append(connection)
            }

            // The gateway holds those within the client's cap and answers the rest 503 and closes them.
            var held = 0
            var refused = 0
            try await store.eventually(timeout: .seconds(60), "every stalled connection held or refused") {
                let states = stalled.map { $0.poll() }
                held = states.filter { $0 == .open }.count
                refused = states.filter { $0 == .closed }.count
                return held + refused == stalled.count && held <= 100
            }
            #expect(held > 0)
            #expect(held <= 100)
            #expect(refused >= 1900)
            let answer = try #require(stalled.lazy.map(\.received).first { !$0.isEmpty })
            let text = String(decoding: answer, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 503"))
            #expect(text.lowercased().contains("retry-after: 1"))
            #expect(text.contains(ErrorCode.serviceBusy))

            // Meanwhile the store answers everyone else.
            let ready = try await HTTP.send(.GET, store.gateway + "/ready")
            #expect(ready.status == .ok, "\(ready.text)")
            let catalog = try await HTTP.send(.GET, store.gateway + "/api/products?q=kettle")
            #expect(catalog.status == .ok)
            #expect(try catalog.decode(Page<Product>.self).items.map(\.id) == [product.id])
            let placed = try await store.checkout(as: shopper)
            #expect(placed.status == .created, "\(placed.text)")
            let order: Order = try placed.decode()
            try await store.eventually("order confirmed") { try await store.order(order.id, as: shopper).status == .confirmed }
            // Still held: a connection that looked open at first may have waited in the accept queue for
            // its 503 on a loaded machine, so fewer may be open now, never more.
            let stillOpen = stalled.filter { $0.poll() == .open }.count
            #expect(stillOpen > 0 && stillOpen <= held, "\(stillOpen) of \(held) held connections still open")
            #expect(store.server.process.isRunning)
            #expect(!store.server.log.contains("Too many open files"))
        }
    }

    @Test("a connection that sends half a request is closed after the header timeout; an idle one stays")
    func headerTimeout() async throws {
        let server = try await ServerProcess(environment: ["ECOM_HEADER_TIMEOUT": "1"], services: ["users"])
        do {
            let idle = try RawConnection(port: server.gatewayPort)
            idle.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let slow = try RawConnection(port: server.gatewayPort)
            slow.send("GET /health HTTP/1.1\r\nHost: localhost\r\nX-Stalling: ")

            try await eventually("the half-sent request's connection closed") { slow.poll() == .closed }
            #expect(slow.received.isEmpty)
            // A connection that sent its whole request is answered and kept alive past the header timeout.
            #expect(idle.poll() == .open)
            #expect(String(decoding: idle.received, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            idle.close()
            slow.close()
        } catch {
            await server.tearDown()
            throw error
        }
        await server.tearDown()
    }

    @Test("a flood of catalog searches does not starve checkout: every order is confirmed")
    func searchFlood() async throws {
        try await Store.with { store in
            let product = try await store.createProduct(name: "Alarm clock", stock: 100)
            for index in 0..<20 { _ = try await store.createProduct(name: "Armchair \(index)", stock: 1) }
            var shoppers: [TokenPair] = []
            for _ in 0..<6 {
                let shopper = try await store.shopper()
                #expect(try await store.add(product.id, quantity: 1, as: shopper).status == .created)
                shoppers.append(shopper)
            }

            var configuration = HTTPClient.Configuration(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 128))
            configuration.httpVersion = .http1Only
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let tally = Tally()
            let gateway = store.gateway
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Anonymous searches, 96 at a time, each worker bounded to 400 requests or until checkout ends.
                for _ in 0..<96 {
                    group.addTask {
                        for _ in 0..<400 where !tally.isStopped {
                            let request = HTTPClientRequest(url: gateway + "/api/products?q=a")
                            let outcome: String
                            do {
                                let response = try await client.execute(request, timeout: .seconds(60))
                                let body = try await response.body.collect(upTo: 1 << 20)
                                let code = (try? JSONDecoder.ecom.decode(APIErrorBody.self, from: Data(buffer: body)))?.error.code
                                outcome = "\(response.status.code)" + (code.map { " \($0)" } ?? "")
                            } catch {
                                outcome = "error"
                            }
                            tally.count(outcome)
                        }
                    }
                }
                try await Task.sleep(for: .seconds(1))
                for shopper in shoppers {
                    let placed = try await store.checkout(as: shopper)
                    #expect(placed.status == .created, "\(placed.text)")
                    let order: Order = try placed.decode()
                    try await store.eventually("order confirmed during the flood") {
                        try await store.order(order.id, as: shopper).status == .confirmed
                    }
                }
                tally.stop()
                try await group.waitForAll()
            }
            try await client.shutdown()
            let seen = tally.outcomes
            #expect(seen["200", default: 0] > 0, "\(seen)")
            // A search is answered or refused as busy, nothing else.
            #expect(Set(seen.keys).subtracting(["200", "503 \(ErrorCode.serviceBusy)"]).isEmpty, "\(seen)")
            #expect(try await store.product(product.id).stock == 100 - shoppers.count)
        }
    }
}

/// Outcomes of the flood's requests, and the switch that ends it.
private final class Tally: Sendable {
    private let state = Mutex((outcomes: [String: Int](), stopped: false))

    var outcomes: [String: Int] { state.withLock { $0.outcomes } }
    var isStopped: Bool { state.withLock { $0.stopped } }

    func count(_ outcome: String) {
        state.withLock { $0.outcomes[outcome, default: 0] += 1 }
    }

    func stop() {
        state.withLock { $0.stopped = true }
    }
}

/// Polls `condition` until it holds, for up to a minute.
private func eventually(_ what: Comment, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(60)
    while try await !condition() {
        try #require(ContinuousClock.now < deadline, "timed out waiting: \(what)")
        try await Task.sleep(for: .milliseconds(100))
    }
}

/// A TCP connection driven by hand, to send part of a request and see what the server does with it.
final class RawConnection: @unchecked Sendable {
    enum State { case open, closed }

    private var fd: Int32
    private(set) var received = Data()
    private var state = State.open

    /// Connects to `127.0.0.1:port` from the loopback address `source`.
    init(port: Int, from source: String = "127.0.0.1") throws {
        // Close-on-exec, so that the servers other tests start meanwhile do not inherit 2,000 sockets
        // (PostgreSQL refuses to start when its inherited descriptors leave it too few of its own).
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errno)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func address(_ host: String, _ port: Int) -> sockaddr_in {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr(host)
            address.sin_port = UInt16(port).bigEndian
            return address
        }
        var local = address(source, 0)
        var remote = address("127.0.0.1", port)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) } }
        guard bound == 0, connected == 0 else {
            let code = errno
            Glibc.close(fd)
            throw HarnessError("connect from \(source): errno \(code)")
        }
    }

    /// Sends `text`; a connection the server closed already just fails quietly.
    func send(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads what has arrived, without waiting, and says whether the server still keeps the connection.
    func poll() -> State {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while state == .open {
            let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count > 0 {
                received.append(contentsOf: buffer[0..<count])
            } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                state = .closed
            } else {
                break
            }
        }
        return state
    }

    func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    deinit { close() }
}
