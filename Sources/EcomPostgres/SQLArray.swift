import Foundation

/// A one-dimensional array parameter in PostgreSQL's text form, so that one statement carries a
/// whole batch: `id = ANY($1::uuid[])`, `unnest($1::uuid[], $2::text[])`.
package struct SQLArray: SQLEncodable {
    package let postgresText: String?

    package init<Element: SQLEncodable>(_ elements: [Element]) {
        postgresText = "{" + elements.map { $0.postgresText.map(Self.quoted) ?? "NULL" }.joined(separator: ",") + "}"
    }

    /// Every element is double-quoted, so commas, braces, whitespace and the word NULL in text stay literal.
    /// Byte by byte: the elements can be whole event bodies, and Foundation's replacing is slow.
    private static func quoted(_ text: String) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "\"")]
        bytes.reserveCapacity(text.utf8.count + 2)
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { bytes.append(UInt8(ascii: "\\")) }
            bytes.append(byte)
        }
        bytes.append(UInt8(ascii: "\""))
        return String(decoding: bytes, as: UTF8.self)
    }
}
