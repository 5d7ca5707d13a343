import ArgumentParser
import Testing

@testable import EcomCLI

@Suite struct MoneyTests {
    @Test(
        "prices parse exactly into cents",
        arguments: [
            ("19.99", 1999), ("20", 2000), ("0.5", 50), (".5", 50), ("0.01", 1), ("1.0", 100), ("00012.30", 1230),
            ("0.07", 7), ("92233720368547758.07", Int64.max),
        ] as [(String, Int64)])
    func parses(text: String, cents: Int64) throws {
        #expect(try Money.cents(text) == cents)
    }

    @Test(
        "anything else is a usage error",
        arguments: [
            "19.999", "-1", "1e3", "abc", "", "0", "0.00", ".", "5.", "1,50", " 1", "1 ", "+1", "1.2.3", "$5", "0x10", "١",
            "5\u{301}", "92233720368547758.08", "99999999999999999999",
        ])
    func rejects(text: String) {
        #expect(throws: ValidationError.self) { try Money.cents(text) }
    }

    @Test("cents print as dollars", arguments: [(1999, "$19.99"), (5, "$0.05"), (0, "$0.00"), (100, "$1.00"), (-50, "-$0.50"), (123_456_789, "$1234567.89")] as [(Int64, String)])
    func formats(cents: Int64, text: String) {
        #expect(Money.format(cents) == text)
    }
}
