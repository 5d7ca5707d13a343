import Foundation

/// Encodes a UUID in lowercase, as ids appear everywhere in the API; decodes either case.
@propertyWrapper
package struct LowercaseUUID: Codable, Sendable, Hashable {
    package var wrappedValue: UUID

    package init(wrappedValue: UUID) {
        self.wrappedValue = wrappedValue
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = UUID(uuidString: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a UUID")
        }
        wrappedValue = id
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue.uuidString.lowercased())
    }
}

extension UUID {
    /// The form ids take on the wire and in logs.
    package var lowercased: String { uuidString.lowercased() }
}
