import EcomAPI
import EcomPostgres
import Foundation
import Hummingbird
import NIOFoundationCompat
import HummingbirdTesting
import Testing

@testable import EcomServerKit

struct Sample: Decodable, APIRequestBody {
    var email: String
    var quantity: Int

    enum CodingKeys: String, CodingKey, CaseIterable {
        case email, quantity
    }
}

struct SamplePatch: Decodable, APIPatchBody {
    var email: String?
    var quantity: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case email, quantity
    }
}

@Suite struct ErrorMappingTests {
    static func makeRouter() -> Router<EcomRequestContext> {
        let router = Router(context: EcomRequestContext.self)
        router.add(middleware: RequestLogMiddleware(service: "test"))
        router.get("/conflict") { _, _ -> String in throw APIError.conflict("insufficient_stock", "not enough", field: "quantity") }
        router.get("/database-down") { _, _ -> String in
            throw SQLError(kind: .connectionFailure, sqlState: nil, constraint: nil, message: "connection refused")
        }
        router.get("/database-busy") { _, _ -> String in throw PostgresPoolBusy(caller: .request, waited: .seconds(5)) }
        router.get("/unexpected") { _, _ -> String in throw CocoaError(.fileNoSuchFile) }
        router.get("/items/:id") { _, context -> String in try context.uuidParameter().uuidString }
        router.post("/items/import") { _, _ -> String in "imported" }
        router.get("/limit") { request, _ -> String in String(try request.pageLimit()) }
        router.post("/sample") { request, context -> String in
            let body = try await request.decode(as: Sample.self, context: context)
            return "\(body.email) \(body.quantity)"
        }
        router.patch("/sample") { request, context -> String in
            let body = try await request.decode(as: SamplePatch.self, context: context)
            return "\(body.email ?? "-") \(body.quantity ?? 0)"
        }
        return router
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var method: HTTPRequest.Method
        var path: String
        var body: String?
        var status: HTTPResponse.Status
        var code: String
        var testDescription: String { "\(method) \(path) \(body ?? "") → \(status.code) \(code)" }
    }

