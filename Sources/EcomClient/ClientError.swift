import EcomAPI
import Foundation

/// Why a call to the gateway failed.
package enum ClientError: Error, Equatable, Sendable {
    /// The server answered with an error status and (usually) the API's error body.
    case api(APIFailure)
    /// No HTTP answer at all: connection refused, unknown host, timeout, TLS failure.
    case unreachable(server: String, reason: String)
    /// The command needs a signed-in session and there is none for this server.
    case notSignedIn(server: String)
    /// The access token was refused and the refresh token could not replace it.
    case sessionExpired(server: String)
    /// The server answered something that is not the API's JSON.
    case invalidResponse(status: Int, detail: String)

    /// The process exit status for this failure (DESIGN §8): 4 authentication, 69 unreachable, 1 otherwise.
    package var exitStatus: Int32 {
        switch self {
        case .api(let failure) where failure.status == 401 || failure.status == 403: 4
        case .notSignedIn, .sessionExpired: 4
        case .unreachable: 69
        case .api, .invalidResponse: 1
        }
    }
}

/// An error answer of the API: the status, and the `{"error": {"code", "message", "field"}}` body.
package struct APIFailure: Equatable, Sendable {
    package var status: Int
    package var code: String
    package var message: String
    package var field: String?
    /// The `X-Request-ID` of the failed call, to quote when reporting a server error.
    package var requestID: String?

    package init(status: Int, code: String, message: String, field: String? = nil, requestID: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.requestID = requestID
    }
}

extension ClientError: LocalizedError {
    package var errorDescription: String? {
        switch self {
        case .api(let failure):
            var text = failure.message
            if let field = failure.field, !text.contains(field), !text.contains(field.replacingOccurrences(of: "_", with: " ")) {
                text += " (\(field))"
            }
            if failure.status >= 500, let id = failure.requestID { text += " [request id \(id)]" }
            return text
        case .unreachable(let server, let reason):
            return "cannot reach \(server) (\(reason)); is ecom serve running?"
        case .notSignedIn(let server):
            return "not logged in to \(server); run `ecom login`"
        case .sessionExpired(let server):
            return "session for \(server) expired; run `ecom login`"
        case .invalidResponse(let status, let detail):
            return "unexpected answer from the server (HTTP \(status)): \(detail)"
        }
    }
}
