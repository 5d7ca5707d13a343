import EcomAPI
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Decodes JSON request bodies and turns every way they can be wrong into a 4xx in the ecom shape.
package struct StrictJSONDecoder: RequestDecoder {
    package init() {}

    package func decode<T: Decodable>(
        _ type: T.Type, from request: Request, context: some RequestContext
    ) async throws -> T {
        if let contentType = request.headers[.contentType],
            !contentType.lowercased().hasPrefix("application/json")
        {
            throw APIError(
                .unsupportedMediaType, code: ErrorCode.unsupportedMediaType,
                message: "send the body as application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch let error as NIOTooManyBytesError {
            _ = error
            throw APIError.from(status: .contentTooLarge)
        }
        return try Self.decode(type, from: Data(buffer.readableBytesView))
    }

    /// Decodes `type` from `data`, parsed once, with unknown keys refused as `StrictDecoder` does.
    package static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do {
            return try JSONDecoder.ecom.decode(StrictBody<T>.self, from: data).value
        } catch let error as DecodingError {
            throw Self.apiError(for: error)
        }
    }

    static func apiError(for error: DecodingError) -> APIError {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            StrictDecoder.field(codingPath + (last.map { [$0] } ?? []))
        }
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath, key)
            return .invalidField(field, "\(field) is required")
        case .valueNotFound(_, let context):
            let field = path(context.codingPath)
            return .invalidField(field, "\(field) must not be null")
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return .invalidField(field, "\(field) must be \(Self.describe(type))")
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            return field.isEmpty
                ? .badRequest(ErrorCode.invalidBody, "the body is not valid JSON")
                : .invalidField(field, "\(field) has an invalid value")
        @unknown default:
            return .badRequest(ErrorCode.invalidBody, "the body could not be read")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type: return "an integer"
        case is Double.Type: return "a number"
        default: return "of another type"
        }
    }
}

extension Credentials: APIRequestBody {}
extension RefreshRequest: APIRequestBody {}
extension PasswordChange: APIRequestBody {}
extension UserUpdate: APIPatchBody {}

// MARK: - Query parameters

extension Request {
    /// `?limit=` clamped to `1...Pagination.maximumLimit`; a value that is not a positive integer is a 400.
    ///
    /// Any positive integer is accepted, however many digits it has: a page is simply never
    /// larger than the maximum.
    package func pageLimit() throws -> Int {
        guard let text = uri.queryParameters.get("limit") else { return Pagination.defaultLimit }
        var digits = Substring(text)
        if digits.first == "+" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }), digits.contains(where: { $0 != "0" }) else {
            throw APIError.badRequest(ErrorCode.invalidQuery, "limit must be a positive integer", field: "limit")
        }
        return min(Int(digits) ?? Pagination.maximumLimit, Pagination.maximumLimit)
    }

    package func queryString(_ name: String) -> String? {
        uri.queryParameters.get(name)
    }

    /// `?id_prefix=`: 1 to 32 hex digits, as the CLI shortens ids; nil when absent, else a 400.
    package func idPrefix() throws -> IDPrefix? {
        guard let text = queryString("id_prefix") else { return nil }
        guard let prefix = IDPrefix(text) else {
            throw APIError.badRequest(
                ErrorCode.invalidQuery, "id_prefix must be 1 to 32 hexadecimal digits (the start of an id, without dashes)",
                field: "id_prefix")
        }
        return prefix
    }
}

/// The ids that start with some hex digits, as a closed range of UUIDs.
///
/// PostgreSQL orders `uuid` by its bytes, which is the order of the hex text, so "4c1b" is every id
/// between 4c1b0000-0000-… and 4c1bffff-ffff-…: a range the primary key's btree index answers, with
/// no extra index on `id::text` (which `LIKE '4c1b%'` would need) to keep up to date.
package struct IDPrefix: Sendable, Equatable {
    package var lower: UUID
    package var upper: UUID

    package init?(_ text: String) {
        let digits = text.lowercased()
        guard (1...32).contains(digits.utf8.count), digits.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return nil }
        func uuid(padding: Character) -> UUID? {
            var hex = digits + String(repeating: padding, count: 32 - digits.count)
            for offset in [8, 13, 18, 23] { hex.insert("-", at: hex.index(hex.startIndex, offsetBy: offset)) }
            return UUID(uuidString: hex)
        }
        guard let lower = uuid(padding: "0"), let upper = uuid(padding: "f") else { return nil }
        self.lower = lower
        self.upper = upper
    }
}

/// Opaque pagination cursors: the sort key of the last item returned, base64url-encoded.
package enum Cursor {
    package static func encode(_ parts: [String]) -> String {
        ((try? JSONEncoder().encode(parts)) ?? Data()).base64URLEncodedString()
    }

    /// A cursor made of a timestamp as PostgreSQL prints it (so no precision is lost between
    /// pages) and an id: the keyset of lists ordered by (timestamp, id).
    package static func encode(timestamp: String, id: UUID) -> String {
        encode([timestamp, id.uuidString.lowercased()])
    }

    /// The timestamp and id of a cursor made by `encode(timestamp:id:)`, or 400 `invalid_query`.
    package static func decodeTimestampKey(_ cursor: String) throws -> (timestamp: String, id: UUID) {
        let parts = try decode(cursor, count: 2)
        guard parts[0].count <= 40, parts[0].allSatisfy({ "0123456789-:. +".contains($0) }),
            let id = UUID(uuidString: parts[1])
        else {
            throw APIError.badRequest(ErrorCode.invalidQuery, "cursor is not valid", field: "cursor")
        }
        return (parts[0], id)
    }

    /// The longest cursor a service hands out (a product name of 200 characters and an id, encoded) fits well within it.
    package static let maximumLength = 2048

    /// The parts of a cursor this service made, or 400 `invalid_query`.
    package static func decode(_ cursor: String, count: Int) throws -> [String] {
        guard cursor.utf8.count <= maximumLength else {
            throw APIError.badRequest(ErrorCode.invalidQuery, "cursor must be at most \(maximumLength) characters", field: "cursor")
        }
        guard let data = Data(base64URL: cursor),
            let parts = try? JSONDecoder().decode([String].self, from: data), parts.count == count
        else {
            throw APIError.badRequest(ErrorCode.invalidQuery, "cursor is not valid", field: "cursor")
        }
        return parts
    }
}
