import EcomPostgres
import Foundation
import Testing

@Suite struct SQLCodingTests {
    static let someUUID = UUID(uuidString: "E621E1F8-C36C-495A-93FC-0C247A3E6E5F")!

    @Test("Parameters are encoded as PostgreSQL text", arguments: [
        ("plain €", "plain €"),
        (42, "42"),
        (Int32(-7), "-7"),
        (Int64.max, "9223372036854775807"),
        (true, "t"),
        (false, "f"),
        (someUUID, "e621e1f8-c36c-495a-93fc-0c247a3e6e5f"),
        (Data([0x00, 0xAB, 0xFF]), #"\x00abff"#),
        (Data(), #"\x"#),
        (Date(timeIntervalSince1970: 0), "1970-01-01T00:00:00.000000Z"),
        (Date(timeIntervalSince1970: 1_795_636_608.123456), "2026-11-25T19:56:48.123456Z"),
        (Date(timeIntervalSince1970: -0.5), "1969-12-31T23:59:59.500000Z"),
        (Int?.some(1), "1"),
        (Int?.none, nil),
    ] as [(any SQLEncodable, String?)])
    func encoding(value: any SQLEncodable, text: String?) {
        #expect(value.postgresText == text)
    }

    @Test("timestamptz output is read in any offset", arguments: [
        ("2026-11-25 19:56:48.123456+00", 1_795_636_608.123456),
        ("2026-11-25 19:56:48+00", 1_795_636_608),
        ("2026-11-25 21:26:48.5+01:30", 1_795_636_608.5),
        ("2026-11-25 11:56:48-08", 1_795_636_608),
        ("2026-11-25T19:56:48.123456Z", 1_795_636_608.123456),
        ("2026-11-25 19:56:48", 1_795_636_608),
        ("1969-12-31 23:59:59.999999+00", -0.000001),
        ("2000-02-29 00:00:00+00", 951_782_400),
    ])
    func decodingDates(text: String, secondsSince1970: Double) throws {
        let date = try Date(postgresText: text)
        #expect(abs(date.timeIntervalSince1970 - secondsSince1970) < 0.000_000_5)
    }

    @Test("Malformed column text is rejected", arguments: [
        { _ = try Date(postgresText: "infinity") },
        { _ = try Date(postgresText: "2026-13-01 00:00:00+00") },
        { _ = try Date(postgresText: "0044-03-15 12:00:00+00 BC") },
        { _ = try Date(postgresText: "2026-11-25") },
        { _ = try Data(postgresText: "abc") },
        { _ = try Data(postgresText: #"\xabc"#) },
        { _ = try Data(postgresText: #"\xzz"#) },
        { _ = try Bool(postgresText: "true") },
        { _ = try Int(postgresText: "1.5") },
        { _ = try Int32(postgresText: "3000000000") },
        { _ = try UUID(postgresText: "not-a-uuid") },
    ] as [@Sendable () throws -> Void])
    func rejectsMalformedText(decode: @Sendable () throws -> Void) {
        #expect(throws: SQLDecodingError.self) { try decode() }
    }

    @Test("Dates and bytes survive encoding and decoding", arguments: [
        Date(timeIntervalSince1970: 1_795_636_608.123456), Date(timeIntervalSince1970: -86_400.25), Date(timeIntervalSince1970: 0),
    ])
    func dateRoundTrip(date: Date) throws {
        let decoded = try Date(postgresText: #require(date.postgresText))
        #expect(abs(decoded.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_000_5)
    }

    @Test("Bytes survive encoding and decoding")
    func bytesRoundTrip() throws {
        let bytes = Data((0...255).map(UInt8.init))
        #expect(try Data(postgresText: #require(bytes.postgresText)) == bytes)
        #expect(try Data(postgresText: #"\xDEADbeef"#) == Data([0xDE, 0xAD, 0xBE, 0xEF]))
    }

    @Test("Scalars decode from their text form")
    func scalars() throws {
        #expect(try Int(postgresText: "-12") == -12)
        #expect(try Int64(postgresText: "9223372036854775807") == .max)
        #expect(try Bool(postgresText: "t") && !Bool(postgresText: "f"))
        #expect(try UUID(postgresText: "e621e1f8-c36c-495a-93fc-0c247a3e6e5f") == Self.someUUID)
        #expect(String(postgresText: "x") == "x")
    }

    @Test("SQLSTATEs map to error kinds", arguments: [
        ("23505", .uniqueViolation),
        ("23503", .foreignKeyViolation),
        ("23514", .checkViolation),
        ("23502", .notNullViolation),
        ("40001", .serializationFailure),
        ("40P01", .deadlock),
        ("57014", .queryCanceled),
        ("08006", .connectionFailure),
        ("08001", .connectionFailure),
        ("42P01", .other),
        (nil, .other),
    ] as [(String?, SQLError.Kind)])
    func sqlStateMapping(sqlState: String?, kind: SQLError.Kind) {
        #expect(SQLError.Kind(sqlState: sqlState) == kind)
    }

    @Test("failures of the database or the way to it are transient, failures of the work are not", arguments: [
        ("40001", true), ("40P01", true), ("57014", true), ("55P03", true), ("53100", true), ("53300", true), ("53200", true),
        ("57P01", true), ("57P02", true), ("57P03", true), ("08006", true), ("08001", true), ("08P01", true),
        ("23505", false), ("23502", false), ("23514", false), ("22P02", false), ("42P01", false), ("42501", false), ("XX000", false),
        (nil, false),
    ] as [(String?, Bool)])
    func transience(sqlState: String?, transient: Bool) {
        let error = SQLError(kind: SQLError.Kind(sqlState: sqlState), sqlState: sqlState, message: "")
        #expect(isTransient(error) == transient)
    }

    @Test("a connection libpq lost without a SQLSTATE is transient, and so is any error that declares itself so")
    func transientWithoutSQLState() {
        struct Busy: TransientError {}
        struct Broken: Error {}
        #expect(isTransient(SQLError(kind: .connectionFailure, message: "server closed the connection unexpectedly")))
        #expect(isTransient(Busy()))
        #expect(!isTransient(Broken()))
        #expect(!isTransient(CancellationError()))
    }

    @Test("a statement's placeholders are numbered in order across its fragments, past nine too")
    func placeholders() {
        var query: SQLQuery = "SELECT \(1) + \(2)"
        query.append(" WHERE a = \("x") AND \(unescaped: "b") IN (")
        query.append(SQLQuery.joined((3...12).map { "\($0)" }, separator: ", "))
        query.append(")")
        let (sql, binds) = query.statement
        #expect(sql == "SELECT $1 + $2 WHERE a = $3 AND b IN ($4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
        #expect(binds.map(\.postgresText) == ["1", "2", "x"] + (3...12).map { String($0) })
    }

    @Test("array parameters quote every element")
    func arrays() {
        #expect(SQLArray([#"a "b", c\d"#, "NULL", "{}"]).postgresText == #"{"a \"b\", c\\d","NULL","{}"}"#)
        #expect(SQLArray([1, -2]).postgresText == #"{"1","-2"}"#)
        #expect(SQLArray([String?.none]).postgresText == "{NULL}")
        #expect(SQLArray([String]()).postgresText == "{}")
        #expect(SQLArray(["", #"\"#, #"""#, "é\"ß\"", String?.none]).postgresText == #"{"","\\","\"","é\"ß\"",NULL}"#)
        // An event body, as the outbox and inbox statements carry a batch of them.
        let body = #"{"id":"x","data":{"name":"a \"quoted\" word","path":"C:\\dir"}}"#
        let literal = SQLArray([body, body]).postgresText!
        #expect(literal == "{" + [body, body].map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + "}")
    }
}
