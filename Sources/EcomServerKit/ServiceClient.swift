import AsyncHTTPClient
import EcomAPI
import Foundation
import HTTPTypes
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

    package init(baseURL: String, caller: String, tokens: TokenService, client: HTTPClient, timeout: TimeAmount = .seconds(10)) {
        self.baseURL = baseURL
        self.caller = caller
        self.tokens = tokens
        self.client = client
        self.timeout = timeout
    }

    /// A client configured for service-to-service calls; shut it down with the service.
    package static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(2)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32))
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Sends `body` (JSON) and decodes the answer; `Response == Empty` accepts any 2xx without a body.
    package func send<Response: Decodable>(
        _ method: HTTPMethod, _ path: String, body: (any Encodable)? = nil, requestID: String?,
        as type: Response.Type = Response.self
    ) async throws -> Response {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(try await tokens.issueServiceToken(service: caller))")
        if let requestID { request.headers.add(name: "X-Request-ID", value: requestID) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONEncoder.ecom.encode(body)))
        }
        let response: HTTPClientResponse
        let payload: ByteBuffer
        do {
            response = try await client.execute(request, timeout: timeout)
            payload = try await response.body.collect(upTo: 16 * 1024 * 1024)
        } catch {
            throw APIError.unavailable
        }
        switch response.status.code {
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
                    HTTPResponse.Status(code: Int(response.status.code)), code: body.error.code,
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
