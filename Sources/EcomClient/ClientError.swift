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
    /// A freshly refreshed access token was refused as well.
    case sessionExpired(server: String)
    /// The server refused the session's refresh token, so the session is over and was forgotten;
    /// `email` is the account it was for, to sign in again.
    case sessionEnded(server: String, email: String?, cause: SessionEndCause)
    /// The server answered something that is not the API's JSON.
    case invalidResponse(status: Int, detail: String)

    /// The process exit status for this failure (DESIGN §8): 4 authentication, 69 unreachable, 1 otherwise.
    package var exitStatus: Int32 {
        switch self {
        case .api(let failure) where failure.status == 401 || failure.status == 403: 4
        case .notSignedIn, .sessionExpired, .sessionEnded: 4
        case .unreachable: 69
        case .api, .invalidResponse: 1
        }
    }

    /// Whether the server was busy or lost a service's answer (429, 502, 503, 504): the same read
    /// may succeed a moment later.
    package var isTransient: Bool {
        guard case .api(let failure) = self else { return false }
        return [429, 502, 503, 504].contains(failure.status)
    }
}

/// Why the server no longer accepts a session's refresh token, as far as the client can tell.
package enum SessionEndCause: Sendable, Equatable {
    /// An earlier refresh was sent and its answer never came: the server most likely rotated the
    /// token then, and took the next use of the old one for theft.
    case refreshAnswerLost
    /// Signed out elsewhere, revoked by a password change or a disabled account, or expired.
    case refused
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
        case .sessionEnded(let server, let email, let cause):
            let login = email.map { "ecom login --email \($0)" } ?? "ecom login"
            switch cause {
            case .refreshAnswerLost:
                return """
                    session for \(server) ended: the answer to an earlier token refresh was lost (timeout or dropped \
                    connection), and the server, seeing that refresh token used again, revoked the session; \
                    sign in again with `\(login)`
                    """
            case .refused:
                return """
                    session for \(server) ended: the server no longer accepts its refresh token (signed out or \
                    revoked elsewhere, password changed, account disabled, or unused for 30 days); \
                    sign in again with `\(login)`
                    """
            }
        case .invalidResponse(let status, let detail):
            return "unexpected answer from the server (HTTP \(status)): \(detail)"
        }
    }
}
