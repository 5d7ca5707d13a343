import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A webhook endpoint on loopback for tests: records every POST it gets and answers as told.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var eventID: String?
        var type: String?
        var signature: String?
        var body: String
        var at: ContinuousClock.Instant
        /// The path POSTed to: `/hook`, or `/hook/NAME` for several endpoints on one receiver.
        var path: String
    }

    enum Behaviour: Sendable {
        case answer(Int)
        /// Never answers within any test's timeout.
        case hang
        /// Answers 200 after a while.
        case slow(Duration)
    }

    private let received = Mutex<[Received]>([])
    private let behaviour: Mutex<Behaviour>
    private let server = LoopbackServer()

    init(_ behaviour: Behaviour = .answer(200)) {
        self.behaviour = Mutex(behaviour)
    }

    var url: String { server.url + "/hook" }
    var all: [Received] { received.withLock { $0 } }

    func behave(_ behaviour: Behaviour) {
        self.behaviour.withLock { $0 = behaviour }
    }

    /// Starts listening on `port` (a free one when 0) and returns once it does.
    func start(port wanted: Int = 0) async throws {
        let router = Router()
        let respond = { @Sendable [self] (request: Request) async throws -> Response in
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            received.withLock {
                $0.append(
                    Received(
                        eventID: request.headers[HTTPField.Name("Ecom-Event-Id")!], type: request.headers[HTTPField.Name("Ecom-Event-Type")!],
                        signature: request.headers[HTTPField.Name("Ecom-Signature")!], body: body, at: .now, path: request.uri.path))
            }
            switch behaviour.withLock({ $0 }) {
            case .answer(let status):
                return Response(status: .init(code: status))
            case .hang:
                try await Task.sleep(for: .seconds(600))
                return Response(status: .ok)
            case .slow(let wait):
                try await Task.sleep(for: wait)
                return Response(status: .ok)
            }
        }
        router.post("/hook") { request, _ in try await respond(request) }
        router.post("/hook/:name") { request, _ in try await respond(request) }
        try await server.start(router, port: wanted)
    }

    func stop() {
        server.stop()
    }

    /// Whether `signature` (an `Ecom-Signature` value) signs `body` with `secret`, computed here
    /// with Crypto rather than with the server's own code.
    static func verifies(_ signature: String?, body: String, secret: String) -> Bool {
        guard let signature else { return false }
        let parts = signature.split(separator: ",")
        guard let t = parts.first(where: { $0.hasPrefix("t=") })?.dropFirst(2) else { return false }
        let code = HMAC<SHA256>.authenticationCode(for: Data("\(t).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        let hex = code.map { String(format: "%02x", $0) }.joined()
        return parts.contains { $0 == "v1=" + hex }
    }
}

/// A test's HTTP server on a loopback port, started by its owner and stopped by cancelling it.
final class LoopbackServer: Sendable {
    private let port = Mutex<Int?>(nil)
    private let task = Mutex<Task<Void, any Error>?>(nil)

    var url: String { "http://127.0.0.1:\(port.withLock { $0 } ?? 0)" }

    /// Serves `router` on `port` (a free one when 0); returns once it listens.
    func start(_ router: Router<BasicRequestContext>, port wanted: Int = 0) async throws {
        var logger = Logger(label: "loopback")
        // Stopping a test's server by cancelling it is no error worth printing.
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: wanted)),
            onServerRunning: { [self] channel in port.withLock { $0 = channel.localAddress?.port } }, logger: logger)
        task.withLock { $0 = Task { try await app.runService(gracefulShutdownSignals: []) } }
        let deadline = ContinuousClock.now + .seconds(10)
        while port.withLock({ $0 }) == nil {
            guard ContinuousClock.now < deadline else { throw HarnessError("the loopback server did not listen within 10 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func stop() {
        task.withLock { $0?.cancel() }
    }
}
