import EcomAPI
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A typed client of the ecom gateway for one server.
///
/// Signed-in calls read the access token from the credentials store. When the server refuses
/// it (401), the client refreshes once under the store's lock, saves the new pair and repeats
/// the call once; a refresh token the server no longer accepts ends the session. A refresh whose
/// answer never came keeps the stored token (the server may not have seen the request) and
/// remembers it, so that if the server later refuses that token the user learns why.
package struct GatewayClient: Sendable {
    package let server: URL
    package let credentials: CredentialsStore
    private let transport: any HTTPTransport
    /// The longest one exchange takes before the transport gives up on it.
    package let timeout: Duration

    package static let defaultTimeout: Duration = .seconds(30)
    /// Time for the credentials file's read and write around a refresh, on top of the request's own.
    static let refreshLockMargin: Duration = .seconds(5)

    package init(server: URL, credentials: CredentialsStore, transport: any HTTPTransport, timeout: Duration = Self.defaultTimeout) {
        self.server = server
        self.credentials = credentials
        self.transport = transport
        self.timeout = timeout
    }

    package init(server: URL, credentials: CredentialsStore, timeout: Duration = Self.defaultTimeout) {
        self.init(server: server, credentials: credentials, transport: URLSessionTransport.make(timeout: timeout), timeout: timeout)
    }

    /// The server as it appears in messages and as the credentials key.
    package var serverName: String { CredentialsStore.key(for: server) }

    // MARK: - Requests

    package enum Method: String, Sendable {
        case get = "GET", post = "POST", patch = "PATCH", delete = "DELETE"
    }

    /// One call of the API, before it is sent.
    package struct Request: Sendable {
        var method: Method
        var path: String
        var query: [URLQueryItem] = []
        var body: Data?
        var headers: [String: String] = [:]
        /// Whether the call carries the session's access token.
        var signedIn: Bool

        init(_ method: Method, _ path: String, query: [URLQueryItem] = [], signedIn: Bool) {
            self.method = method
            self.path = path
            self.query = query
            self.signedIn = signedIn
        }

        init(_ method: Method, _ path: String, json: some Encodable, signedIn: Bool) throws {
            self.init(method, path, signedIn: signedIn)
            body = try JSONEncoder.ecom.encode(json)
        }
    }

    /// A whole answer.
    package struct Reply: Sendable {
        var status: Int
        var body: Data
        var requestID: String
        /// The server answered as it did to an earlier request with the same idempotency key.
        var replayed = false

        func decode<T: Decodable>(_: T.Type = T.self) throws -> T {
            do {
                return try JSONDecoder.ecom.decode(T.self, from: body)
            } catch {
                throw ClientError.invalidResponse(status: status, detail: "cannot read \(T.self): \(error)")
            }
        }
    }

    /// Sends `request` and returns the answer if its status is 2xx; throws `ClientError` otherwise.
    func send(_ request: Request) async throws -> Reply {
        let reply: Reply
        if request.signedIn {
            reply = try await sendSignedIn(request)
        } else {
            reply = try await perform(request, token: nil)
        }
        guard (200..<300).contains(reply.status) else { throw failure(reply) }
        return reply
    }

    private func sendSignedIn(_ request: Request) async throws -> Reply {
        guard let session = try credentials.session(for: server) else { throw ClientError.notSignedIn(server: serverName) }
        let reply = try await perform(request, token: session.token)
        guard reply.status == 401 else { return reply }
        let renewed = try await refresh(replacing: session.token)
        let retried = try await perform(request, token: renewed.token)
        if retried.status == 401 { throw ClientError.sessionExpired(server: serverName) }
        return retried
    }

    /// What a refresh under the lock came to; decided inside the lock, acted on after it, so that
    /// what it changed in the credentials file is written even when the call fails.
    private enum RefreshResult {
        case renewed(Session)
        case ended(email: String?, cause: SessionEndCause)
        case failed(any Error)
    }

    /// Replaces a refused access token, unless another process already did.
    ///
    /// Holding the store's lock across the call to `/api/refresh` is what keeps two `ecom`
    /// processes from presenting the same refresh token, which the server would take for theft
    /// and answer by revoking the whole family. The lock is declared held for the request's
    /// timeout, so other processes wait for this refresh rather than fail.
    func refresh(replacing staleToken: String) async throws -> Session {
        let key = serverName
        let result: RefreshResult = try await credentials.modify(holdingFor: timeout + Self.refreshLockMargin) { sessions in
            guard let current = sessions[key] else { return .failed(ClientError.notSignedIn(server: key)) }
            if current.token != staleToken { return .renewed(current) }
            let request = try Request(.post, "/api/refresh", json: RefreshRequest(refreshToken: current.refreshToken), signedIn: false)
            let reply: Reply
            do {
                reply = try await exchange(request, token: nil)
            } catch let error as URLError {
                if Self.mayHaveArrived(error) { sessions[key]?.refreshUnansweredAt = Date() }
                return .failed(ClientError.unreachable(server: key, reason: Self.reason(error)))
            } catch is CancellationError {
                // Abandoned mid-flight (Ctrl-C): the server may have rotated the token all the same.
                sessions[key]?.refreshUnansweredAt = Date()
                return .failed(CancellationError())
            }
            switch reply.status {
            case 200..<300:
                do {
                    let session = Session(try reply.decode(TokenPair.self))
                    sessions[key] = session
                    return .renewed(session)
                } catch {
                    // The server rotated the token, but its successor is unreadable: as good as lost.
                    sessions[key]?.refreshUnansweredAt = Date()
                    return .failed(error)
                }
            case 401, 403:
                sessions[key] = nil
                return .ended(email: current.user.email, cause: current.refreshUnansweredAt == nil ? .refused : .refreshAnswerLost)
            case 502, 504:
                // The gateway lost the users service's answer, or gave up waiting for it.
                sessions[key]?.refreshUnansweredAt = Date()
                return .failed(failure(reply))
            default:
                return .failed(failure(reply))
            }
        }
        switch result {
        case .renewed(let session): return session
        case .ended(let email, let cause): throw ClientError.sessionEnded(server: key, email: email, cause: cause)
        case .failed(let error): throw error
        }
    }

    /// Whether a request that failed this way may have reached the server: anything but a failure
    /// to connect at all.
    static func mayHaveArrived(_ error: URLError) -> Bool {
        switch error.code {
        case .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed, .notConnectedToInternet, .unsupportedURL, .badURL,
            .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            false
        default:
            true
        }
    }

    /// One HTTP exchange, with a fresh request id; transport failures become `.unreachable`.
    private func perform(_ request: Request, token: String?) async throws -> Reply {
        do {
            return try await exchange(request, token: token)
        } catch let error as URLError {
            throw ClientError.unreachable(server: serverName, reason: Self.reason(error))
        }
    }

    /// One HTTP exchange, with a fresh request id; transport failures are thrown as they come.
    private func exchange(_ request: Request, token: String?) async throws -> Reply {
        var components = URLComponents(url: server, resolvingAgainstBaseURL: false) ?? URLComponents()
        components.path = components.path.trimmingSuffix("/") + request.path
        if !request.query.isEmpty {
            components.queryItems = request.query
            // URLComponents leaves "+" alone, which servers read as a space.
            components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        }
        guard let url = components.url else { throw ClientError.unreachable(server: serverName, reason: "invalid URL") }

        let requestID = UUID().lowercased
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method.rawValue
        urlRequest.setValue("application/json", forHTTPHeaderField: "Accept")
        urlRequest.setValue(requestID, forHTTPHeaderField: "X-Request-ID")
        urlRequest.setValue("ecom-cli", forHTTPHeaderField: "User-Agent")
        if let token { urlRequest.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body = request.body {
            urlRequest.httpBody = body
            urlRequest.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }

        let (data, response) = try await transport.send(urlRequest)
        return Reply(
            status: response.statusCode, body: data,
            requestID: response.value(forHTTPHeaderField: "X-Request-ID") ?? requestID,
            replayed: response.value(forHTTPHeaderField: "Idempotent-Replayed") == "true")
    }

    func failure(_ reply: Reply) -> ClientError {
        if let body = try? JSONDecoder.ecom.decode(APIErrorBody.self, from: reply.body) {
            return .api(
                APIFailure(
                    status: reply.status, code: body.error.code, message: body.error.message, field: body.error.field,
                    requestID: reply.requestID))
        }
        // Every answer of the gateway that is an error carries the body above; one without it comes
        // from something else listening at that address (or a proxy in front of the gateway).
        let status = "\(reply.status) without an ecom error body"
        let message =
            reply.status == 404 || reply.status == 405
            ? "\(serverName) does not look like an ecom gateway (\(status)); check --server or ECOM_SERVER"
            : "\(serverName) answered HTTP \(status) (\(HTTPURLResponse.localizedString(forStatusCode: reply.status)))"
        return .api(APIFailure(status: reply.status, code: "http_\(reply.status)", message: message, requestID: reply.requestID))
    }

    package static func reason(_ error: URLError) -> String {
        switch error.code {
        case .cannotConnectToHost: "connection refused"
        case .cannotFindHost, .dnsLookupFailed: "host not found"
        case .timedOut: "timed out"
        case .networkConnectionLost: "connection lost"
        case .notConnectedToInternet: "no network"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            "TLS failed"
        case .unsupportedURL: "unsupported URL"
        default: error.localizedDescription
        }
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
