import EcomServerKit
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The rules for what accounts are made of and what sign-in accepts, shared by every route of the service.
enum Validation {
    static let passwordRange = 8...1024
    static let maximumEmailLength = 254
    /// Refresh tokens are 43 characters; the bound leaves room without storing or hashing megabytes.
    static let maximumRefreshTokenLength = 128

    /// 400 `invalid_field` naming `field` when `text` is longer than `maximum` characters
    /// (Unicode scalars, as JSON Schema's `maxLength` counts them).
    static func maximumLength(_ text: String, _ maximum: Int, field: String) throws {
        guard text.unicodeScalars.count <= maximum else {
            throw APIError.invalidField(field, "\(field) must be at most \(maximum) characters")
        }
    }

    static func isBase64URL(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x5F
    }

    /// Whether `text` is an IPv4 or IPv6 address in its numeric form.
    static func isIPAddress(_ text: String) -> Bool {
        guard text.utf8.count <= 45 else { return false }
        var buffer = in6_addr()
        return inet_pton(AF_INET, text, &buffer) == 1 || inet_pton(AF_INET6, text, &buffer) == 1
    }

    /// Trimmed and lowercased: printable ASCII without spaces, one `@`, a non-empty local part
    /// and a domain with a dot inside it, at most 254 characters as sent.
    ///
    /// ASCII only, so lowercasing here and PostgreSQL's `lower()` agree whatever the database's
    /// locale; the length is that of the text as sent, so the OpenAPI document's `maxLength`
    /// states the rule exactly.
    static func email(_ raw: String) throws -> String {
        let email = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        let printable = email.utf8.allSatisfy { (0x21...0x7E).contains($0) }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard raw.unicodeScalars.count <= maximumEmailLength, printable, parts.count == 2, !parts[0].isEmpty,
            parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".")
        else {
            throw APIError.invalidField("email", "email must be a valid address")
        }
        return email.lowercased()
    }

    /// 8 to 1024 characters (Unicode scalars, as JSON Schema counts them).
    static func password(_ password: String, field: String) throws {
        guard passwordRange.contains(password.unicodeScalars.count) else {
            throw APIError.invalidField(field, "\(field) must be 8 to 1024 characters long")
        }
    }
}
