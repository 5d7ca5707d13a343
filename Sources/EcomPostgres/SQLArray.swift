import Foundation

/// A one-dimensional array parameter in PostgreSQL's text form, so that one statement carries a
/// whole batch: `id = ANY($1::uuid[])`, `unnest($1::uuid[], $2::text[])`.
package struct SQLArray: SQLEncodable {
    package let postgresText: String?

    /// Every element is double-quoted, so commas, braces, whitespace and the word NULL in text stay
    /// literal. The literal is written into one buffer, its room reserved first, byte by byte between
    /// the quotes and backslashes to escape: the elements can be whole event bodies, a statement's
    /// batch of them is made on every relay and inbox round, and a string per element (or
    /// Foundation's replacing) costs more than the copying.
    package init<Element: SQLEncodable>(_ elements: [Element]) {
        var texts: [String?] = []
        texts.reserveCapacity(elements.count)
        var room = 2
        for element in elements {
            let text = element.postgresText
            room += (text?.utf8.count ?? 4) + 3
            texts.append(text)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(room)
        bytes.append(UInt8(ascii: "{"))
        for (index, text) in texts.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            if var text {
                text.withUTF8 { Self.appendQuoted($0, to: &bytes) }
            } else {
                bytes.append(contentsOf: "NULL".utf8)
            }
        }
        bytes.append(UInt8(ascii: "}"))
        postgresText = String(decoding: bytes, as: UTF8.self)
    }

    private static func appendQuoted(_ text: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        bytes.append(quote)
        var copied = 0
        for index in text.indices where text[index] == quote || text[index] == backslash {
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied..<index]))
            bytes.append(backslash)
            copied = index  // the quote or backslash itself goes with the next stretch
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied...]))
        bytes.append(quote)
    }
}
