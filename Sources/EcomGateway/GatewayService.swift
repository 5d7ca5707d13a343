import AsyncHTTPClient
import EcomAPI
import EcomServerKit
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ServiceLifecycle

package struct GatewayConfiguration: Sendable {
    package var address: ListenAddress
    /// Base URL of each service by name (`"users": "http://127.0.0.1:8081"`).
    package var upstreams: [String: String]
    package var tokens: TokenService
    package var table: [GatewayRoute]
    package var requestTimeout: Duration
    package var connectTimeout: Duration
    package var bodyLimit: Int

    package init(
        address: ListenAddress, upstreams: [String: String], tokens: TokenService,
        table: [GatewayRoute] = RoutingTable.all, requestTimeout: Duration = .seconds(30),
        connectTimeout: Duration = .seconds(2), bodyLimit: Int = 1024 * 1024
    ) {
        self.address = address
        self.upstreams = upstreams
        self.tokens = tokens
        self.table = table
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.bodyLimit = bodyLimit
    }
}

/// The gateway's router: its own operational routes, and the proxy for everything in the table.
package func buildGatewayRouter(configuration: GatewayConfiguration, client: HTTPClient) -> Router<EcomRequestContext> {
    let router = Router(context: EcomRequestContext.self)
    router.add(middleware: RequestLogMiddleware(service: "gateway"))
    router.add(middleware: AuthMiddleware(tokens: configuration.tokens))
    router.add(
        middleware: ProxyMiddleware(
            table: configuration.table, upstreams: configuration.upstreams, client: client,
            requestTimeout: .nanoseconds(Int64(configuration.requestTimeout.components.seconds) * 1_000_000_000),
            bodyLimit: configuration.bodyLimit))
    let checks: [ReadinessCheck] = configuration.upstreams.sorted { $0.key < $1.key }.map { name, base in
        { () async -> (name: String, ok: Bool) in
            var request = HTTPClientRequest(url: base + "/health")
            request.method = .GET
            let response = try? await client.execute(request, timeout: .seconds(1))
            return (name, response?.status == .ok)
        }
    }
    router.addOperationalRoutes(service: "gateway", checks: checks + configuration.tokens.readinessChecks)
    router.get("/openapi.json") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: OpenAPIDocument.buffer))
    }
    return router
}

extension OpenAPIDocument {
    /// The document's bytes, made once.
    static let buffer = ByteBuffer(string: json)
}

/// The gateway as `ecom serve` runs it.
package func buildGatewayService(_ configuration: GatewayConfiguration, logger: Logger) -> ServiceUnit {
    var logger = logger
    logger[metadataKey: "service"] = "gateway"
    var clientConfiguration = HTTPClient.Configuration(
        redirectConfiguration: .disallow,
        timeout: .init(connect: .milliseconds(Int64(configuration.connectTimeout.components.seconds) * 1000)),
        connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64))
    clientConfiguration.httpVersion = .http1Only
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
    let router = buildGatewayRouter(configuration: configuration, client: client)
    let application = makeApplication(router: router, address: configuration.address, logger: logger)
    let guarded = ExposureGuard(
        application: application, configuration: configuration, client: client, logger: logger)
    return ServiceUnit(
        name: "gateway", address: configuration.address, services: [guarded], routes: router.serviceRoutes,
        shutdown: { try? await client.shutdown() })
}

/// Refuses to expose the gateway beyond loopback while the demo admin still has its published
/// password; otherwise runs the gateway.
struct ExposureGuard<App: ApplicationProtocol>: Service {
    let application: App
    let configuration: GatewayConfiguration
    let client: HTTPClient
    let logger: Logger

    struct DemoPasswordActive: Error, CustomStringConvertible {
        var address: ListenAddress
        var description: String {
            "refusing to listen on \(address): the demo admin (admin@example.com) still has its published password; change it (ecom passwd) or listen on 127.0.0.1"
        }
    }

    func run() async throws {
        if !configuration.address.isLoopback {
            try await checkDemoPassword()
        }
        try await application.run()
    }

    /// Asks the users service, with a service token, whether the demo password is still set.
    /// An unreachable users service counts as "yes": exposure is refused unless proven safe.
    private func checkDemoPassword() async throws {
        guard let users = configuration.upstreams["users"] else { return }
        for attempt in 1...30 {
            var request = HTTPClientRequest(url: users + "/internal/demo-admin")
            request.headers.add(name: "Authorization", value: "Bearer \(try await configuration.tokens.issueServiceToken(service: "gateway"))")
            if let response = try? await client.execute(request, timeout: .seconds(2)), response.status == .ok {
                let body = try await response.body.collect(upTo: 4096)
                let status = try JSONDecoder().decode([String: Bool].self, from: body)
                if status["demo_password_active"] == false { return }
                throw DemoPasswordActive(address: configuration.address)
            }
            logger.info("waiting for the users service before exposing the gateway", metadata: ["attempt": "\(attempt)"])
            try await Task.sleep(for: .seconds(1))
        }
        throw DemoPasswordActive(address: configuration.address)
    }
}
