import Hummingbird
import HummingbirdTesting
import Testing

@testable import EcomServerKit

@Suite struct HealthRouteTests {
    @Test("/health answers what encoding its status on each request answered: the same headers and bytes")
    func healthMatchesEncodedStatus() async throws {
        let router = Router(context: EcomRequestContext.self)
        router.addOperationalRoutes(service: "gateway", checks: [])
        router.get("/encoded") { _, _ in HealthStatus(status: "ok", service: "gateway", checks: nil) }
        let app = Application(router: router)
        try await app.test(.router) { client in
            let encoded = try await client.execute(uri: "/encoded", method: .get)
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .ok)
            #expect(Array(health.headers) == Array(encoded.headers))
            #expect(String(buffer: health.body) == #"{"service":"gateway","status":"ok"}"#)
            #expect(health.body == encoded.body)
        }
    }
}
