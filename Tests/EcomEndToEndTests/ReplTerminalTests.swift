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
        try await tmux.press("C-c")
        try await tmux.type("logout")
        try await tmux.press("Enter")
        try await tmux.waitForScreen("the prompt without the account") { $0.lastLine == "ecom \(host)>" }
        try await tmux.press("C-d")
        #expect(try await tmux.exitStatus() == 0)
    }
}

/// One private tmux server (its own socket, `-S`) running `ecom repl` with HOME and the XDG
/// directories in a temporary directory.
struct Tmux {
    static let executable: URL? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("tmux") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }

    let directory: URL
    let server: String
    /// The server's socket, inside the test's directory so it goes away with it.
    var socket: URL { directory.appendingPathComponent("tmux.socket") }
    var statusFile: URL { directory.appendingPathComponent("status") }

    init(directory: URL, server: String) {
        self.directory = directory
        self.server = server
    }

    /// Starts `ecom repl` in a new session `columns` wide and 50 high, with `environment` exported;
    /// its exit status goes to `statusFile`. With `script`, runs those shell lines instead (`$ECOM`
    /// is the binary).
    func start(environment: [String: String] = [:], script lines: String? = nil, columns: Int = 200) async throws {
        try? FileManager.default.removeItem(at: statusFile)
        let script = directory.appendingPathComponent("repl.sh")
        let quoted = { (text: String) in "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        try """
            #!/bin/bash
            # Job control puts ecom in a process group of its own, as an interactive shell does, so
            # Ctrl-C reaches ecom and not this script.
            set -m
            unset NO_COLOR ECOM_SERVER
            export HOME=\(quoted(directory.path))
            export XDG_CONFIG_HOME=\(quoted(directory.appendingPathComponent("config").path))
            export XDG_STATE_HOME=\(quoted(directory.appendingPathComponent("state").path))
            export ECOM_SERVER=\(quoted(server))
            export LANG=C.UTF-8
            \(environment.sorted { $0.key < $1.key }.map { "export \($0.key)=\(quoted($0.value))\n" }.joined())\
            ECOM=\(quoted(TestEnvironment.binary.path))
            \(lines ?? "\"$ECOM\" repl")
            echo $? > \(quoted(statusFile.path))

            """.write(to: script, atomically: true, encoding: .utf8)
        chmod(script.path, 0o755)
        try await tmux(["new-session", "-d", "-x", String(columns), "-y", "50", "-s", "repl", script.path])
    }

    func type(_ text: String) async throws {
        try await tmux(["send-keys", "-t", "repl", "-l", text])
    }

    func press(_ key: String) async throws {
        try await tmux(["send-keys", "-t", "repl", key])
    }

    func screen() async throws -> Screen {
        Screen(text: try await tmux(["capture-pane", "-p", "-t", "repl"]))
    }

    /// Polls the screen until `condition` holds, for up to a minute.
    func waitForScreen(_ what: String, _ condition: (Screen) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        var last = Screen(text: "")
        var failure: (any Error)?
        while ContinuousClock.now < deadline {
            do {
                last = try await screen()
                failure = nil
            } catch {
                failure = error
            }
            if condition(last) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("the terminal never showed \(what)\(failure.map { " (\($0))" } ?? ""); the screen:\n\(last.text)")
    }

    /// Waits for `ecom repl` to end and returns its exit status.
    func exitStatus() async throws -> Int32? {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOf: statusFile, encoding: .utf8), text.hasSuffix("\n") {
                return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("ecom repl did not exit; the screen:\n\((try? await screen())?.text ?? "")")
    }

    /// Closes every descriptor above 2 in the child (glibc's `posix_spawn_file_actions_addclosefrom_np`,
    /// which Swift's Glibc module does not export), so the tmux server holds no pipe of another test.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) throws {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            throw HarnessError("this C library cannot close inherited descriptors in a spawned process")
        }
        guard unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3) == 0 else { throw HarnessError("posix_spawn_file_actions_addclosefrom_np failed") }
    }

    func killServer() async {
        _ = try? await tmux(["kill-server"])
    }

    /// Runs one tmux command on the private server and returns its standard output.
    ///
    /// Spawned directly rather than with `Process`: the tmux server that the first command
    /// starts keeps every descriptor it inherits, and `Process` sees its child end only once
    /// the descriptor it watches is closed by all holders. Here the child inherits no
    /// descriptor but /dev/null and its output file, and a shell writes tmux's status to a
    /// file once it ends (the test process may reap children itself, so `waitpid` cannot tell).
    @discardableResult
    private func tmux(_ arguments: [String]) async throws -> String {
        guard let executable = Self.executable else { throw HarnessError("no tmux") }
        let name = "tmux-\(UUID().uuidString)"
        let output = directory.appendingPathComponent(name + ".out")
        let done = directory.appendingPathComponent(name + ".status")
        defer {
            try? FileManager.default.removeItem(at: output)
            try? FileManager.default.removeItem(at: done)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["TMUX"] = nil
        environment["TERM"] = "xterm-256color"

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        try Self.closeInheritedDescriptors(&actions)

        let command = [executable.path, "-S", socket.path, "-f", "/dev/null"] + arguments
        let script = #""$@"; echo $? > "$DONE.tmp" && mv "$DONE.tmp" "$DONE""#
        let argv = (["/bin/sh", "-c", script, "sh"] + command).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [strdup("DONE=\(done.path)"), nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, nil, argv, envp)
        guard spawned == 0 else { throw HarnessError("cannot run tmux: \(String(cString: strerror(spawned)))") }

        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            if let text = try? String(contentsOf: done, encoding: .utf8) {
                let status = text.trimmingCharacters(in: .whitespacesAndNewlines)
                let printed = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
                guard status == "0" else { throw HarnessError("tmux \(arguments.joined(separator: " ")) failed (\(status)): \(printed)") }
                return printed
            }
            guard ContinuousClock.now < deadline else { throw HarnessError("tmux \(arguments.joined(separator: " ")) did not finish") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// What `capture-pane` showed.
struct Screen {
    var text: String

    func contains(_ part: String) -> Bool { text.contains(part) }

    /// The last line with anything on it, without trailing blanks: where the cursor's line usually is.
    var lastLine: String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.reversed().drop { $0 == " " }.reversed()) }
        return lines.last { !$0.isEmpty } ?? ""
    }
}
