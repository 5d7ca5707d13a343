import HTTPTypes

/// A request a route must refuse, with the status, error code and field it answers: one row of a
/// service's table of bad input and wrong callers.
package struct RefusedRequest: Sendable, CustomStringConvertible {
    /// Who sends the request; each service's tests hold a token for each.
    package enum Caller: Sendable { case anonymous, user, admin, service }

    package var method: HTTPRequest.Method
    /// Tests may let placeholders such as `{id}` stand for what exists only once they run.
    package var path: String
    package var body: String?
    package var caller: Caller
    package var status: HTTPResponse.Status
    package var code: String
    package var field: String?

    package init(
        method: HTTPRequest.Method, path: String, body: String? = nil, caller: Caller = .admin, status: HTTPResponse.Status,
        code: String, field: String? = nil
    ) {
        self.method = method
        self.path = path
        self.body = body
        self.caller = caller
        self.status = status
        self.code = code
        self.field = field
    }

    package var description: String { "\(method) \(path) \(body ?? "") → \(status.code) \(code)" }
}
