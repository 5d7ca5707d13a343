import AsyncHTTPClient
import EcomAPI
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Calls another ecom service's endpoints with a service token, over a pooled keep-alive client.
///
/// An unreachable or failing peer surfaces as `APIError.unavailable` (503) so the caller's
/// client can retry; a peer's 4xx error body is passed on as it is.
package struct ServiceClient: Sendable {
    package let baseURL: String
    let caller: String
    let tokens: TokenService
    let client: HTTPClient
    let timeout: TimeAmount
    /// The called service, when it runs in this process: reached in memory, through its whole router.
    let inProcess: (local: LocalServices, name: String)?

    /// `local` and `service` name the called service among those of this process; when it is not
    /// there, calls go to `baseURL`.
    package init(
        baseURL: String, caller: String, tokens: TokenService, client: HTTPClient, timeout: TimeAmount = .seconds(10),
        local: LocalServices? = nil, service: String? = nil
    ) {
        self.baseURL = baseURL
        self.caller = caller
        self.tokens = tokens
        self.client = client
        self.timeout = timeout
        self.inProcess = local.flatMap { local in service.map { (local, $0) } }
    }

    /// A client configured for service-to-service calls; shut it down with the service.
    package static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(2)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32))
        configuration.httpVersion = .http1Only
        configuration.tlsConfiguration = PeerTLS.clientConfiguration
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Sends `body` (JSON) and decodes the answer; `Response == Empty` accepts any 2xx without a body.
    package func send<Response: Decodable>(
        _ method: HTTPMethod, _ path: String, body: (any Encodable)? = nil, requestID: String?,
        as type: Response.Type = Response.self
    ) async throws -> Response {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(try await tokens.serviceToken(service: caller))"
        if let requestID { headers[.requestID] = requestID }
        var payload: ByteBuffer?
        if let body {
            headers[.contentType] = "application/json"
            payload = ByteBuffer(data: try JSONEncoder.ecom.encode(body))
        }
        let (status, answer) = try await exchange(method, path, headers: headers, body: payload)
        return try Self.decode(Response.self, status: status, body: answer)
    }

    /// Sends the request and collects the answer; any failure to get one is `APIError.unavailable`.
    private func exchange(_ method: HTTPMethod, _ path: String, headers: HTTPFields, body: ByteBuffer?) async throws -> (Int, ByteBuffer) {
        let limit = 16 * 1024 * 1024
        if let inProcess, let service = inProcess.local.service(inProcess.name) {
            do {
                let response = try await service.respond(
                    .init(method.rawValue) ?? .get, path, headers: headers, body: body, timeout: .nanoseconds(timeout.nanoseconds))
                return (response.status.code, try await response.body.collect(upTo: limit))
            } catch {
                throw APIError.unavailable
            }
        }
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for field in headers { request.headers.add(name: field.name.rawName, value: field.value) }
        if let body { request.body = .bytes(body) }
        do {
            let response = try await client.execute(request, timeout: timeout)
            return (Int(response.status.code), try await response.body.collect(upTo: limit))
        } catch {
            throw APIError.unavailable
        }
    }

    static func decode<Response: Decodable>(_ type: Response.Type, status: Int, body payload: ByteBuffer) throws -> Response {
        switch status {
        case 200..<300:
            if Response.self == Empty.self { return Empty() as! Response }
            do {
                return try JSONDecoder.ecom.decode(Response.self, from: Data(buffer: payload))
            } catch {
                throw APIError.unavailable
            }
        case 400..<500:
            if let body = try? JSONDecoder.ecom.decode(APIErrorBody.self, from: Data(buffer: payload)) {
                throw APIError(
                    HTTPResponse.Status(code: status), code: body.error.code,
                    message: body.error.message, field: body.error.field)
            }
            throw APIError.unavailable
        default:
            throw APIError.unavailable
        }
    }

    /// An answer without a body.
    package struct Empty: Decodable, Sendable {}
}
