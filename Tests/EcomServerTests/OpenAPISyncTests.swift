import AsyncHTTPClient
import EcomGateway
import EcomServer
import EcomServerKit
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOFoundationCompat
import Testing

/// The OpenAPI document against the routers `ecom serve` runs and the gateway's routing table:
/// a route added, removed or moved on one side and not the other fails here.
@Suite struct OpenAPISyncTests {
    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/EcomGateway/openapi.json").standardized

    /// The document's operations by method and path (`GET /api/products/{id}`).
    static func operations() throws -> [ServiceRoute: [String: Any]] {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.text.utf8)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var operations: [ServiceRoute: [String: Any]] = [:]
        for (path, item) in paths {
            for (method, operation) in item {
                guard let operation = operation as? [String: Any] else { continue }
                operations[ServiceRoute(method: method.uppercased(), path: path)] = operation
            }
        }
        return operations
    }

    /// The routes a client reaches through the gateway: the gateway's own, and every service route
    /// that the routing table forwards. Each service's own `/health`, `/ready` and `/metrics` are
    /// reached on its port only.
    static func reachableRoutes() async throws -> Set<ServiceRoute> {
        let inventory = try await routeInventory()
        var reachable = Set(try #require(inventory[.gateway]))
        for service in ServiceName.allCases where service != .gateway {
            for route in try #require(inventory[service]) where !["/health", "/ready", "/metrics"].contains(route.path) {
                if let entry = RoutingTable.route(for: route.path[...]) {
                    #expect(entry.upstream == service.rawValue, "\(route) is served by \(service) but the gateway sends it to \(entry.upstream)")
                    reachable.insert(route)
                } else {
                    #expect(route.path.hasPrefix("/internal/"), "\(route) of \(service) is neither routed by the gateway nor under /internal/")
                }
            }
        }
        return reachable
    }

    @Test("GET /openapi.json at the gateway answers openapi.json of the source tree, byte for byte")
    func servedDocumentIsTheFile() async throws {
        let file = try Data(contentsOf: Self.source)
        #expect(OpenAPIDocument.path == "Sources/EcomGateway/openapi.json")
        let tokens = await TokenService(key: try SigningKey(SigningKey.generateSecret()))
        let configuration = GatewayConfiguration(
            address: ListenAddress(host: "127.0.0.1", port: 0), upstreams: [:], tokens: tokens)
        let router = buildGatewayRouter(configuration: configuration, client: HTTPClient.shared)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                #expect(Data(buffer: response.body) == file)
            }
        }
    }

    @Test("every route the gateway reaches is documented, and every documented route is one it reaches")
    func routesMatchDocument() async throws {
        let reachable = try await Self.reachableRoutes()
        let documented = Set(try Self.operations().keys)
        let undocumented = reachable.subtracting(documented).sorted()
        let unserved = documented.subtracting(reachable).sorted()
        #expect(undocumented.isEmpty, "routes missing from openapi.json: \(undocumented)")
        #expect(unserved.isEmpty, "openapi.json documents routes no router answers: \(unserved)")
        #expect(reachable.count > 30)
    }

    @Test("every routing-table entry forwards to a service that answers under its prefix")
    func noDeadTableEntries() async throws {
        let inventory = try await routeInventory()
        for entry in RoutingTable.all {
            let service = try #require(ServiceName(rawValue: entry.upstream), "unknown upstream \(entry.upstream)")
            let routes = try #require(inventory[service])
            #expect(routes.contains { entry.matches($0.path[...]) }, "\(entry.prefix) → \(entry.upstream) reaches no route")
        }
    }

    @Test("each operation's security is the gateway's access level for its path")
    func securityMatchesAccess() throws {
        for (route, operation) in try Self.operations() {
            let security = try #require(operation["security"] as? [[String: [String]]], "\(route) states no security")
            let access = operation["x-ecom-access"] as? String
            let responses = try #require(operation["responses"] as? [String: Any])
            switch RoutingTable.route(for: route.path[...])?.access {
            case .public?, nil:
                #expect(security.isEmpty, "\(route) is public at the gateway")
                #expect(access == nil, "\(route) is public at the gateway")
            case .account?:
                #expect(security == [["bearerAuth": []]], "\(route) needs a bearer token")
                #expect(access == "account", "\(route) is for signed-in accounts")
                #expect(responses["401"] != nil && responses["403"] != nil, "\(route) documents no 401 or 403")
            case .admin?:
                #expect(security == [["bearerAuth": []]], "\(route) needs a bearer token")
                #expect(access == "admin", "\(route) is for admins")
                #expect(responses["401"] != nil && responses["403"] != nil, "\(route) documents no 401 or 403")
            }
        }
    }

    @Test("request bodies refuse unknown fields, as the server does")
    func requestBodiesAreClosed() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.text.utf8)) as? [String: Any])
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
        for (route, operation) in try Self.operations() {
            guard let body = operation["requestBody"] as? [String: Any] else { continue }
            let content = try #require(body["content"] as? [String: [String: Any]])
            #expect(Array(content.keys) == ["application/json"], "\(route)")
            let reference = try #require((content["application/json"]?["schema"] as? [String: Any])?["$ref"] as? String)
            let schema = try #require(schemas[String(reference.split(separator: "/").last!)])
            #expect(schema["additionalProperties"] as? Bool == false, "\(route): \(reference) allows unknown fields")
        }
    }
}
