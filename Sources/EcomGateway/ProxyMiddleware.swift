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
/// A service in the same process gets the request in memory, through its whole router as from its
/// listener; one elsewhere over HTTP. Both answer alike: the same status, headers, body, limits, and
/// 502/504 mapping.
///
/// Requests that match no entry fall through to the gateway's router (operational routes, or 404).
struct ProxyMiddleware: RouterMiddleware {
    typealias Context = EcomRequestContext

    let routes: RouteIndex
    let upstreams: [String: String]
    /// The services running in this process, reached without a socket; the others through `upstreams`.
    let localServices: LocalServices?
    let client: HTTPClient
    let requestTimeout: Duration
    let bodyLimit: Int

    /// Headers that belong to one connection and are never forwarded (RFC 9110 §7.6.1).
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let route = routes.route(for: request.uri.path[...]) else {
            return try await next(request, context)
        }
        let local = localServices?.service(route.upstream)
        let base = upstreams[route.upstream]
        guard local != nil || base != nil else { return try await next(request, context) }
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
        // TRACE carries no content (RFC 9110 §9.3.8): the service answers it like any method it does not serve.
        let sendsBody =
            request.method != .trace && (body.readableBytes > 0 || request.method == .post || request.method == .put || request.method == .patch)
        let headers = forwardedHeaders(of: request, context: context)

        let response: Response
        if let local {
            response = try await forward(request, headers: headers, body: sendsBody ? body : nil, to: local, upstream: route.upstream, context: context)
        } else if let base {
            response = try await forward(request, headers: headers, body: sendsBody ? body : nil, to: base, upstream: route.upstream, context: context)
        } else {
            return try await next(request, context)
        }
        return Response(status: response.status, headers: Self.endToEnd(response.headers), body: response.body)
    }

    /// The request's headers as the service gets them: without this connection's own, with the gateway's
    /// request id and the client's address as the gateway saw it.
    func forwardedHeaders(of request: Request, context: Context) -> HTTPFields {
        var headers = HTTPFields()
        headers.reserveCapacity(request.headers.count + 2)
        for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) && field.name != .requestID
            && field.name != .xForwardedFor
        {
            headers.append(field)
        }
        headers[.requestID] = context.requestID
        // The users service throttles failed sign-ins per client address: it must see the address
        // this gateway saw, never one the client wrote.
        if let address = context.remoteAddress {
            headers[.xForwardedFor] = address
        }
        return headers
    }

    /// Hands the request to the service's router in this process.
    func forward(
        _ request: Request, headers: HTTPFields, body: ByteBuffer?, to service: InProcessService, upstream: String, context: Context
    ) async throws -> Response {
        do {
            return try await service.respond(request.method, request.uri.description, headers: headers, body: body, timeout: requestTimeout)
        } catch is InProcessTimeout {
            throw Self.timedOut(upstream, context: context)
        }
    }

    /// Sends the request to the service's listener at `base`.
    func forward(
        _ request: Request, headers: HTTPFields, body: ByteBuffer?, to base: String, upstream: String, context: Context
    ) async throws -> Response {
        var outbound = HTTPClientRequest(url: base + request.uri.description)
        outbound.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in headers {
            outbound.headers.add(name: field.name.rawName, value: field.value)
        }
        if let body { outbound.body = .bytes(body) }

        let response: HTTPClientResponse
        do {
            response = try await client.execute(outbound, timeout: TimeAmount(requestTimeout), logger: context.logger)
        } catch {
            throw Self.apiError(for: error, upstream: upstream, context: context)
        }
        var headers = HTTPFields()
        for header in response.headers {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        return Response(
            status: HTTPResponse.Status(code: Int(response.status.code), reasonPhrase: response.status.reasonPhrase),
            headers: headers,
            body: ResponseBody(asyncSequence: response.body))
    }

    /// A service's answer headers less those that belong to its connection; its `Content-Length` is kept,
    /// since the body is passed on as it is.
    static func endToEnd(_ headers: HTTPFields) -> HTTPFields {
        guard headers.contains(where: { hopByHop.contains($0.name.canonicalName) && $0.name != .contentLength }) else { return headers }
        var kept = HTTPFields()
        for field in headers where !hopByHop.contains(field.name.canonicalName) || field.name == .contentLength {
            kept.append(field)
        }
        return kept
    }

    static func apiError(for error: any Error, upstream: String, context: Context) -> APIError {
        if let error = error as? HTTPClientError,
            error == .deadlineExceeded || error == .readTimeout || error == .writeTimeout
        {
            return timedOut(upstream, context: context)
        }
        context.logger.warning("upstream unreachable", metadata: ["upstream": "\(upstream)", "error": "\(error)"])
        return APIError(.badGateway, code: ErrorCode.badGateway, message: "the \(upstream) service is unreachable")
    }

    static func timedOut(_ upstream: String, context: Context) -> APIError {
        context.logger.warning("upstream timed out", metadata: ["upstream": "\(upstream)"])
        return APIError(.gatewayTimeout, code: ErrorCode.gatewayTimeout, message: "the \(upstream) service did not answer in time")
    }
}
