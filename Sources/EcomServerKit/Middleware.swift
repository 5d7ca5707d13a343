import EcomAPI
import EcomPostgres
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics

/// Outermost middleware: gives every request an id, answers every error in the ecom shape,
/// and logs one line per request (method, path, status, duration, request id).
package struct RequestLogMiddleware: RouterMiddleware {
    package typealias Context = EcomRequestContext

    let service: String

    package init(service: String) {
        self.service = service
    }

    package func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        let requestID = Self.acceptableRequestID(request.headers[.requestID]) ?? UUID().uuidString.lowercased()
        context.requestID = requestID
        context.logger[metadataKey: "request_id"] = .string(requestID)

        var response: Response
        do {
            if let presented = request.headers[.requestID], presented.utf8.count > Self.maximumRequestIDLength {
                throw APIError.badRequest(
                    ErrorCode.invalidHeader, "X-Request-ID must be at most \(Self.maximumRequestIDLength) characters",
                    field: "X-Request-ID")
            }
            response = try await next(request, context)
        } catch {
            response = try Self.errorResponse(for: error, request: request, context: context)
        }
        response.headers[.requestID] = requestID

        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        context.logger.info(
            "\(request.method) \(request.uri.path) \(response.status.code) \(String(format: "%.1f", milliseconds))ms",
            metadata: ["service": .string(service)])
        Timer(
            label: "ecom_http_request_duration_seconds",
            dimensions: [("service", service), ("status", String(response.status.code))]
        ).recordNanoseconds(Int64(milliseconds * 1_000_000))
        return response
    }

    static func errorResponse(for error: any Error, request: Request, context: Context) throws -> Response {
        // The caller gave up (a client gone, or an in-process caller past its deadline): nobody reads this answer.
        if error is CancellationError, Task.isCancelled {
            context.logger.debug("request cancelled by its caller")
            return Response(status: .init(code: 499, reasonPhrase: "Client Closed Request"))
        }
        guard let apiError = APIError.from(error) else {
            context.logger.error("unexpected error", metadata: ["error": .string(String(reflecting: error))])
            return try APIError.internalError.response(from: request, context: context)
        }
        // A busy service is expected under load and already counted in the access log line.
        if apiError.status == .serviceUnavailable, apiError.code != ErrorCode.serviceBusy {
            context.logger.warning("dependency unavailable", metadata: ["error": .string(String(reflecting: error))])
        }
        return try apiError.response(from: request, context: context)
    }

    package static let maximumRequestIDLength = 128

    /// A caller's request id is kept only if it is short and plain, so it cannot forge log lines.
    static func acceptableRequestID(_ value: String?) -> String? {
        guard let value, (1...maximumRequestIDLength).contains(value.utf8.count) else { return nil }
        let allowed = value.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
        }
        return allowed ? value : nil
    }
}

/// Verifies a bearer token when one is presented and records who the caller is.
///
/// It never rejects by itself: routes that need a caller ask the context
/// (`requireAccount()`, `requireAdmin()`, `requireService()`), and public routes ignore it.
/// No identity header (`X-User-ID` and the like) is ever read.
package struct AuthMiddleware: RouterMiddleware {
    package typealias Context = EcomRequestContext

    let tokens: TokenService

    package init(tokens: TokenService) {
        self.tokens = tokens
    }

    package func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let authorization = request.headers[.authorization] else {
            return try await next(request, context)
        }
        var context = context
        if let token = Self.bearerToken(authorization) {
            do {
                context.principal = try await tokens.verify(token)
                context.revocationsCurrent = tokens.revocations?.isCurrent() ?? true
            } catch {
                context.authFailure = error.description
            }
        } else {
            context.authFailure = "use an Authorization: Bearer token"
        }
        return try await next(request, context)
    }

    /// The token of `Bearer <token>` (the scheme in any case, RFC 9110 §11.1), without the spaces or tabs around it.
    static func bearerToken(_ authorization: String) -> String? {
        let utf8 = authorization.utf8
        let scheme = "bearer".utf8
        guard utf8.count > scheme.count, let space = utf8.firstIndex(of: UInt8(ascii: " ")),
            utf8.distance(from: utf8.startIndex, to: space) == scheme.count,
            zip(utf8[..<space], scheme).allSatisfy({ $0 | 0x20 == $1 })
        else { return nil }
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let rest = utf8[utf8.index(after: space)...]
        guard let first = rest.firstIndex(where: { !isBlank($0) }), let last = rest.lastIndex(where: { !isBlank($0) }) else {
            return nil
        }
        return String(Substring(authorization.utf8[first...last]))
    }
}

/// Runs a request's database work in the pool class of its caller: other services (service token) keep
/// their reserved share and their place ahead of clients' requests, so a flood of public reads cannot starve
/// checkout's lookups.
package struct DatabaseCallerMiddleware: RouterMiddleware {
    package typealias Context = EcomRequestContext

    package init() {}

    package func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let caller: PostgresPool.Caller = context.principal?.role == .service ? .service : .request
        return try await PostgresPool.$caller.withValue(caller) { try await next(request, context) }
    }
}

extension HTTPField.Name {
    package static let requestID = Self("X-Request-ID")!
    package static let idempotencyKey = Self("Idempotency-Key")!
    package static let idempotentReplayed = Self("Idempotent-Replayed")!
    package static let xForwardedFor = Self("X-Forwarded-For")!
}
