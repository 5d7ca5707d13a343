import EcomAPI
import Foundation

/// A Swift value sent as a text-format query parameter; nil text is SQL NULL.
package protocol SQLEncodable: Sendable {
    var postgresText: String? { get }
}

/// A Swift value read from a column's text output (the server's default result format).
package protocol SQLDecodable {
    init(postgresText: String) throws
}

/// A column whose text cannot be read as the requested Swift type: a schema or code mismatch.
package struct SQLDecodingError: Error, CustomStringConvertible, Sendable {
    package var column: String?
    package var message: String

    package init(column: String? = nil, message: String) {
        self.column = column
        self.message = message
    }

    init<T>(_ type: T.Type, text: String) {
        self.init(message: "cannot read \(T.self) from \"\(text.prefix(64))\"")
    }

    package var description: String {
        column.map { "column \"\($0)\": \(message)" } ?? message
    }
}

// MARK: - SQLEncodable, SQLDecodable

extension String: SQLEncodable, SQLDecodable {
    package var postgresText: String? { self }
    package init(postgresText: String) { self = postgresText }
}

extension Int: SQLEncodable, SQLDecodable {
    package var postgresText: String? { String(self) }
    package init(postgresText: String) throws {
        guard let value = Int(postgresText) else { throw SQLDecodingError(Int.self, text: postgresText) }
        self = value
    }
}

extension Int32: SQLEncodable, SQLDecodable {
    package var postgresText: String? { String(self) }
    package init(postgresText: String) throws {
        guard let value = Int32(postgresText) else { throw SQLDecodingError(Int32.self, text: postgresText) }
        self = value
    }
}

extension Int64: SQLEncodable, SQLDecodable {
    package var postgresText: String? { String(self) }
    package init(postgresText: String) throws {
        guard let value = Int64(postgresText) else { throw SQLDecodingError(Int64.self, text: postgresText) }
        self = value
    }
}

extension Bool: SQLEncodable, SQLDecodable {
    package var postgresText: String? { self ? "t" : "f" }
    package init(postgresText: String) throws {
        switch postgresText {
        case "t": self = true
        case "f": self = false
        default: throw SQLDecodingError(Bool.self, text: postgresText)
        }
    }
}

/// Written and read by EcomAPI's own code: Foundation's `uuidString` and `UUID(uuidString:)` go
/// through `sprintf` and `sscanf` on Linux, which a profile of checkout showed beside every statement.
extension UUID: SQLEncodable, SQLDecodable {
    package var postgresText: String? { lowercased }
    package init(postgresText: String) throws {
        guard let value = UUID(hyphenated: postgresText) else { throw SQLDecodingError(UUID.self, text: postgresText) }
        self = value
    }
}

extension Data: SQLEncodable, SQLDecodable {
    /// bytea in hex format: `\x` followed by two lowercase digits per byte.
    package var postgresText: String? {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8](#"\x"#.utf8)
        text.reserveCapacity(2 + 2 * count)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Reads bytea's hex output format (the server default since PostgreSQL 9.0).
    package init(postgresText: String) throws {
        let text = Array(postgresText.utf8)
        guard text.count % 2 == 0, text.starts(with: #"\x"#.utf8) else {
            throw SQLDecodingError(Data.self, text: postgresText)
        }
        func nibble(_ digit: UInt8) throws -> UInt8 {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
            default: throw SQLDecodingError(Data.self, text: postgresText)
            }
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(text.count / 2 - 1)
        for index in stride(from: 2, to: text.count, by: 2) {
            bytes.append(try nibble(text[index]) << 4 | nibble(text[index + 1]))
        }
        self.init(bytes)
    }
}

extension Date: SQLEncodable, SQLDecodable {
    /// RFC 3339 in UTC with microseconds, timestamptz's own precision.
    package var postgresText: String? {
        let micros = Int64((timeIntervalSince1970 * 1_000_000).rounded())
        let (days, microOfDay) = micros.floorDivided(by: 86_400_000_000)
        let (year, month, day) = CivilCalendar.date(fromDaysSinceEpoch: days)
        let seconds = microOfDay / 1_000_000
        func padded(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
            + "T\(padded(seconds / 3600, 2)):\(padded(seconds / 60 % 60, 2)):\(padded(seconds % 60, 2))"
            + ".\(padded(microOfDay % 1_000_000, 6))Z"
    }

    /// Reads timestamptz output in the ISO date style, e.g. "2026-11-25 19:56:48.123456+00" or "…+05:30";
    /// text without an offset (a `timestamp` column) is taken as UTC.
    package init(postgresText: String) throws {
        var scanner = DigitScanner(postgresText.utf8)
        guard let year = scanner.number(), scanner.skip("-"),
              let month = scanner.number(digits: 2), scanner.skip("-"),
              let day = scanner.number(digits: 2), scanner.skip(" ") || scanner.skip("T"),
              let hour = scanner.number(digits: 2), scanner.skip(":"),
              let minute = scanner.number(digits: 2), scanner.skip(":"),
              let second = scanner.number(digits: 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { throw SQLDecodingError(Date.self, text: postgresText) }

        var micros: Int64 = 0
        if scanner.skip(".") {
            guard let fraction = scanner.fraction(scale: 6) else { throw SQLDecodingError(Date.self, text: postgresText) }
            micros = fraction
        }
        var offsetSeconds: Int64 = 0
        if let sign: Int64 = scanner.skip("+") ? 1 : scanner.skip("-") ? -1 : nil {
            guard let hours = scanner.number(digits: 2) else { throw SQLDecodingError(Date.self, text: postgresText) }
            var offset = hours * 3600
            for unit: Int64 in [60, 1] where scanner.skip(":") {
                guard let value = scanner.number(digits: 2) else { throw SQLDecodingError(Date.self, text: postgresText) }
                offset += value * unit
            }
            offsetSeconds = sign * offset
        } else {
            _ = scanner.skip("Z")
        }
        guard scanner.isAtEnd else { throw SQLDecodingError(Date.self, text: postgresText) }

        let days = CivilCalendar.daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        self.init(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }
}

extension Optional: SQLEncodable where Wrapped: SQLEncodable {
    package var postgresText: String? { self?.postgresText }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let remainder = self % divisor
        return remainder < 0 ? (self / divisor - 1, remainder + divisor) : (self / divisor, remainder)
    }
}

/// Reads the fixed-layout ASCII of timestamp output.
private struct DigitScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String.UTF8View) { bytes = Array(text) }

    var isAtEnd: Bool { index == bytes.count }

    mutating func skip(_ character: Unicode.Scalar) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
        index += 1
        return true
    }

    /// Exactly `digits` digits, or at least one when nil.
    mutating func number(digits: Int? = nil) -> Int64? {
        let start = index
        var value: Int64 = 0
        while index < bytes.count, index - start < (digits ?? 9), let digit = digit(at: index) {
            value = value * 10 + digit
            index += 1
        }
        let count = index - start
        return count > 0 && (digits == nil || count == digits) ? value : nil
    }

    /// The digits after a decimal point scaled to `scale` places, dropping any finer ones.
    mutating func fraction(scale: Int) -> Int64? {
        let start = index
        var value: Int64 = 0
        while index < bytes.count, let digit = digit(at: index) {
            if index - start < scale { value = value * 10 + digit }
            index += 1
        }
        let count = index - start
        guard count > 0 else { return nil }
        for _ in count..<max(count, scale) { value *= 10 }
        return value
    }

    private func digit(at index: Int) -> Int64? {
        let byte = bytes[index]
        return (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int64(byte - UInt8(ascii: "0")) : nil
    }
}
