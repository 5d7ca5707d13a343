/// One SQL statement and its parameters, written as a string literal whose interpolations become bound
/// parameters (`$1`, `$2`, … sent as text), as postgres-nio's `PostgresQuery` does:
///
///     try connection.query("SELECT name FROM products WHERE id = \(id) AND active = \(true)")
///
/// A value never becomes part of the SQL text, so quoting and injection are not the caller's concern, and
/// numbering is not either: fragments build a statement piece by piece (`query.append(" AND \(x)")`) and
/// the placeholders are numbered when the whole is sent. Text that is SQL rather than a value (a column
/// list, an `ORDER BY` chosen from a fixed set) goes in with `\(unescaped: …)`.
package struct SQLQuery: Sendable, ExpressibleByStringInterpolation {
    fileprivate enum Part: Sendable {
        case text(String)
        case bind(any SQLEncodable)
    }

    fileprivate var parts: [Part] = []

    package init(stringLiteral value: String) {
        parts = [.text(value)]
    }

    package init(stringInterpolation: StringInterpolation) {
        parts = stringInterpolation.parts
    }

    /// The statement's text with placeholders numbered in order, and its parameters in that order.
    package var statement: (sql: String, binds: [any SQLEncodable]) {
        var sql = ""
        var binds: [any SQLEncodable] = []
        for part in parts {
            switch part {
            case .text(let text):
                sql += text
            case .bind(let value):
                binds.append(value)
                sql += "$\(binds.count)"
            }
        }
        return (sql, binds)
    }

    /// Appends `fragment`, whose parameters follow this query's.
    package mutating func append(_ fragment: SQLQuery) {
        parts += fragment.parts
    }

    /// The fragments joined by `separator` (SQL text, e.g. `" AND "`); empty when there are none.
    package static func joined(_ fragments: [SQLQuery], separator: String) -> SQLQuery {
        var query = SQLQuery(stringLiteral: "")
        for (index, fragment) in fragments.enumerated() {
            if index > 0 { query.parts.append(.text(separator)) }
            query.append(fragment)
        }
        return query
    }

    /// `WHERE` and the conditions joined by `AND`; empty when there are none.
    package static func filter(_ conditions: [SQLQuery]) -> SQLQuery {
        conditions.isEmpty ? "" : "WHERE \(joined(conditions, separator: " AND "))"
    }

    package struct StringInterpolation: StringInterpolationProtocol {
        fileprivate var parts: [Part] = []

        package init(literalCapacity: Int, interpolationCount: Int) {
            parts.reserveCapacity(2 * interpolationCount + 1)
        }

        package mutating func appendLiteral(_ literal: String) {
            if !literal.isEmpty { parts.append(.text(literal)) }
        }

        /// A bound parameter.
        package mutating func appendInterpolation(_ value: some SQLEncodable) {
            parts.append(.bind(value))
        }

        /// A bound parameter; nil is SQL NULL.
        package mutating func appendInterpolation<Value: SQLEncodable>(_ value: Value?) {
            parts.append(.bind(value))
        }

        /// A fragment built elsewhere, with its own parameters.
        package mutating func appendInterpolation(_ fragment: SQLQuery) {
            parts += fragment.parts
        }

        /// SQL text taken as it is: only for text the code chose, never for a value from outside.
        package mutating func appendInterpolation(unescaped text: String) {
            parts.append(.text(text))
        }
    }
}
