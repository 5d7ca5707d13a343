/// One result row, copied out of libpq's result so it can outlive it and cross threads.
package struct SQLRow: Sendable {
    /// Column name → index, shared by every row of a result.
    private let columns: [String: Int]
    private let values: [String?]

    init(columns: [String: Int], values: [String?]) {
        self.columns = columns
        self.values = values
    }

    /// Decodes a non-NULL column; throws if it is NULL, missing or unreadable as `T`.
    package func decode<T: SQLDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let value = try decode(column, as: T?.self) else {
            throw SQLDecodingError(column: column, message: "unexpected NULL")
        }
        return value
    }

    /// Decodes a nullable column: nil for SQL NULL.
    package func decode<T: SQLDecodable>(_ column: String, as type: T?.Type) throws -> T? {
        guard let index = columns[column] else {
            throw SQLDecodingError(column: column, message: "no such column in the result")
        }
        guard let text = values[index] else { return nil }
        do {
            return try T(postgresText: text)
        } catch var error as SQLDecodingError {
            error.column = column
            throw error
        }
    }
}
