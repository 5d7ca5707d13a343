import EcomAPI
import Foundation
import Testing

/// `ecom repl` with a script on standard input, against `ecom serve`.
@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason), .serialized)
struct ReplEndToEndTests {
    @Test("a scripted session: answers come from the next lines, failures do not stop it, the last one is the status")
    func script() async throws {
        try await withCLIServer { server in try await CLIStoreFixture.with(server, catalog: [CLIStoreFixture.mug, CLIStoreFixture.laptop]) { store in
            let (shopper, products) = (store.shopper, try await store.importCatalog())
            let mug = try #require(products.first { $0.sku == "MUG-1" })
            let script = """
                # a comment, then a blank line

                register --email scripted@example.com --password-stdin
                password123
                login --email scripted@example.com --password-stdin
                password123
                products show "not a sku"
                cart add \(mug.id.lowercased) --quantity 2
                cart show
                whoami --json
                frobnicate

                """
            let session = try await shopper.run(["repl"], stdin: script)
            #expect(session.status == 64, "\(session.stderr)")
            // The tab-separated rows of a pipe, then the account's JSON.
            #expect(session.stdout.contains("\t\(mug.id.lowercased)\tMug\t12.50\t2\t25.00\t"), "\(session.stdout)")
            #expect(session.stdout.contains(#""email":"scripted@example.com""#), "\(session.stdout)")
            #expect(session.stderr.contains("Registered scripted@example.com"))
            #expect(session.stderr.contains("Logged in to \(server.gateway) as scripted@example.com"))
            #expect(session.stderr.contains("Error: The value 'not a sku' is invalid for '<product-id>'"), "\(session.stderr)")
            // Usage errors name the REPL's help and the nearest command, as typed in the REPL.
            #expect(session.stderr.contains("See 'help products show' for more information."), "\(session.stderr)")
            #expect(!session.stderr.contains("--help"), "\(session.stderr)")
            #expect(session.stderr.contains("ecom: 'frobnicate' is not an ecom command; see 'help' for the commands\n"), "\(session.stderr)")
            // No prompt in a script.
            #expect(!(session.stdout + session.stderr).contains("ecom 127.0.0.1"))
            #expect(try shopper.session() != nil)

            // Checking out waits for the confirmation; `exit` ends the script with the status so far.
            let checkout = try await shopper.run(["repl"], stdin: "order create\norder list --json\nexit\nwhoami\n")
            #expect(checkout.status == 0, "\(checkout.stderr)")
            #expect(checkout.stderr.contains("confirmed: $25.00"), "\(checkout.stderr)")
            let orders = try JSONDecoder.ecom.decode([Order].self, from: Data(try #require(checkout.stdout.split(separator: "\n").last).utf8))
            #expect(orders.map(\.status) == [.confirmed])
            #expect(!checkout.stdout.contains("scripted@example.com"))

            // Global options given to `repl` hold for every command.
            let json = try await shopper.run(["repl", "--json"], stdin: "whoami\ncart show\n")
            #expect(json.status == 0, "\(json.stderr)")
            #expect(json.stdout.hasPrefix("{"), "\(json.stdout)")
            #expect(json.stdout.contains(#""items":[]"#), "\(json.stdout)")

            // The example of the help: products, then a cart that needs a session.
            let anonymous = try CLI(server: server.gateway)
            defer { anonymous.removeConfig() }
            let browsing = try await anonymous.run(["repl"], stdin: "products list\ncart show\n")
            #expect(browsing.status == 4, "\(browsing.stderr)")
            #expect(browsing.stdout.contains("Gaming Laptop"))
            #expect(browsing.stderr.contains("not logged in to \(server.gateway)"))
            let passing = try await shopper.run(["repl"], stdin: "products list\ncart show\n")
            #expect(passing.status == 0, "\(passing.stderr)")
        } }
    }
}
