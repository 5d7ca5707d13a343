import EcomTestSupport
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import EcomServerKit

@Suite struct AccessLogTests {
    /// A router whose access lines go to the recorder, through the logger given to its application.
    static func loggedRouter() -> (LogRecorder, Logger, Router<EcomRequestContext>) {
        let recorder = LogRecorder()
        let router = Router(context: EcomRequestContext.self)
        router.add(middleware: RequestLogMiddleware(service: "test"))
        return (recorder, Logger(label: "test") { _ in recorder }, router)
    }

    @Test("a request a client sent has its access line at info; one answered in memory for a caller in the process, at debug")
    func levels() async throws {
        let (recorder, logger, router) = Self.loggedRouter()
        router.get("/thing") { _, _ in "ok" }

        try await Application(router: router, logger: logger).test(.router) { client in
            try await client.execute(uri: "/thing", method: .get) { #expect($0.status == .ok) }
        }
        let accessLines = { recorder.messages.filter { $0.contains("GET /thing 200 ") } }
        #expect(accessLines().count == 1)
        #expect(accessLines().first?.hasPrefix("info ") == true, "\(accessLines())")

        let answer = try await InProcessService(router: router, logger: logger).respond(.get, "/thing", headers: [:], body: nil, timeout: .seconds(5))
        #expect(answer.status == .ok)
        #expect(accessLines().count == 2)
        #expect(accessLines().last?.hasPrefix("debug ") == true, "\(accessLines())")
    }

    @Test("a probe that passed has its access line at debug; one that failed, and any other route, at info")
    func probes() async throws {
        let (recorder, logger, router) = Self.loggedRouter()
        let ready = Atomic(true)
        router.addOperationalRoutes(service: "test", checks: [{ ("database", ready.load(ordering: .relaxed)) }])
        router.get("/healthy") { _, _ in "ok" }

        try await Application(router: router, logger: logger).test(.router) { client in
            for path in ["/health", "/ready", "/metrics", "/healthy"] {
                try await client.execute(uri: path, method: .get) { #expect($0.status == .ok, "\(path)") }
            }
            ready.store(false, ordering: .relaxed)
            try await client.execute(uri: "/ready", method: .get) { #expect($0.status == .serviceUnavailable) }
        }
        func level(_ needle: String) -> [Substring] {
            recorder.messages.filter { $0.contains(needle) }.map { $0.prefix { $0 != " " } }
        }
        #expect(level("GET /health 200 ") == ["debug"])
        #expect(level("GET /ready 200 ") == ["debug"])
        #expect(level("GET /metrics 200 ") == ["debug"])
        #expect(level("GET /healthy 200 ") == ["info"])
        #expect(level("GET /ready 503 ") == ["info"])
    }
}
