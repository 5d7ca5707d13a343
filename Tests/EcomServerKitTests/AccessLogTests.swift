import EcomTestSupport
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import EcomServerKit

@Suite struct AccessLogTests {
    @Test("a request a client sent has its access line at info; one answered in memory for a caller in the process, at debug")
    func levels() async throws {
        let recorder = LogRecorder()
        let logger = Logger(label: "test") { _ in recorder }
        let router = Router(context: EcomRequestContext.self)
        router.add(middleware: RequestLogMiddleware(service: "test"))
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
}
