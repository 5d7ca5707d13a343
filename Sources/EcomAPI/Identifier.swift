import Foundation

#if canImport(Glibc)
import Glibc
#endif

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
        guard let id = UUID(hyphenated: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a UUID")
        }
        wrappedValue = id
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue.lowercased)
    }
}

extension UUID {
    /// A random (version 4) UUID, its 122 random bits from the kernel in one call (`arc4random_buf`,
    /// getrandom(2) underneath), where Foundation's `UUID()` on Linux opens, reads and closes
    /// `/dev/urandom` for each one: three system calls and a descriptor, several times per order.
    package static func random() -> UUID {
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { arc4random_buf($0.baseAddress!, $0.count) }
        bytes.6 = bytes.6 & 0x0F | 0x40  // version 4
        bytes.8 = bytes.8 & 0x3F | 0x80  // the RFC 9562 variant
        return UUID(uuid: bytes)
    }

    /// The form ids take on the wire and in logs: `uuidString.lowercased()`, written straight from the bytes.
    package var lowercased: String {
        let digits: StaticString = "0123456789abcdef"
        return withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                digits.withUTF8Buffer { digits in
                    var index = 0
                    for (position, byte) in bytes.enumerated() {
                        if position == 4 || position == 6 || position == 8 || position == 10 {
                            out[index] = UInt8(ascii: "-")
                            index += 1
                        }
                        out[index] = digits[Int(byte >> 4)]
                        out[index + 1] = digits[Int(byte & 0x0F)]
                        index += 2
                    }
                    return index
                }
            }
        }
    }

    /// Parses the hyphenated form (`8-4-4-4-12` hex digits, either case), the only form
    /// `UUID(uuidString:)` takes, without going through Foundation's parser.
    package init?(hyphenated text: some StringProtocol) {
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let parsed = withUnsafeMutableBytes(of: &bytes) { bytes -> Bool in
            var utf8 = text.utf8.makeIterator()
            func nibble() -> UInt8? {
                switch utf8.next() {
                case let c? where c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"): c - UInt8(ascii: "0")
                case let c? where c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
                case let c? where c >= UInt8(ascii: "A") && c <= UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
                default: nil
                }
            }
            for position in 0..<16 {
                if position == 4 || position == 6 || position == 8 || position == 10 {
                    guard utf8.next() == UInt8(ascii: "-") else { return false }
                }
                guard let high = nibble(), let low = nibble() else { return false }
                bytes[position] = high << 4 | low
            }
            return utf8.next() == nil
        }
        guard parsed else { return nil }
        self.init(uuid: bytes)
    }
}
