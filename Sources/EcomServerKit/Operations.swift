import EcomAPI
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Prometheus
import Synchronization

/// Process-wide metrics: every service in the process reports into one Prometheus registry,
/// with a `service` label where it matters.
package enum EcomMetrics {
    package static let registry = PrometheusCollectorRegistry()
    private static let bootstrapped = Mutex(false)

    /// Installs the Prometheus backend for swift-metrics once per process.
    package static func bootstrap() {
        bootstrapped.withLock { done in
            guard !done else { return }
            done = true
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        }
    }
}

/// The paths of the operational routes every listener answers (`addOperationalRoutes`).
package enum OperationalPath {
    package static let health = "/health"
    package static let ready = "/ready"
    package static let metrics = "/metrics"
    /// All of them: what a load balancer or a scraper probes every few seconds.
    package static let all: Set<String> = [health, ready, metrics]
}

/// One readiness check: a name and whether it passes right now.
package typealias ReadinessCheck = @Sendable () async -> (name: String, ok: Bool)

extension Router where Context == EcomRequestContext {
    /// `GET /health` (the process is alive), `GET /ready` (every dependency answers) and
    /// `GET /metrics` (Prometheus text), answered by every service and the gateway.
    package func addOperationalRoutes(service: String, checks: [ReadinessCheck]) {
        // The answer never changes: it is encoded once, with the headers Hummingbird gives an encoded value.
        let health = ByteBuffer(bytes: (try? JSONEncoder.ecom.encode(HealthStatus(status: "ok", service: service, checks: nil))) ?? Data())
        var healthHeaders = HTTPFields()
        healthHeaders.append(HTTPField(name: .contentType, value: "application/json; charset=utf-8"))
        healthHeaders.append(HTTPField(name: .contentLength, value: String(health.readableBytes)))
        get(RouterPath(OperationalPath.health)) { [healthHeaders] _, _ in
            Response(status: .ok, headers: healthHeaders, body: .init(byteBuffer: health))
        }
        get(RouterPath(OperationalPath.ready)) { _, _ -> Response in
            var results: [String: Bool] = [:]
            for check in checks {
                let result = await check()
                results[result.name] = result.ok
            }
            let ready = results.values.allSatisfy { $0 }
            let body = HealthStatus(status: ready ? "ready" : "unavailable", service: service, checks: results)
            let data = try JSONEncoder.ecom.encode(body)
            return Response(
                status: ready ? .ok : .serviceUnavailable,
                headers: [.contentType: "application/json; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        get(RouterPath(OperationalPath.metrics)) { _, _ -> Response in
            var buffer: [UInt8] = []
            EcomMetrics.registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}

package struct HealthStatus: ResponseEncodable, Decodable, Sendable {
    package var status: String
    package var service: String
    package var checks: [String: Bool]?
}

/// Where one service listens.
package struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    package var host: String
    package var port: Int
    /// What the listener tolerates from its clients; `ecom serve` fits these to the process's descriptors.
    package var limits: ListenerLimits
    /// The certificate and key of an HTTPS listener; nil for plain HTTP.
    package var tls: ListenerTLS?

    package init(host: String, port: Int, limits: ListenerLimits = .service, tls: ListenerTLS? = nil) {
        self.host = host
        self.port = port
        self.limits = limits
        self.tls = tls
    }

    package var description: String { "\(host):\(port)" }

    /// `https` for a TLS listener, `http` otherwise.
    package var scheme: String { tls == nil ? "http" : "https" }
}

extension Router where Context == EcomRequestContext {
    /// A service's router: request ids and the access log, bearer-token verification, and the
    /// operational routes. The service adds its own routes to it; with `startup`, they answer 503 until the
    /// service's database is ready (`DatabaseStartup.requestGate`). A middleware applies to the routes added
    /// after it.
    package static func service(
        _ name: String, tokens: TokenService, checks: [ReadinessCheck], startup: DatabaseStartup? = nil
    ) -> Router {
        let router = Router(context: EcomRequestContext.self)
        router.add(middleware: RequestLogMiddleware(service: name))
        router.add(middleware: ClientGoneMiddleware())
        router.add(middleware: AuthMiddleware(tokens: tokens))
        router.add(middleware: DatabaseCallerMiddleware())
        router.addOperationalRoutes(service: name, checks: checks + tokens.readinessChecks)
        if let startup { router.add(middleware: startup.requestGate) }
        return router
    }
}

/// The HTTP listener of a service on `address`, once every route is on `router`.
package func makeApplication(
    router: Router<EcomRequestContext>, address: ListenAddress, logger: Logger
) -> some ApplicationProtocol {
    // Added after the routes, so only requests that no route took pass through it.
    router.add(middleware: MethodNotAllowedMiddleware(routes: router.serviceRoutes))
    let service = logger[metadataKey: "service"].map { "\($0)" } ?? "ecom"
    return Application(
        router: router, server: .limitedHTTP1(address.limits, service: service, tls: address.tls),
        configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil), logger: logger)
}

/// Answers a path that a route serves, asked with another method, with 405 and an `Allow`
/// header listing its methods (RFC 9110 §15.5.6); other unmatched requests go on to the 404.
package struct MethodNotAllowedMiddleware: RouterMiddleware {
    package typealias Context = EcomRequestContext

    let routes: [(components: [Substring], method: String)]

    package init(routes: [ServiceRoute]) {
        self.routes = routes.map { ($0.path.split(separator: "/"), $0.method) }
    }

    /// The methods of the route path that `path` resolves to; `{name}` matches any one segment,
    /// and, as in the router, a literal segment wins over a parameter (`/admin/products/import`
    /// is not `/admin/products/{id}`).
    func methods(for path: String) -> [String] {
        let segments = path.split(separator: "/")
        func isParameter(_ component: Substring) -> Bool { component.hasPrefix("{") && component.hasSuffix("}") }
        let matching = routes.filter { route in
            route.components.count == segments.count
                && zip(route.components, segments).allSatisfy { template, segment in isParameter(template) || template == segment }
        }
        // Literal segments as 1, parameters as 0: the greatest, compared left to right, is the most specific.
        func specificity(_ components: [Substring]) -> [Int] { components.map { isParameter($0) ? 0 : 1 } }
        guard let best = matching.map({ specificity($0.components) }).max(by: { $0.lexicographicallyPrecedes($1) }) else {
            return []
        }
        let methods = matching.filter { specificity($0.components) == best }.map(\.method)
        return Array(Set(methods)).sorted()
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let allowed = methods(for: request.uri.path)
        guard !allowed.isEmpty, !allowed.contains(request.method.rawValue) else {
            return try await next(request, context)
        }
        var response = try APIError.from(status: .methodNotAllowed).response(from: request, context: context)
        response.headers[.allow] = allowed.joined(separator: ", ")
        return response
    }
}
