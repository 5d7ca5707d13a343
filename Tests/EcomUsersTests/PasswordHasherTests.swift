import Testing

@testable import EcomUsers

@Suite struct PasswordHasherTests {
    let hasher = PasswordHasher()

    @Test("a hash is an Argon2id PHC string with OWASP parameters, and verifies only its password")
    func hashAndVerify() async throws {
        let hash = try await hasher.hash("correct horse battery staple")
        #expect(hash.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"))
        #expect(try await hasher.verify("correct horse battery staple", against: hash))
        #expect(try await !hasher.verify("correct horse battery stapler", against: hash))
        await hasher.shutdown()
    }

    @Test("two hashes of one password differ (random salt)")
    func salted() async throws {
        let first = try await hasher.hash("password123")
        let second = try await hasher.hash("password123")
        #expect(first != second)
        await hasher.shutdown()
    }

    @Test("verifying against no hash does the work and answers false")
    func unknownAccount() async throws {
        #expect(try await !hasher.verify("password123", against: nil))
        #expect(try await !hasher.verify("password123", against: "not a phc string"))
        await hasher.shutdown()
    }
}

@Suite struct ValidationTests {
    @Test(
        "plausible emails are accepted and normalized",
        arguments: [("a@b.co", "a@b.co"), ("  Alice@Example.COM ", "alice@example.com"), ("x+tag@sub.example.org", "x+tag@sub.example.org")])
    func validEmails(input: String, expected: String) throws {
        #expect(try Validation.email(input) == expected)
    }

    @Test("implausible emails are refused", arguments: [
            "", "a", "a@b", "@b.co", "a@.co", "a@b.co.", "a b@c.co", "a@b@c.co", String(repeating: "a", count: 250) + "@b.co",
            "josé@b.co", "a@b.co\u{301}", "a\u{0}@b.co", String(repeating: " ", count: 250) + "a@b.co",
        ])
    func invalidEmails(input: String) {
        #expect(throws: (any Error).self) { try Validation.email(input) }
    }

    @Test("passwords must be 8 to 1024 characters", arguments: [
        ("1234567", false), ("12345678", true), (String(repeating: "p", count: 1024), true), (String(repeating: "p", count: 1025), false),
        ("éééééééé", true), ("éééé", false), (String(repeating: "é", count: 1024), true),
    ])
    func passwordLength(password: String, valid: Bool) {
        if valid {
            #expect(throws: Never.self) { try Validation.password(password, field: "password") }
        } else {
            #expect(throws: (any Error).self) { try Validation.password(password, field: "password") }
        }
    }
}
