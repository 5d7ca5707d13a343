import EcomAPI
import EcomPostgres
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Synchronization

/// Outermost middleware: gives every request an id, answers every error in the ecom shape,
/// and logs one line per request (method, path, status, duration, request id): at info for a
/// request a client sent, at debug for one answered in memory for a caller in the process and for
/// a probe that passed (`GET /health`, `/ready` or `/metrics` answered 2xx), which a load balancer
/// or a scraper repeats every few seconds; a probe that fails keeps its line at info.
package struct RequestLogMiddleware: RouterMiddleware {
    package typealias Context = EcomRequestContext

    let service: String
    private let durations: DurationTimers

    package init(service: String) {
        self.service = service
        durations = DurationTimers(service: service)
    }

    package func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        let presented = request.headers[.requestID]
        let requestID = Self.acceptableRequestID(presented) ?? RequestIDs.next()
        context.requestID = requestID
        context.logger[metadataKey: "request_id"] = .string(requestID)

        var response: Response
        do {
            if let presented, presented.utf8.count > Self.maximumRequestIDLength {
                throw APIError.badRequest(
                    ErrorCode.invalidHeader, "X-Request-ID must be at most \(Self.maximumRequestIDLength) characters",
                    field: "X-Request-ID")
            }
            response = try await next(request, context)
        } catch {
            response = try Self.errorResponse(for: error, request: request, context: context)
        }
        // Appended unless the answer has one already (a proxied answer carries the service's): cheaper than
        // replacing.
        if response.headers.contains(.requestID) {
            response.headers[.requestID] = requestID
        } else {
            response.headers.append(HTTPField(name: .requestID, value: requestID))
        }

        let elapsed = ContinuousClock.now - start
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        // At info, one line per request a client sent this process: what a service in this process
        // answers in memory (a client's request the gateway hands over, a call between services)
        // is logged at debug, its caller's line standing for it; so is a probe that passed, which
        // a load balancer repeats every few seconds (a `/ready` of the gateway checks each
        // service's `/health` over HTTP: seven lines a probe).
        context.logger.log(
            level: context.isInProcess || Self.isPassedProbe(request, status: response.status) ? .debug : .info,
            "\(request.method) \(request.uri.path) \(response.status.code) \(Self.milliseconds(nanoseconds))ms",
            metadata: ["service": .string(service)])
        durations.timer(status: response.status.code).recordNanoseconds(nanoseconds)
        return response
    }

    /// A liveness, readiness or metrics probe that was answered 2xx.
    static func isPassedProbe(_ request: Request, status: HTTPResponse.Status) -> Bool {
        (request.method == .get || request.method == .head) && status.kind == .successful && OperationalPath.all.contains(request.uri.path)
    }

    /// `nanoseconds` in milliseconds to a tenth, as `String(format: "%.1f")` writes them, without Foundation.
    static func milliseconds(_ nanoseconds: Int64) -> String {
        let tenths = (max(0, nanoseconds) + 50_000) / 100_000
        return "\(tenths / 10).\(tenths % 10)"
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

/// The `ecom_http_request_duration_seconds` timer of each status a service has answered, made on first use
/// (after the metrics backend is in place) rather than looked up in the registry on every request.
private final class DurationTimers: Sendable {
    private let service: String
    private let timers = Mutex<[Int: Timer]>([:])

    init(service: String) {
        self.service = service
    }

    func timer(status: Int) -> Timer {
        timers.withLock { timers in
            if let timer = timers[status] { return timer }
            let timer = Timer(label: "ecom_http_request_duration_seconds", dimensions: [("service", service), ("status", String(status))])
            timers[status] = timer
            return timer
        }
    }
}

/// Request ids of the form of a random (version 4) UUID in lowercase, made without Foundation or a system
/// call: a counter scrambled by a bijection under a random per-process key, so that ids never repeat within a
/// process and collide across processes no more often than random UUIDs do. They need not be unpredictable:
/// a caller may choose its own.
enum RequestIDs {
    private static let key: (UInt64, UInt64) = {
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next())
    }()
    private static let counter = Atomic<UInt64>(0)

    static func next() -> String {
        let count = counter.wrappingAdd(1, ordering: .relaxed).newValue
        let high = mix(count &+ key.0)
        let low = mix(high ^ key.1)
        return format(high: high, low: low)
    }

    /// The UUID text of these 128 bits, with the version (4) and variant (RFC 9562) bits set.
    static func format(high: UInt64, low: UInt64) -> String {
        let high = (high & ~0xF000) | 0x4000
        let low = (low & ~(0xC << 60)) | (0x8 << 60)
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { raw in
            raw.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        return UUID(uuid: bytes).lowercased
    }

    /// SplitMix64's finalizer: a bijection on 64 bits that spreads each input bit over the output.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
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
                var principal = try await tokens.verify(token)
                if let revocations = tokens.revocations {
                    context.revocationsCurrent = revocations.isCurrent()
                    // Admin routes need a current table: read the feed now rather than refuse
                    // because the poller came late, and check the token again against what it read.
                    if !context.revocationsCurrent && principal.role == .admin, await revocations.catchUp() {
                        principal = try await tokens.verify(token)
                        context.revocationsCurrent = true
                    }
                }
                context.principal = principal
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
