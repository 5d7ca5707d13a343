import Foundation

/// A one-dimensional array parameter in PostgreSQL's text form, so that one statement carries a
/// whole batch: `id = ANY($1::uuid[])`, `unnest($1::uuid[], $2::text[])`.
package struct SQLArray: SQLEncodable {
    package let postgresText: String?

    package init<Element: SQLEncodable>(_ elements: [Element]) {
        postgresText = "{" + elements.map { $0.postgresText.map(Self.quoted) ?? "NULL" }.joined(separator: ",") + "}"
    }

    /// Every element is double-quoted, so commas, braces, whitespace and the word NULL in text stay literal.
    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
