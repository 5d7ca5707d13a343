import EcomAPI
import EcomClient
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A transport that answers from a closure and remembers every request.
final class FakeTransport: HTTPTransport {
    typealias Handler = @Sendable (URLRequest) async throws -> (status: Int, body: Data)

    private let handler: Handler
    private let recorded = Mutex<[URLRequest]>([])

    init(_ handler: @escaping Handler) {
        self.handler = handler
    }

    var requests: [URLRequest] { recorded.withLock { $0 } }

    func send(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        recorded.withLock { $0.append(request) }
        let (status, body) = try await handler(request)
        let response = HTTPURLResponse(url: request.url!, statusCode: status, httpVersion: "HTTP/1.1", headerFields: [:])!
        return (body, response)
    }
}

/// A count that escaping closures can share.
final class Counter: Sendable {
    private let value = Mutex(0)

    /// Adds one and returns the new count.
    @discardableResult
    func next() -> Int { value.withLock { $0 += 1; return $0 } }

    var count: Int { value.withLock { $0 } }
}

enum Fixtures {
    static let server = URL(string: "http://store.test:8080")!
    static let user = User(
        id: UUID(uuidString: "11111111-2222-3333-4444-555555555555")!, email: "ann@example.com", role: .user, disabled: false,
        createdAt: Date(timeIntervalSince1970: 1_767_225_600))

    static func session(_ token: String, refresh: String) -> Session {
        Session(token: token, refreshToken: refresh, user: user)
    }

    static func pair(_ token: String, refresh: String) -> Data {
        try! JSONEncoder.ecom.encode(TokenPair(token: token, refreshToken: refresh, expiresIn: 900, user: user))
    }

    static func error(_ code: String, _ message: String, field: String? = nil) -> Data {
        try! JSONEncoder.ecom.encode(APIErrorBody(code: code, message: message, field: field))
    }

    static func json(_ value: some Encodable) -> Data {
        try! JSONEncoder.ecom.encode(value)
    }

    /// A credentials store in a fresh temporary directory.
    static func store(lockTimeout: Duration = .seconds(15)) -> CredentialsStore {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-client-\(UUID().uuidString)")
        return CredentialsStore(file: directory.appendingPathComponent("ecom/credentials.json"), lockTimeout: lockTimeout)
    }
}

extension URLRequest {
    var bearer: String? {
        value(forHTTPHeaderField: "Authorization").map { String($0.dropFirst("Bearer ".count)) }
    }
}
