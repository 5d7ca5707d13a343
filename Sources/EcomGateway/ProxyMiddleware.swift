import AsyncHTTPClient
import EcomAPI
import EcomServerKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// Forwards requests that match the routing table to their service, after the gateway's own
/// checks: the route's access level, and the body size limit.
///
/// Requests that match no entry fall through to the gateway's router (operational routes, or 404).
struct ProxyMiddleware: RouterMiddleware {
    typealias Context = EcomRequestContext

    let table: [GatewayRoute]
    let upstreams: [String: String]
    let client: HTTPClient
    let requestTimeout: TimeAmount
    let bodyLimit: Int

    /// Headers that belong to one connection and are never forwarded (RFC 9110 §7.6.1).
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let route = RoutingTable.route(for: request.uri.path[...], in: table),
            let base = upstreams[route.upstream]
        else {
            return try await next(request, context)
        }
        switch route.access {
        case .public: break
        case .account: _ = try context.requireAccount()
        case .admin: _ = try context.requireAdmin()
        }

        let bodyLimit = route.bodyLimit ?? self.bodyLimit
        if let length = request.headers[.contentLength].flatMap(Int.init), length > bodyLimit {
            throw APIError.from(status: .contentTooLarge)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: bodyLimit)
        } catch is NIOTooManyBytesError {
            throw APIError.from(status: .contentTooLarge)
        }

        var upstream = HTTPClientRequest(url: base + request.uri.description)
        upstream.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) {
            upstream.headers.add(name: field.name.rawName, value: field.value)
        }
        upstream.headers.replaceOrAdd(name: "X-Request-ID", value: context.requestID)
        // The users service throttles failed sign-ins per client address: it must see the address
        // this gateway saw, never one the client wrote.
        upstream.headers.remove(name: "X-Forwarded-For")
        if let address = context.remoteAddress {
            upstream.headers.add(name: "X-Forwarded-For", value: address)
        }
        // TRACE carries no content (RFC 9110 §9.3.8): the service answers it like any method it does not serve.
        if request.method != .trace, body.readableBytes > 0 || request.method == .post || request.method == .put || request.method == .patch {
            upstream.body = .bytes(body)
        }

        let response: HTTPClientResponse
        do {
            response = try await client.execute(upstream, timeout: requestTimeout, logger: context.logger)
        } catch {
            throw Self.apiError(for: error, upstream: route.upstream, context: context)
        }

        var headers = HTTPFields()
        for header in response.headers where !Self.hopByHop.contains(header.name.lowercased()) {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        if let length = response.headers.first(name: "content-length") {
            headers[.contentLength] = length
        }
        return Response(
            status: HTTPResponse.Status(code: Int(response.status.code), reasonPhrase: response.status.reasonPhrase),
            headers: headers,
            body: ResponseBody(asyncSequence: response.body))
    }

    static func apiError(for error: any Error, upstream: String, context: Context) -> APIError {
        if let error = error as? HTTPClientError,
            error == .deadlineExceeded || error == .readTimeout || error == .writeTimeout
        {
            context.logger.warning("upstream timed out", metadata: ["upstream": "\(upstream)"])
            return APIError(.gatewayTimeout, code: ErrorCode.gatewayTimeout, message: "the \(upstream) service did not answer in time")
        }
        context.logger.warning("upstream unreachable", metadata: ["upstream": "\(upstream)", "error": "\(error)"])
        return APIError(.badGateway, code: ErrorCode.badGateway, message: "the \(upstream) service is unreachable")
    }
}
