import EcomAPI
import Foundation
import Hummingbird
import Logging
import NIOCore

/// The request context of every ecom service and the gateway.
package struct EcomRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// The `X-Request-ID` of this request, taken from the caller or made here.
    package var requestID: String = ""
    /// Who the bearer token says the caller is, once `AuthMiddleware` has verified it.
    package var principal: Principal?
    /// Why a presented token was refused, so a route that needs one can say so.
    package var authFailure: String?
    /// Whether this process has read the revocation feed recently enough to trust an admin token.
    package var revocationsCurrent = true
    package let remoteAddress: String?
    /// Whether the client is still there; nil for connections no limited listener accepted (tests).
    package let connection: ConnectionWatch?
    /// Whether the request was handed over in memory by a caller in this process, which answers
    /// for it: the gateway for a client's request, or another service.
    package private(set) var isInProcess = false

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
        self.connection = ConnectionWatch.registered(for: source.channel)
    }

    /// The context of a request handed over in memory by a caller in this process (`LocalServices`): no
    /// connection of its own, since the caller's stands for it and cancels this request when it goes.
    package init(inProcess logger: Logger) {
        self.coreContext = .init(source: InProcessSource(logger: logger))
        self.remoteAddress = nil
        self.connection = nil
        self.isInProcess = true
    }

    package var maxUploadSize: Int { 1024 * 1024 }
    package var requestDecoder: StrictJSONDecoder { StrictJSONDecoder() }
    package var responseEncoder: JSONEncoder { .ecom }
}

extension EcomRequestContext {
    /// The signed-in account (user or admin), or 401.
    package func requireAccount() throws -> SignedInAccount {
        guard let principal else { throw APIError.unauthorized(authFailure ?? "authentication required") }
        guard principal.role == .user || principal.role == .admin, let userID = principal.userID else {
            throw APIError.forbidden("this route is for accounts")
        }
        return SignedInAccount(userID: userID, role: principal.role, sessionID: principal.sessionID)
    }

    /// An admin account, or 401/403; 503 while the revocation feed is stale.
    package func requireAdmin() throws -> SignedInAccount {
        let account = try requireAccount()
        guard account.role == .admin else { throw APIError.forbidden("admin role required") }
        // A demoted admin's token could not be told apart: fail closed.
        guard revocationsCurrent else { throw APIError.revocationsUnavailable }
        return account
    }

    /// Another ecom service holding a service token, or 401/403.
    package func requireService() throws -> Principal {
        guard let principal else { throw APIError.unauthorized(authFailure ?? "authentication required") }
        guard principal.role == .service else { throw APIError.forbidden("service token required") }
        return principal
    }

    /// The path parameter `name` as a UUID, or 400 `invalid_id`.
    package func uuidParameter(_ name: String = "id") throws -> UUID {
        guard let text = parameters.get(name), let id = UUID(hyphenated: text) else {
            throw APIError.badRequest(ErrorCode.invalidID, "\(name) must be a UUID", field: name)
        }
        return id
    }
}

/// Where an in-process request's context comes from: only the caller's logger.
struct InProcessSource: RequestContextSource {
    let logger: Logger
}
