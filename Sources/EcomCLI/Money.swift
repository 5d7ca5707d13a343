import ArgumentParser

/// Prices as the CLI reads and prints them: decimal dollars, held as integer cents.
///
/// Parsing never goes through a floating-point number, so "19.99" is exactly 1999 cents.
enum Money {
    /// Parses a positive amount with at most two decimals ("19.99", "20", "0.5") into cents.
    static func cents(_ text: String) throws -> Int64 {
        if text.hasPrefix("-") { throw ValidationError("a price must be more than 0, got \(text)") }
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !whole.isEmpty || !fraction.isEmpty, (whole + fraction).utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw ValidationError("'\(text)' is not a price; write it like 19.99")
        }
        guard parts.count == 1 || !fraction.isEmpty else {
            throw ValidationError("'\(text)' is not a price; write it like 19.99")
        }
        guard fraction.count <= 2 else {
            throw ValidationError("'\(text)' has more than two decimals")
        }
        let paddedFraction = fraction + String(repeating: "0", count: 2 - fraction.count)
        guard let dollars = Int64(whole.isEmpty ? "0" : whole), let cents = Int64(paddedFraction),
            case (let scaled, false) = dollars.multipliedReportingOverflow(by: 100),
            case (let total, false) = scaled.addingReportingOverflow(cents)
        else {
            throw ValidationError("'\(text)' is too large")
        }
        guard total > 0 else { throw ValidationError("a price must be more than 0") }
        return total
    }

    /// "$19.99", "-$0.50".
    static func format(_ cents: Int64) -> String {
        (cents < 0 ? "-$" : "$") + digits(cents.magnitude)
    }

    /// "19.99", "-0.50": the amount without a currency sign, for tab-separated output.
    static func decimal(_ cents: Int64) -> String {
        (cents < 0 ? "-" : "") + digits(cents.magnitude)
    }

    private static func digits(_ cents: UInt64) -> String {
        let fraction = cents % 100
        return "\(cents / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
