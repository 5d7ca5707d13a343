import AsyncHTTPClient
import EcomAPI
import EcomGateway
import EcomServerKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

/// The gateway reaches a service of its own process in memory and one elsewhere over HTTP; a client
/// must not be able to tell which.
@Suite struct InProcessDispatchTests {
    /// What the gateway is asked, and what each of its answers must share with the other path's.
    struct Call: Sendable, CustomStringConvertible {
        var method: HTTPRequest.Method
        var path: String
        var headers: HTTPFields = [:]
        var body: ByteBuffer?

        var description: String { "\(method) \(path)" }
    }

    struct Answer: Equatable, CustomStringConvertible {
        var status: Int
        var headers: [String: String]
        var body: String

        var description: String { "\(status) \(headers.sorted { $0.key < $1.key }) \(body)" }
    }

    static let comparedHeaders: [HTTPField.Name] = [
        .contentType, .contentLength, .location, .retryAfter, .requestID, .allow, HTTPField.Name("X-Seen-By")!,
    ]

    @Test("a service in the same process answers through the gateway as it does over HTTP", .timeLimit(.minutes(2)))
    func pathsAnswerAlike() async throws {
        let tokens = await TokenService(key: try SigningKey(SigningKey.generateSecret()))
        let user = try await tokens.issueAccessToken(userID: UUID(), role: .user, sessionID: nil)
        let router = Self.serviceRouter(tokens: tokens)
        let service = makeApplication(router: router, address: ListenAddress(host: "127.0.0.1", port: 0), logger: Logger(label: "products"))
        let local = LocalServices()
        local.register(
            ServiceUnit(
                name: "products", address: ListenAddress(host: "127.0.0.1", port: 0), services: [],
                inProcess: InProcessService(router: router, logger: Logger(label: "products"))))

        let calls: [Call] = [
            Call(method: .get, path: "/api/products/echo?x=1", headers: [.requestID: "call-1", .xForwardedFor: "203.0.113.9"]),
            Call(method: .post, path: "/api/products/made", headers: [.requestID: "call-2", .contentType: "application/json"],
                 body: ByteBuffer(string: #"{"name":"lamp"}"#)),
            Call(method: .post, path: "/api/products/made", headers: [.requestID: "call-3"]),
            Call(method: .get, path: "/api/products/busy", headers: [.requestID: "call-4"]),
            Call(method: .get, path: "/api/products/mine", headers: [.requestID: "call-5"]),
            Call(method: .get, path: "/api/products/mine", headers: [.requestID: "call-6", .authorization: "Bearer \(user)"]),
            Call(method: .get, path: "/api/products/mine", headers: [.requestID: "call-7", .authorization: "Bearer nonsense"]),
            Call(method: .delete, path: "/api/products/made", headers: [.requestID: "call-8"]),
            Call(method: .get, path: "/api/products/nowhere", headers: [.requestID: "call-9"]),
            Call(method: .get, path: "/api/products/slow", headers: [.requestID: "call-10"]),
            Call(method: .post, path: "/api/products/made", headers: [.requestID: "call-11"],
                 body: ByteBuffer(repeating: UInt8(ascii: "a"), count: 1024 * 1024 + 1)),
        ]

        try await service.test(.live) { serviceClient in
            let port = try #require(serviceClient.port)
            let overHTTP = try await Self.answers(
                to: calls, gateway: GatewayConfiguration(
                    address: ListenAddress(host: "127.0.0.1", port: 0), upstreams: ["products": "http://127.0.0.1:\(port)"],
                    tokens: tokens, requestTimeout: .seconds(2)))
            // No listener at this address: only the in-memory path can answer.
            let inMemory = try await Self.answers(
                to: calls, gateway: GatewayConfiguration(
                    address: ListenAddress(host: "127.0.0.1", port: 0), upstreams: ["products": "http://127.0.0.1:9"],
                    localServices: local, tokens: tokens, requestTimeout: .seconds(2)))
            for (call, (http, memory)) in zip(calls, zip(overHTTP, inMemory)) {
                #expect(http == memory, "\(call): over HTTP \(http), in memory \(memory)")
            }
            #expect(overHTTP.map(\.status) == [200, 201, 201, 503, 401, 200, 401, 405, 404, 504, 413])
            #expect(overHTTP[0].body.contains(#""forwarded_for":"127.0.0.1""#), "the service sees the address the gateway saw")
            #expect(overHTTP[0].body.contains(#""request_id":"call-1""#))
            #expect(overHTTP[1].headers["location"] == "/api/products/made/1")
            #expect(overHTTP[3].headers["retry-after"] == "1")
            #expect(overHTTP[9].body.contains(ErrorCode.gatewayTimeout))
        }
    }

    @Test("a service elsewhere is still reached over HTTP, and an unreachable one is 502", .timeLimit(.minutes(1)))
    func fallsBackToHTTP() async throws {
        let tokens = await TokenService(key: try SigningKey(SigningKey.generateSecret()))
        let answers = try await Self.answers(
            to: [Call(method: .get, path: "/api/products/echo", headers: [.requestID: "gone"])],
            gateway: GatewayConfiguration(
                address: ListenAddress(host: "127.0.0.1", port: 0), upstreams: ["products": "http://127.0.0.1:9"],
                localServices: LocalServices(), tokens: tokens, requestTimeout: .seconds(1)))
        #expect(answers.map(\.status) == [502])
        #expect(answers.first?.body.contains(ErrorCode.badGateway) == true)
    }

    @Test("a service call in memory reaches the callee's router with a service token, and its errors come back as over HTTP")
    func serviceClientInMemory() async throws {
        let tokens = await TokenService(key: try SigningKey(SigningKey.generateSecret()))
        let router = Self.serviceRouter(tokens: tokens)
        _ = makeApplication(router: router, address: ListenAddress(host: "127.0.0.1", port: 0), logger: Logger(label: "products"))
        let local = LocalServices()
        local.register(
            ServiceUnit(
                name: "products", address: ListenAddress(host: "127.0.0.1", port: 0), services: [],
                inProcess: InProcessService(router: router, logger: Logger(label: "products"))))
        let client = ServiceClient(
            baseURL: "http://127.0.0.1:9", caller: "cart", tokens: tokens, client: HTTPClient.shared, local: local, service: "products")
        let seen = try await client.send(.GET, "/api/products/mine", requestID: "svc-1", as: [String: String].self)
        #expect(seen["role"] == "service")
        #expect(seen["request_id"] == "svc-1")
        let refusal = await #expect(throws: APIError.self) {
            try await client.send(.GET, "/api/products/nowhere", requestID: nil, as: ServiceClient.Empty.self)
        }
        #expect(refusal?.status == .notFound)
    }

    /// Each call's answer from a gateway built with `configuration`, listening as in production.
    static func answers(to calls: [Call], gateway configuration: GatewayConfiguration) async throws -> [Answer] {
        let router = buildGatewayRouter(configuration: configuration, client: HTTPClient.shared)
        let application = makeApplication(router: router, address: configuration.address, logger: Logger(label: "gateway"))
        return try await application.test(.live) { client in
            var answers: [Answer] = []
            for call in calls {
                let answer = try await client.execute(uri: call.path, method: call.method, headers: call.headers, body: call.body) { response in
                    var headers: [String: String] = [:]
                    for name in comparedHeaders { headers[name.canonicalName] = response.headers[name] }
                    return Answer(status: response.status.code, headers: headers, body: String(buffer: response.body))
                }
                answers.append(answer)
            }
            return answers
        }
    }

    /// A service with a route for each kind of answer the gateway must pass on unchanged.
    static func serviceRouter(tokens: TokenService) -> Router<EcomRequestContext> {
        let router = Router.service("products", tokens: tokens, checks: [])
        router.get("/api/products/echo") { request, context -> Response in
            try json([
                "request_id": request.headers[.requestID] ?? "", "forwarded_for": request.headers[.xForwardedFor] ?? "",
                "query": request.uri.query ?? "",
            ])
        }
        router.post("/api/products/made") { request, context -> Response in
            let body = try await request.body.collect(upTo: context.maxUploadSize)
            var response = try json(["got": String(buffer: body), "length": request.headers[.contentLength] ?? "none"])
            response.status = .created
            response.headers[.location] = "/api/products/made/1"
            return response
        }
        router.get("/api/products/busy") { _, _ -> Response in throw APIError.busy }
        router.get("/api/products/mine") { request, context -> Response in
            let principal = try context.principal.map { $0 } ?? { throw APIError.unauthorized(context.authFailure ?? "authentication required") }()
            return try json(["role": principal.role.rawValue, "request_id": request.headers[.requestID] ?? ""])
        }
        router.get("/api/products/slow") { _, _ -> Response in
            try await Task.sleep(for: .seconds(5))
            return Response(status: .ok)
        }
        return router
    }

    static func json(_ fields: [String: String]) throws -> Response {
        var response = Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", HTTPField.Name("X-Seen-By")!: "products"])
        response.body = .init(byteBuffer: ByteBuffer(data: try JSONEncoder.ecom.encode(fields)))
        return response
    }
}