    static let cases: [Case] = [
        Case(method: .get, path: "/conflict", status: .conflict, code: "insufficient_stock"),
        Case(method: .get, path: "/database-down", status: .serviceUnavailable, code: ErrorCode.serviceUnavailable),
        Case(method: .get, path: "/database-busy", status: .serviceUnavailable, code: ErrorCode.serviceBusy),
        Case(method: .get, path: "/unexpected", status: .internalServerError, code: ErrorCode.internalError),
        Case(method: .get, path: "/nowhere", status: .notFound, code: ErrorCode.routeNotFound),
        Case(method: .get, path: "/items/not-a-uuid", status: .badRequest, code: ErrorCode.invalidID),
        Case(method: .get, path: "/limit?limit=0", status: .badRequest, code: ErrorCode.invalidQuery),
        Case(method: .get, path: "/limit?limit=ten", status: .badRequest, code: ErrorCode.invalidQuery),
        Case(method: .get, path: "/limit?limit=-3", status: .badRequest, code: ErrorCode.invalidQuery),
        Case(method: .get, path: "/limit?limit=000", status: .badRequest, code: ErrorCode.invalidQuery),
        Case(method: .get, path: "/limit?limit=", status: .badRequest, code: ErrorCode.invalidQuery),
        Case(method: .get, path: "/limit?limit=1.5", status: .badRequest, code: ErrorCode.invalidQuery),
        Case(method: .post, path: "/sample", body: "{", status: .badRequest, code: ErrorCode.invalidBody),
        Case(method: .post, path: "/sample", body: "[1]", status: .badRequest, code: ErrorCode.invalidBody),
        Case(method: .post, path: "/sample", body: #"{"email":"a@b.co"}"#, status: .badRequest, code: ErrorCode.invalidField),
        Case(method: .post, path: "/sample", body: #"{"email":"a@b.co","quantity":"2"}"#, status: .badRequest, code: ErrorCode.invalidField),
        Case(method: .post, path: "/sample", body: #"{"email":"a@b.co","quantity":2,"role":"admin"}"#, status: .badRequest, code: ErrorCode.unknownField),
        Case(method: .post, path: "/sample", body: #"{"email":null,"quantity":2}"#, status: .badRequest, code: ErrorCode.invalidField),
        Case(method: .post, path: "/sample", body: String(repeating: " ", count: 1024 * 1024 + 10), status: .contentTooLarge, code: ErrorCode.payloadTooLarge),
        Case(method: .patch, path: "/sample", body: #"{"email":"a@b.co","quantity":null}"#, status: .badRequest, code: ErrorCode.invalidField),
    ]

    @Test("errors map to their status and stable code", arguments: cases)
    func mapping(_ example: Case) async throws {
        let app = Application(router: Self.makeRouter())
        try await app.test(.router) { client in
            let body = example.body.map { ByteBuffer(string: $0) }
            try await client.execute(
                uri: example.path, method: example.method, headers: [.contentType: "application/json"], body: body
            ) { response in
                #expect(response.status == example.status)
                #expect(response.headers[.requestID] != nil)
                if example.status == .serviceUnavailable { #expect(response.headers[.retryAfter] == "1") }
                let error = try JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                #expect(error.error.code == example.code)
                #expect(!error.error.message.contains("Cocoa"))
            }
        }
    }

    @Test("a limit above the cap is clamped, not refused, however many digits it has", arguments: [
        ("1000000", "100"), ("99999999999999999999999999", "100"), ("007", "7"), ("100", "100"), ("1", "1"),
    ])
    func limitClamped(_ limit: String, _ served: String) async throws {
        let app = Application(router: Self.makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/limit?limit=\(limit)", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == served)
            }
        }
    }

    @Test("a path a route serves, asked with another method, is 405 with Allow; an unknown path stays 404")
    func methodNotAllowed() async throws {
        let router = Self.makeRouter()
        router.add(middleware: MethodNotAllowedMiddleware(routes: router.serviceRoutes))
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/items/abc", method: .delete) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET")
                let error = try? JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                #expect(error?.error.code == ErrorCode.methodNotAllowed)
            }
            try await client.execute(uri: "/sample", method: .put) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "PATCH, POST")
            }
            // A literal segment wins over a parameter, as in the router.
            try await client.execute(uri: "/items/import", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
            }
            try await client.execute(uri: "/items/abc/more", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/items/abc", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test("a caller's request id is kept, a hostile one replaced")
    func requestID() async throws {
        let app = Application(router: Self.makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/limit", method: .get, headers: [.requestID: "abc-123"]) { response in
                #expect(response.headers[.requestID] == "abc-123")
            }
            try await client.execute(uri: "/limit", method: .get, headers: [.requestID: "bad id\nINFO forged"]) { response in
                #expect(response.headers[.requestID] != "bad id\nINFO forged")
                #expect(UUID(uuidString: response.headers[.requestID] ?? "") != nil)
            }
        }
    }

    @Test("cursors round-trip and tampered ones are refused")
    func cursors() throws {
        let cursor = Cursor.encode(["2026-11-25 19:56:48.123456+00", "abc"])
        #expect(try Cursor.decode(cursor, count: 2) == ["2026-11-25 19:56:48.123456+00", "abc"])
        #expect(throws: APIError.self) { try Cursor.decode(cursor, count: 3) }
        #expect(throws: APIError.self) { try Cursor.decode("!!!", count: 2) }
        // Inputs whose standard base64 has "+", "/" and padding: the cursor is URL-safe and round-trips.
        for parts in [["???", ">>>"], ["a", "ÿÿ"], ["ab~~", "é"]] {
            let cursor = Cursor.encode(parts)
            #expect(cursor.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }, "\(cursor)")
            #expect(try Cursor.decode(cursor, count: 2) == parts)
        }
    }
}
