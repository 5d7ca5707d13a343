import Foundation
import Logging
import NIOPosix

/// Creates database `name` on the server `serverURL` points at, unless it exists. Connects to that server's
/// `postgres` database, or failing that to the URL's own. `name` must match `[a-z0-9_]+`.
package func createDatabaseIfNeeded(serverURL: String, name: String) async throws {
    let isIdentifier = name.utf8.allSatisfy { byte in
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: "_")
    }
    guard isIdentifier, (1...63).contains(name.utf8.count) else {
        throw SQLError(kind: .other, message: "invalid database name \"\(name)\": use a-z, 0-9 and _")
    }
    let logger = Logger(label: "ecom.postgres")
    try await NIOThreadPool.singleton.runIfActive {
        let connection: SQLConnection
        do {
            connection = try SQLConnection(url: postgresURL(serverURL, replacingDatabaseWith: "postgres"), logger: logger)
        } catch let firstError {
            guard let fallback = try? SQLConnection(url: serverURL, logger: logger) else { throw firstError }
            connection = fallback
        }
        guard try connection.query("SELECT 1 FROM pg_database WHERE datname = \(name)").isEmpty else { return }
        do {
            try connection.execute("CREATE DATABASE \"\(unescaped: name)\"")
        } catch let error as SQLError where error.sqlState == "42P04" || error.kind == .uniqueViolation {
            // Another starter created it after our check: the outcome we wanted.
        }
    }
}

/// Returns `url` with its database name replaced by `name`, in either libpq format: a `postgres://` or
/// `postgresql://` URI (the path, or a `dbname` query parameter if it has one) or a keyword/value string.
package func postgresURL(_ url: String, replacingDatabaseWith name: String) -> String {
    if var uri = PostgresURI(url) {
        uri.databaseName = name
        return uri.description
    }
    let quotedName = ConnectionString.quoted(name)
    if let range = ConnectionString.entries(of: url)?.last(where: { $0.key == "dbname" })?.valueRange {
        return url.replacingCharacters(in: range, with: quotedName)
    }
    let base = url.trimmingCharacters(in: .whitespaces)
    return (base.isEmpty ? "" : base + " ") + "dbname=" + quotedName
}

/// The database `url` names, or nil when it leaves the choice to libpq's default (the user name).
package func postgresDatabaseName(of url: String) -> String? {
    if let uri = PostgresURI(url) {
        return uri.databaseName
    }
    return ConnectionString.entries(of: url)?.last { $0.key == "dbname" }?.value
}

/// A libpq URI split around the database name: `postgresql://[user[:password]@][host][:port][/dbname][?key=value&…]`.
private struct PostgresURI: CustomStringConvertible {
    /// Scheme and authority, kept verbatim.
    private var prefix: Substring
    /// The percent-encoded path after "/", nil without one.
    private var path: Substring?
    /// The query's `key=value` items, kept verbatim.
    private var query: [Substring]?

    init?(_ url: String) {
        guard let schemeEnd = url.range(of: "://"),
              ["postgres", "postgresql"].contains(url[..<schemeEnd.lowerBound].lowercased())
        else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        prefix = url[..<authorityEnd]
        var tail = rest[authorityEnd...]
        if let queryStart = tail.firstIndex(of: "?") {
            query = tail[tail.index(after: queryStart)...].split(separator: "&", omittingEmptySubsequences: false)
            tail = tail[..<queryStart]
        }
        path = tail.isEmpty ? nil : tail.dropFirst()
    }

    /// A `dbname` query parameter overrides the path, as in libpq.
    var databaseName: String? {
        get {
            let parameter = query?.last { $0.hasPrefix("dbname=") }?.dropFirst("dbname=".count)
            guard let encoded = parameter ?? path, !encoded.isEmpty else { return nil }
            return String(encoded).removingPercentEncoding
        }
        set {
            let encoded = (newValue ?? "").addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? ""
            if let index = query?.lastIndex(where: { $0.hasPrefix("dbname=") }) {
                query?[index] = "dbname=\(encoded)"
            } else {
                path = encoded[...]
            }
        }
    }

    var description: String {
        var text = String(prefix)
        if let path { text += "/" + path }
        if let query { text += "?" + query.joined(separator: "&") }
        return text
    }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )
}

/// libpq's keyword/value format: `host=localhost dbname='my db'` (values optionally single-quoted, `\` escapes).
private enum ConnectionString {
    struct Entry {
        var key: String
        var value: String
        /// Where the value (with its quotes) sits in the string, to replace it in place.
        var valueRange: Range<String.Index>
    }

    /// The entries in order, or nil if `text` is not well formed.
    static func entries(of text: String) -> [Entry]? {
        var entries = [Entry]()
        var index = text.startIndex
        func skipSpaces() {
            while index < text.endIndex, text[index].isWhitespace { index = text.index(after: index) }
        }
        while true {
            skipSpaces()
            guard index < text.endIndex else { return entries }
            let keyStart = index
            while index < text.endIndex, text[index] != "=", !text[index].isWhitespace { index = text.index(after: index) }
            let key = String(text[keyStart..<index])
            skipSpaces()
            guard !key.isEmpty, index < text.endIndex, text[index] == "=" else { return nil }
            index = text.index(after: index)
            skipSpaces()
            let valueStart = index
            let isQuoted = index < text.endIndex && text[index] == "'"
            if isQuoted { index = text.index(after: index) }
            var value = ""
            while index < text.endIndex {
                var character = text[index]
                if isQuoted ? character == "'" : character.isWhitespace { break }
                if character == "\\" {
                    index = text.index(after: index)
                    guard index < text.endIndex else { return nil }
                    character = text[index]
                }
                value.append(character)
                index = text.index(after: index)
            }
            if isQuoted {
                guard index < text.endIndex else { return nil }
                index = text.index(after: index)
            }
            entries.append(Entry(key: key, value: value, valueRange: valueStart..<index))
        }
    }

    /// `value` written so `entries(of:)` reads it back unchanged.
    static func quoted(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0.isWhitespace || $0 == "'" || $0 == "\\" }) else { return value }
        return "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }
}
