import EcomAPI
import EcomPostgres
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The domain error of every ecom service: a status, a stable machine code and a message fit
/// for the caller. Mapped to HTTP here and nowhere else.
package struct APIError: Error, Sendable, CustomStringConvertible {
    package var status: HTTPResponse.Status
    package var code: String
    package var message: String
    package var field: String?
    /// Seconds, for 429 and 503 answers.
    package var retryAfter: Int?

    package init(
        _ status: HTTPResponse.Status, code: String, message: String, field: String? = nil,
        retryAfter: Int? = nil
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retryAfter = retryAfter
    }

    package var description: String { "\(status.code) \(code): \(message)" }

    package static func badRequest(_ code: String, _ message: String, field: String? = nil) -> Self {
        Self(.badRequest, code: code, message: message, field: field)
    }

    package static func invalidField(_ field: String, _ message: String) -> Self {
        Self(.badRequest, code: ErrorCode.invalidField, message: message, field: field)
    }

    package static func notFound(_ what: String) -> Self {
        Self(.notFound, code: ErrorCode.notFound, message: "\(what) not found")
    }

    package static func conflict(_ code: String, _ message: String, field: String? = nil) -> Self {
        Self(.conflict, code: code, message: message, field: field)
    }

    package static func unauthorized(_ message: String = "authentication required") -> Self {
        Self(.unauthorized, code: ErrorCode.unauthorized, message: message)
    }

    package static func forbidden(_ message: String = "not allowed") -> Self {
        Self(.forbidden, code: ErrorCode.forbidden, message: message)
    }

    package static let unavailable = Self(
        .serviceUnavailable, code: ErrorCode.serviceUnavailable,
        message: "service temporarily unavailable, try again", retryAfter: 1)

    /// The service is still preparing its database (migrations, seed): a passing state, as `unavailable`.
    package static let starting = Self(
        .serviceUnavailable, code: ErrorCode.serviceUnavailable,
        message: "the service is starting (preparing its database), try again shortly", retryAfter: 1)

    /// The service is saturated (no database connection free in time, or no connection slot left): a
    /// passing state the client should retry, not a failure.
    package static let busy = Self(
        .serviceUnavailable, code: ErrorCode.serviceBusy, message: "the service is busy, try again shortly", retryAfter: 1)

    package static let internalError = Self(
        .internalServerError, code: ErrorCode.internalError, message: "internal server error")

    package var body: APIErrorBody { APIErrorBody(code: code, message: message, field: field) }
}

// MARK: - HTTPResponseError

extension APIError: HTTPResponseError {
    package func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        let data = try JSONEncoder.ecom.encode(body)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension APIError {
    /// The answer for any error a handler throws. Unknown errors become a bare 500; the caller
    /// logs them with the request id, and nothing of them reaches the client.
    package static func from(_ error: any Error) -> APIError? {
        switch error {
        case let error as APIError:
            return error
        case is NIOTooManyBytesError:
            // A body collected past its limit, wherever it was collected.
            return from(status: .contentTooLarge)
        case is PostgresPoolBusy:
            return .busy
        case let error as SQLError where error.kind == .connectionFailure || error.isLostBeforeCommit:
            return .unavailable
        case let error as SQLError where error.sqlState?.hasPrefix("22") == true:
            // Data exceptions come from values a caller sent (an out-of-range date in a cursor, say).
            return .badRequest(ErrorCode.invalidQuery, "a value in the request is out of range")
        case let error as any HTTPResponseError:
            return from(status: error.status)
        default:
            return nil
        }
    }

    /// Hummingbird's own errors (no route, body too large, …) in the ecom error shape.
    package static func from(status: HTTPResponse.Status) -> APIError {
        switch status {
        case .notFound:
            return Self(.notFound, code: ErrorCode.routeNotFound, message: "no such route")
        case .methodNotAllowed:
            return Self(.methodNotAllowed, code: ErrorCode.methodNotAllowed, message: "method not allowed")
        case .contentTooLarge:
            return Self(.contentTooLarge, code: ErrorCode.payloadTooLarge, message: "request body too large")
        case .badRequest:
            return .badRequest(ErrorCode.invalidBody, "malformed request")
        case .unauthorized:
            return .unauthorized()
        case .forbidden:
            return .forbidden()
        case .unsupportedMediaType:
            return Self(.unsupportedMediaType, code: ErrorCode.unsupportedMediaType, message: "unsupported media type")
        case .serviceUnavailable:
            return .unavailable
        default:
            if status.kind == .clientError {
                return Self(status, code: "http_\(status.code)", message: status.reasonPhrase)
            }
            return .internalError
        }
    }
}
