import Foundation

/// The one error body every ecom service answers with:
/// `{"error": {"code": "insufficient_stock", "message": "…", "field": "quantity"}}`.
///
/// `code` is stable and meant for programs; `message` is for people and may change.
package struct APIErrorBody: Codable, Sendable, Equatable {
    package struct Detail: Codable, Sendable, Equatable {
        package var code: String
        package var message: String
        package var field: String?

        package init(code: String, message: String, field: String? = nil) {
            self.code = code
            self.message = message
            self.field = field
        }
    }

    package var error: Detail

    package init(code: String, message: String, field: String? = nil) {
        self.error = Detail(code: code, message: message, field: field)
    }
}

/// Machine codes shared by the services and the client.
package enum ErrorCode {
    package static let invalidBody = "invalid_body"
    package static let invalidField = "invalid_field"
    package static let unknownField = "unknown_field"
    package static let invalidID = "invalid_id"
    package static let invalidQuery = "invalid_query"
    package static let invalidHeader = "invalid_header"
    package static let notFound = "not_found"
    package static let routeNotFound = "route_not_found"
    package static let methodNotAllowed = "method_not_allowed"
    package static let unauthorized = "unauthorized"
    package static let invalidCredentials = "invalid_credentials"
    package static let invalidRefreshToken = "invalid_refresh_token"
    package static let forbidden = "forbidden"
    package static let accountDisabled = "account_disabled"
    package static let emailTaken = "email_taken"
    package static let conflict = "conflict"
    package static let tooManyRequests = "too_many_requests"
    package static let payloadTooLarge = "payload_too_large"
    package static let unsupportedMediaType = "unsupported_media_type"
    package static let serviceUnavailable = "service_unavailable"
    /// Too many requests wait for the service's database, or its listener is full: retry after `Retry-After`.
    package static let serviceBusy = "service_busy"
    /// Admin routes while a service cannot read the users service's revocation feed (503).
    package static let revocationsUnavailable = "revocations_unavailable"
    package static let badGateway = "bad_gateway"
    package static let gatewayTimeout = "gateway_timeout"
    package static let internalError = "internal"
}
