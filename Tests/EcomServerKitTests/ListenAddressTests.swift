import Testing

@testable import EcomServerKit

@Suite struct ListenAddressTests {
    @Test(
        "loopback is decided on the address a host resolves to, not on how its name reads",
        arguments: [
            ("127.0.0.1", true), ("127.0.0.2", true), ("localhost", true), ("::1", true), ("::ffff:127.0.0.1", true),
            ("0.0.0.0", false), ("::", false), ("10.1.2.3", false), ("2001:db8::1", false),
            ("127.evil.example", false), ("127.0.0.1.evil.example", false), ("no-such-host.invalid", false),
        ])
    func loopback(host: String, expected: Bool) {
        #expect(ListenAddress(host: host, port: 8080).isLoopback == expected)
    }

    @Test("an address is bound as it was resolved: a name becomes the numeric address that was judged")
    func resolved() {
        let local = ListenAddress(host: "localhost", port: 8081).resolved()
        #expect(["127.0.0.1", "::1"].contains(local.host))
        #expect(local.port == 8081)
        #expect(ListenAddress(host: "0.0.0.0", port: 1).resolved().host == "0.0.0.0")
        #expect(ListenAddress(host: "127.evil.example", port: 1).resolved().host == "127.evil.example")
    }
}
