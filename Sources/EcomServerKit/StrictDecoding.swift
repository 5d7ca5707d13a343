import EcomAPI
import Foundation

/// A request body type whose keys are its `CodingKeys`: any other key is refused, at the top of a
/// body and in every object of this type nested inside one, so that a typo, or a field the caller
/// may not set (`role`, `id`), never passes silently.
package protocol APIRequestBody: Decodable {
    associatedtype CodingKeys: CodingKey & CaseIterable
}

extension APIRequestBody {
    // A closure, not `\.stringValue`: a key path on a generic parameter is instantiated anew at
    // every use, which a profile showed in every body decoded.
    static var fields: Set<String> { Set(CodingKeys.allCases.map { $0.stringValue }) }
}

/// A partial update: absent fields stay as they are, and `null` is refused rather than read as
/// absent, so a caller who sends `"role": null` learns that it changed nothing; only the fields
/// named in `clearableFields` take `null`, which takes them back to their default.
package protocol APIPatchBody: APIRequestBody {
    static var clearableFields: Set<String> { get }
}

extension APIPatchBody {
    package static var clearableFields: Set<String> { [] }
}

/// The one place where bodies are checked for keys their type does not name.
///
/// It wraps the decoder of `JSONDecoder` (so a body is parsed once) and, each time a value of an
/// `APIRequestBody` type is about to be decoded, looks at the keys of that object first: an
/// unknown key is reported before a missing or mistyped one, wherever the object is nested.
/// When a key appears twice, the first occurrence is the one checked and decoded, as `JSONDecoder` reads it.
struct StrictDecoder: Decoder {
    let base: any Decoder

    var codingPath: [any CodingKey] { base.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { base.userInfo }

    /// Decodes `type` from `base`, refusing unknown keys (and, for a patch, nulls but in its
    /// clearable fields) in its object and in every request body nested in it.
    static func decode<T: Decodable>(_ type: T.Type, from base: any Decoder) throws -> T {
        if let body = type as? any APIRequestBody.Type {
            var nullable: Set<String>?
            if let patch = type as? any APIPatchBody.Type { nullable = patch.clearableFields }
            try check(base, allowing: body.fields, nullable: nullable)
        }
        return try T(from: StrictDecoder(base: base))
    }

    /// `nullable` nil lets every field be null; otherwise only those it names.
    private static func check(_ decoder: any Decoder, allowing fields: Set<String>, nullable: Set<String>?) throws {
        func path(_ key: AnyCodingKey) -> String { field(decoder.codingPath + [key]) }
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        if let unknown = container.allKeys.filter({ !fields.contains($0.stringValue) }).min(by: Self.byName) {
            let field = path(unknown)
            throw APIError.badRequest(ErrorCode.unknownField, "unknown field \"\(field)\"", field: field)
        }
        if let nullable,
            let null = try container.allKeys.filter({ try !nullable.contains($0.stringValue) && container.decodeNil(forKey: $0) })
                .min(by: Self.byName)
        {
            let field = path(null)
            throw APIError.invalidField(field, "\(field) must not be null")
        }
    }

    /// How the API names the field at `codingPath`: `products.1.sku`.
    static func field(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    private static func byName(_ lhs: AnyCodingKey, _ rhs: AnyCodingKey) -> Bool { lhs.stringValue < rhs.stringValue }

    /// Values `JSONDecoder` reads itself, some by its own strategies (dates as RFC 3339 text), which
    /// must reach it unwrapped, and ids, which read themselves from a string; none of them holds a
    /// request body, so they skip the wrapping (a decoder of their own and a look for a body's
    /// conformance, for every id of every body). (The containers' `decode` of `Bool`, `Int` and
    /// the like come here through the generic one.) The types compared first are the common ones;
    /// the protocol checks, dearer, come last.
    static func isDecodedByJSONDecoder(_ type: Any.Type) -> Bool {
        type == LowercaseUUID.self || type == UUID.self || type == String.self || type == Int.self || type == Bool.self || type == Date.self
            || type == Data.self || type == URL.self || type == Decimal.self
            || type is any BinaryInteger.Type || type is any BinaryFloatingPoint.Type
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(StrictKeyedContainer(base: try base.container(keyedBy: type)))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        StrictUnkeyedContainer(base: try base.unkeyedContainer())
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        StrictSingleValueContainer(base: try base.singleValueContainer(), decoder: base)
    }
}

/// The top of a body: a JSON object, decoded strictly.
struct StrictBody<Value: Decodable>: Decodable {
    var value: Value

    init(from decoder: any Decoder) throws {
        do {
            _ = try decoder.container(keyedBy: AnyCodingKey.self)
        } catch is DecodingError {
            throw APIError.badRequest(ErrorCode.invalidBody, "the body must be a JSON object")
        }
        value = try StrictDecoder.decode(Value.self, from: decoder)
    }
}

struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
    }

    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

private struct StrictKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let base: KeyedDecodingContainer<Key>

    var codingPath: [any CodingKey] { base.codingPath }
    var allKeys: [Key] { base.allKeys }

    func contains(_ key: Key) -> Bool { base.contains(key) }
    func decodeNil(forKey key: Key) throws -> Bool { try base.decodeNil(forKey: key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        // An absent key goes to the base for its "is required" error.
        guard !StrictDecoder.isDecodedByJSONDecoder(type), base.contains(key) else { return try base.decode(type, forKey: key) }
        return try StrictDecoder.decode(type, from: base.superDecoder(forKey: key))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(StrictKeyedContainer<NestedKey>(base: try base.nestedContainer(keyedBy: type, forKey: key)))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        StrictUnkeyedContainer(base: try base.nestedUnkeyedContainer(forKey: key))
    }

    func superDecoder() throws -> any Decoder { StrictDecoder(base: try base.superDecoder()) }
    func superDecoder(forKey key: Key) throws -> any Decoder { StrictDecoder(base: try base.superDecoder(forKey: key)) }
}

private struct StrictUnkeyedContainer: UnkeyedDecodingContainer {
    var base: any UnkeyedDecodingContainer

    var codingPath: [any CodingKey] { base.codingPath }
    var count: Int? { base.count }
    var isAtEnd: Bool { base.isAtEnd }
    var currentIndex: Int { base.currentIndex }

    mutating func decodeNil() throws -> Bool { try base.decodeNil() }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard !StrictDecoder.isDecodedByJSONDecoder(type), !base.isAtEnd else { return try base.decode(type) }
        return try StrictDecoder.decode(type, from: base.superDecoder())
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(StrictKeyedContainer<NestedKey>(base: try base.nestedContainer(keyedBy: type)))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        StrictUnkeyedContainer(base: try base.nestedUnkeyedContainer())
    }

    mutating func superDecoder() throws -> any Decoder { StrictDecoder(base: try base.superDecoder()) }
}

private struct StrictSingleValueContainer: SingleValueDecodingContainer {
    let base: any SingleValueDecodingContainer
    /// The decoder of the same value, for types that decode themselves from it.
    let decoder: any Decoder

    var codingPath: [any CodingKey] { base.codingPath }

    func decodeNil() -> Bool { base.decodeNil() }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard !StrictDecoder.isDecodedByJSONDecoder(type) else { return try base.decode(type) }
        return try StrictDecoder.decode(type, from: decoder)
    }
}
