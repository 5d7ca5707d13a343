import Foundation

extension JSONEncoder {
    /// The encoder of the wire format: RFC 3339 UTC timestamps, stable key order.
    package static var ecom: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.string(from: date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension JSONDecoder {
    /// The decoder of the wire format, one for the process: decoding changes nothing of it, so every
    /// event and answer need not make its own. Nothing may change its settings; a caller that needs
    /// others makes its own.
    package static let ecom: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = RFC3339.date(from: text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "not an RFC 3339 timestamp")
            }
            return date
        }
        return decoder
    }()
}

package enum RFC3339 {
    /// Parses timestamps with or without fractional seconds.
    package static func date(from text: String) -> Date? {
        if let seconds = secondsSince1970(utf8: text.utf8) { return Date(timeIntervalSince1970: Double(seconds)) }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(
            text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// `date` as `Date.ISO8601FormatStyle()` writes it (UTC, whole seconds rounded down):
    /// `2026-12-03T17:38:47Z`.
    package static func string(from date: Date) -> String {
        let interval = date.timeIntervalSince1970.rounded(.down)
        guard interval >= Double(fastRange.lowerBound), interval < Double(fastRange.upperBound) else {
            return date.formatted(.iso8601)
        }
        let seconds = Int64(interval)
        let (days, second) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let (year, month, day) = CivilCalendar.date(fromDaysSinceEpoch: days)
        var bytes = [UInt8](repeating: 0, count: 20)
        func put(_ value: Int64, at index: Int, digits: Int) {
            var value = value
            for offset in stride(from: digits - 1, through: 0, by: -1) {
                bytes[index + offset] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(year, at: 0, digits: 4)
        bytes[4] = UInt8(ascii: "-")
        put(month, at: 5, digits: 2)
        bytes[7] = UInt8(ascii: "-")
        put(day, at: 8, digits: 2)
        bytes[10] = UInt8(ascii: "T")
        put(second / 3600, at: 11, digits: 2)
        bytes[13] = UInt8(ascii: ":")
        put(second / 60 % 60, at: 14, digits: 2)
        bytes[16] = UInt8(ascii: ":")
        put(second % 60, at: 17, digits: 2)
        bytes[19] = UInt8(ascii: "Z")
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The seconds this code reads and writes itself, 1970-01-01 up to the year 10000; the
    /// rest go through Foundation's ISO 8601 style, which is the same on these but costs a
    /// calendar's set-up at its first use (a large share of a one-shot command's decoding).
    private static let fastRange: Range<Int64> = 0..<253_402_300_800

    /// The seconds of `YYYY-MM-DDTHH:MM:SSZ` with every field in range, else nil (Foundation
    /// then reads it, leniently: `24:00:00`, February 30th, offsets, fractions).
    static func secondsSince1970(utf8 text: String.UTF8View) -> Int64? {
        guard text.count == 20 else { return nil }
        let bytes = Array(text)
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ start: Int, _ count: Int) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[start..<start + count] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              year >= 1970, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60
        else { return nil }
        return CivilCalendar.daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// Dates of the proleptic Gregorian calendar as days since 1970-01-01, by integer arithmetic
/// (Howard Hinnant's `days_from_civil` and `civil_from_days`): no calendar or formatter objects
/// on hot paths. Valid for any day, before 1970 too.
package enum CivilCalendar {
    package static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let year = month <= 2 ? year - 1 : year
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of `daysSinceEpoch`.
    package static func date(fromDaysSinceEpoch days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let days = days + 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
