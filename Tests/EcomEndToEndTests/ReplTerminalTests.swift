import EcomAPI
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ecom repl` in a real pseudo-terminal: tmux runs it, `send-keys` types and `capture-pane` reads the screen.
@Suite(
    .enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason),
    .enabled(if: Tmux.executable != nil, "tmux is not installed (.ci/deps installs it)"),
    .serialized)
struct ReplTerminalTests {
    @Test("Tab completes, login asks for the password and changes the prompt, Up recalls, Ctrl-D leaves with 0, no password in the history")
    func terminal() async throws {
        try await withCLIServer { server in
            let admin = try CLI(server: server.gateway)
            defer { admin.removeConfig() }
            try await admin.login("root@example.com", password: "root-password-123")
            let created = try await admin.run(["admin", "products", "create", "--name", "Gaming Laptop", "--price", "999", "--stock", "5", "--json"])
            try #require(created.status == 0, "\(created.stderr)")
            let laptop = try created.json(Product.self).id.lowercased

            let home = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-repl-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: home) }
            let tmux = Tmux(directory: home, server: server.gateway)
            do {
                try await drive(tmux, server: server, product: laptop)
            } catch {
                await tmux.killServer()
                throw error
            }
            await tmux.killServer()
        }
    }

    @Test("Tab lists the products as id and name and inserts only the id; a table taller than the terminal goes through the pager")
    func namesAndPager() async throws {
        try await withCLIServer { server in
            let admin = try CLI(server: server.gateway)
            defer { admin.removeConfig() }
            try await admin.login("root@example.com", password: "root-password-123")
            // 60 products: more rows than the 50 of the terminal.
            let products = (1...60).map { #"{"sku": "BULK-\#($0)", "name": "Bulk item \#($0)", "price_cents": 100, "stock": 1, "is_active": true}"# }
            let catalog = admin.configHome.appendingPathComponent("catalog.json")
            try Data(#"{"products": [\#(products.joined(separator: ","))]}"#.utf8).write(to: catalog)
            try #require(try await admin.run(["admin", "products", "import", catalog.path]).status == 0)
            let listed = try await admin.run(["products", "list", "--limit", "100", "--jq", #".[] | .id + " " + .name"#])
            let named = listed.stdout.split(separator: "\n").map { ($0.prefix(36), $0.dropFirst(37)) }
            try #require(named.count >= 60, "\(listed.stderr)")
            // Sixty ids over sixteen hex digits: some first digit starts several of them.
            let group = try #require(Dictionary(grouping: named) { $0.0.prefix(1) }.values.max { $0.count < $1.count })
            let ids = group.map { String($0.0) }

            let home = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-repl-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: home) }
            let paged = home.appendingPathComponent("paged.txt")
            let tmux = Tmux(directory: home, server: server.gateway)
            do {
                try await tmux.start(environment: ["ECOM_PAGER": "cat > '\(paged.path)'"])
                try await tmux.waitForScreen("the prompt") { $0.lastLine.hasSuffix(">") }
                try await tmux.type("cart add \(ids[0].prefix(1))")
                try await tmux.press("Tab")
                try await tmux.press("Tab")
                try await tmux.waitForScreen("the ids listed with their names") { screen in group.allSatisfy { screen.contains("\($0.0)  \($0.1)") } }
                try await tmux.press("C-u")
                try await tmux.type("cart add \(ids[0].prefix(12))")
                try await tmux.press("Tab")
                try await tmux.waitForScreen("only the id inserted") { $0.lastLine.hasSuffix("> cart add \(ids[0])") }
                try await tmux.press("C-u")

                try await tmux.type("products list --limit 5")
                try await tmux.press("Enter")
                try await tmux.waitForScreen("a short table on the screen") { $0.contains("Bulk item") && $0.lastLine.hasSuffix(">") }
                #expect(!FileManager.default.fileExists(atPath: paged.path))
                try await tmux.type("products list --limit 100")
                try await tmux.press("Enter")
                try await tmux.waitForScreen("the prompt after the pager") { $0.lastLine.hasSuffix(">") && $0.contains("--limit 100") }
                try await waitForFile(paged) { $0.contains("Bulk item 60") && $0.hasPrefix("ID") }
                try await tmux.type("exit")
                try await tmux.press("Enter")
                #expect(try await tmux.exitStatus() == 0)

                // A one-shot command on the terminal: its pager gets the environment ecom was given (the
                // HTTP set-up that runs while the command line is parsed hides XDG_DATA_HOME meanwhile).
                let pagerEnvironment = home.appendingPathComponent("pager-environment")
                let dataHome = home.appendingPathComponent("data").path
                try await tmux.start(
                    environment: ["ECOM_PAGER": "env > '\(pagerEnvironment.path)'", "XDG_DATA_HOME": dataHome],
                    script: #""$ECOM" products list --limit 100"#)
                try await waitForFile(pagerEnvironment) { $0.split(separator: "\n").contains("XDG_DATA_HOME=\(dataHome)") }
                #expect(try await tmux.exitStatus() == 0)
            } catch {
                await tmux.killServer()
                throw error
            }
            await tmux.killServer()
        }
    }

    func waitForFile(_ file: URL, _ condition: (String) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOf: file, encoding: .utf8), condition(text) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("\(file.path) never held what was expected: \((try? String(contentsOf: file, encoding: .utf8)) ?? "nothing")")
    }

    @Test("Ctrl-C stops an order create that waits for its confirmation, and the REPL goes on")
    func interruptWaitingOrder() async throws {
        // Events held back: the order stays pending, so `order create` keeps waiting.
        let server = try await ServerProcess(environment: ["ECOM_HOLD_EVENTS": "1"], services: ["users", "products", "cart", "orders"])
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-repl-\(UUID().uuidString.prefix(8))")
        let tmux = Tmux(directory: home, server: server.gateway)
        do {
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
            let admin = try CLI(server: server.gateway)
            defer { admin.removeConfig() }
            try await admin.login("root@example.com", password: "root-password-123")
            let created = try await admin.run(["admin", "products", "create", "--name", "Mug", "--price", "12.50", "--stock", "5", "--json"])
            try #require(created.status == 0, "\(created.stderr)")
            let mug = try created.json(Product.self).id.lowercased

            try await tmux.start()
            try await tmux.waitForScreen("the prompt") { $0.lastLine.hasSuffix(">") }
            try await tmux.type("login --email root@example.com")
            try await tmux.press("Enter")
            try await tmux.waitForScreen("the password question") { $0.lastLine == "Password:" }
            try await tmux.type("root-password-123")
            try await tmux.press("Enter")
            try await tmux.waitForScreen("the signed-in prompt") { $0.lastLine.hasSuffix("root@example.com>") }
            try await tmux.type("cart add \(mug)")
            try await tmux.press("Enter")
            try await tmux.waitForScreen("the cart") { $0.contains("Total $12.50 for 1 item") && $0.lastLine.hasSuffix("root@example.com>") }
            try await tmux.type("order create")
            try await tmux.press("Enter")
            try await tmux.waitForScreen("the wait") { $0.lastLine.hasSuffix("waiting for stock to be reserved…") }
            try await tmux.press("C-c")
            try await tmux.waitForScreen("the wait stopped and the prompt back") {
                $0.contains("Stopped waiting; follow Order ") && $0.contains("ecom: interrupted") && $0.lastLine.hasSuffix("root@example.com>")
            }
            try await tmux.type("order list --status pending")
            try await tmux.press("Enter")
            try await tmux.waitForScreen("the order, still pending") { $0.contains("pending") && $0.lastLine.hasSuffix("root@example.com>") }
            try await tmux.press("C-d")
            #expect(try await tmux.exitStatus() == 0)
        } catch {
            print((try? await tmux.screen())?.text ?? "")
            await tmux.killServer()
            try? FileManager.default.removeItem(at: home)
            await server.tearDown()
            throw error
        }
        await tmux.killServer()
        try? FileManager.default.removeItem(at: home)
        await server.tearDown()
    }

    @Test("one-shot commands on an 80-column terminal: tables fit it, register asks for the email, Ctrl-C at a password ends the line")
    func oneShotOnATerminal() async throws {
        try await withCLIServer { server in
            let admin = try CLI(server: server.gateway)
            defer { admin.removeConfig() }
            try await admin.login("root@example.com", password: "root-password-123")
            let name = "Gaming Laptop with a name long enough to wrap every row of an 80-column table"
            let created = try await admin.run(["admin", "products", "create", "--name", name, "--price", "999", "--stock", "5"])
            try #require(created.status == 0, "\(created.stderr)")
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-tty-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: home) }
            let tmux = Tmux(directory: home, server: server.gateway)
            do {
                try await tmux.start(script: #""$ECOM" products list --search Gaming; "$ECOM" register; echo "status $?"; read"#, columns: 80)
                try await tmux.waitForScreen("the email question") { $0.lastLine == "Email:" }
                let row = try #require(try await tmux.screen().text.split(separator: "\n").first { $0.contains("Gaming Laptop") })
                #expect(row.contains("…") && row.contains("$999.00"), "\(row)")
                try await tmux.type("tty@example.com")
                try await tmux.press("Enter")
                try await tmux.waitForScreen("the password question") { $0.lastLine == "Password:" }
                try await tmux.press("C-c")
                try await tmux.waitForScreen("the exit status on a line of its own") { $0.lastLine == "status 130" }
                let screen = try await tmux.screen().text
                #expect(screen.contains("Password:\nstatus 130") || screen.contains("Password: \nstatus 130"), "\(screen)")
            } catch {
                print((try? await tmux.screen())?.text ?? "")
                await tmux.killServer()
                throw error
            }
            await tmux.killServer()
        }
    }

    func drive(_ tmux: Tmux, server: ServerProcess, product laptop: String) async throws {
        let home = tmux.directory
        let host = server.gateway.replacingOccurrences(of: "http://", with: "")

        // First session.
        try await tmux.start()
        try await tmux.waitForScreen("the prompt with the server") { $0.lastLine == "ecom \(host)>" }
        try await tmux.type("who")
        try await tmux.press("Tab")
        try await tmux.waitForScreen("whoami completed") { $0.contains("ecom \(host)> whoami") }
        try await tmux.press("Enter")
        try await tmux.waitForScreen("the error, and the REPL still there") {
            $0.contains("not logged in to \(server.gateway)") && $0.lastLine == "ecom \(host)>"
        }

        try await tmux.type("login --email root@example.com")
        try await tmux.press("Enter")
        try await tmux.waitForScreen("the password question") { $0.lastLine == "Password:" }
        try await tmux.type("root-password-123")
        try await tmux.press("Enter")
        try await tmux.waitForScreen("the prompt with the signed-in account") { $0.lastLine == "ecom \(host) root@example.com>" }
        #expect(!(try await tmux.screen()).contains("root-password-123"))

        try await tmux.type("products l")
        try await tmux.press("Tab")
        try await tmux.waitForScreen("products list completed") { $0.lastLine == "ecom \(host) root@example.com> products list" }
        try await tmux.press("Enter")
        try await tmux.waitForScreen("the catalog") { $0.contains("Gaming Laptop") && $0.lastLine.hasSuffix("root@example.com>") }

        try await tmux.type("cart add \(laptop.prefix(6))")
        try await tmux.press("Tab")
        try await tmux.waitForScreen("the product id completed") { $0.lastLine.hasSuffix("> cart add \(laptop)") }
        try await tmux.press("Enter")
        try await tmux.waitForScreen("the cart") { $0.contains("Total $999.00 for 1 item") && $0.lastLine.hasSuffix("root@example.com>") }

        try await tmux.press("Up")
        try await tmux.waitForScreen("the last command recalled") { $0.lastLine.hasSuffix("> cart add \(laptop)") }
        try await tmux.press("Up")
        try await tmux.waitForScreen("the one before") { $0.lastLine.hasSuffix("> products list") }
        try await tmux.press("C-c")
        try await tmux.waitForScreen("Ctrl-C clears the line") {
            $0.lastLine == "ecom \(host) root@example.com>" && $0.contains("root@example.com> products list^C\n")
        }
        try await tmux.press("C-d")
        #expect(try await tmux.exitStatus() == 0)

        let history = home.appendingPathComponent("state/ecom/history")
        let mode = try FileManager.default.attributesOfItem(atPath: history.path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        let text = try String(contentsOf: history, encoding: .utf8)
        #expect(text.contains("whoami") && text.contains("login") && text.contains(laptop))
        #expect(!text.contains("root-password-123"))

        // A second session finds the history, and the session, again.
        try await tmux.start()
        try await tmux.waitForScreen("the prompt, still signed in") { $0.lastLine == "ecom \(host) root@example.com>" }
        try await tmux.press("Up")
        try await tmux.waitForScreen("the history of the first session") { $0.lastLine.hasSuffix("> cart add \(laptop)") }
        try await tmux.press("Up")
        try await tmux.press("Up")
        try await tmux.waitForScreen("the login, without a password") { $0.lastLine.hasSuffix("> login --email root@example.com") }
        try await tmux.press("C-u")
        try await tmux.waitForScreen("the line cleared") { $0.lastLine == "ecom \(host) root@example.com>" }
        try await tmux.type("logout")
        try await tmux.press("Enter")
        try await tmux.waitForScreen("the prompt without the account") { $0.lastLine == "ecom \(host)>" }
        try await tmux.press("C-d")
        #expect(try await tmux.exitStatus() == 0)
    }
}
