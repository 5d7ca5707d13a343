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
    /// The services running in the same process, which the gateway reaches in memory.
    package var localServices: LocalServices?
    package var tokens: TokenService
    package var table: [GatewayRoute]
    package var requestTimeout: Duration
    package var connectTimeout: Duration
    package var bodyLimit: Int

    package init(
        address: ListenAddress, upstreams: [String: String], localServices: LocalServices? = nil, tokens: TokenService,
        table: [GatewayRoute] = RoutingTable.all, requestTimeout: Duration = .seconds(30),
        connectTimeout: Duration = .seconds(2), bodyLimit: Int = 1024 * 1024
    ) {
        self.address = address
        self.upstreams = upstreams
        self.localServices = localServices
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
    router.add(middleware: ClientGoneMiddleware())
    router.add(middleware: AuthMiddleware(tokens: configuration.tokens))
    router.add(
        middleware: ProxyMiddleware(
            routes: RouteIndex(configuration.table), upstreams: configuration.upstreams, localServices: configuration.localServices,
            client: client, requestTimeout: configuration.requestTimeout, bodyLimit: configuration.bodyLimit))
    let checks: [ReadinessCheck] = configuration.upstreams.sorted { $0.key < $1.key }.map { name, base in
        { () async -> (name: String, ok: Bool) in
            var request = HTTPClientRequest(url: base + OperationalPath.health)
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
    static let buffer = ByteBuffer(string: text)
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
    clientConfiguration.tlsConfiguration = PeerTLS.clientConfiguration
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
    let router = buildGatewayRouter(configuration: configuration, client: client)
    let application = makeApplication(router: router, address: configuration.address, logger: logger)
    return ServiceUnit(
        name: "gateway", address: configuration.address, services: [application], routes: router.serviceRoutes,
        demoPassword: { await demoPasswordState(configuration: configuration, client: client) },
        shutdown: { try? await client.shutdown() })
}

/// Asks the users service, with a service token, whether the demo admin's published password is still set.
func demoPasswordState(configuration: GatewayConfiguration, client: HTTPClient) async -> DemoPasswordState {
    guard let users = configuration.upstreams["users"] else { return .changed }
    var request = HTTPClientRequest(url: users + InternalPath.demoAdmin)
    guard let token = try? await configuration.tokens.issueServiceToken(service: "gateway") else { return .unknown }
    request.headers.add(name: "Authorization", value: "Bearer \(token)")
    guard let response = try? await client.execute(request, timeout: .seconds(2)), response.status == .ok,
        let body = try? await response.body.collect(upTo: 4096),
        let status = try? JSONDecoder().decode([String: Bool].self, from: body), let active = status["demo_password_active"]
    else {
        return .unknown
    }
    return active ? .active : .changed
}
