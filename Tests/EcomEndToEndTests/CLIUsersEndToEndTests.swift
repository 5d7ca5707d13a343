import EcomAPI
import Foundation
import Testing

/// Exit statuses the CLI reaches without a server.
@Suite struct CLIExitStatusEndToEndTests {
    @Test("a server that is not there is exit 69 with one readable line")
    func unreachable() async throws {
        let port = try TestEnvironment.freePort()
        let cli = try CLI(server: "http://127.0.0.1:\(port)")
        defer { cli.removeConfig() }
        let result = try await cli.run(["products", "list"])
        #expect(result.status == 69)
        #expect(result.stderr == "ecom: cannot reach http://127.0.0.1:\(port) (connection refused); is ecom serve running?\n")
        #expect(result.stdout.isEmpty)
    }

    @Test("a signed-in command without a session is exit 4 and says to log in")
    func notLoggedIn() async throws {
        let cli = try CLI(server: "http://127.0.0.1:\(try TestEnvironment.freePort())")
        defer { cli.removeConfig() }
        let result = try await cli.run(["cart", "show"])
        #expect(result.status == 4)
        #expect(result.stderr.contains("ecom login"))
    }

    @Test("usage errors are exit 64, from argument-parser and from validation alike")
    func usage() async throws {
        let cli = try CLI(server: "http://127.0.0.1:1")
        defer { cli.removeConfig() }
        for arguments in [["frobnicate"], ["products", "list", "--limit", "0"], ["cart", "clear"], ["admin", "products", "create", "--name", "x", "--price", "19.999"]] {
            let result = try await cli.run(arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }

    @Test("a command refused before its request exits cleanly while its HTTP set-up still runs on the other thread")
    func refusedDuringSetUp() async throws {
        let cli = try CLI(server: "http://127.0.0.1:1")
        defer { cli.removeConfig() }
        // Each run parses in a few milliseconds and exits while libcurl and OpenSSL may still be initializing:
        // an exit racing their set-up would end in a signal, not 64.
        for round in 0..<25 {
            let arguments = round.isMultiple(of: 2) ? ["products", "list", "--limit", "0"] : ["cart", "add"]
            let result = try await cli.run(arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
            #expect(result.stderr.hasPrefix("Error: ") || result.stderr.hasPrefix("ecom: "), "\(result.stderr)")
        }
    }

    @Test(
        "a mistyped command exits 64 with one line naming the word and the nearest command",
        arguments: [
            (["prodcuts", "list"], "ecom: 'prodcuts' is not an ecom command; did you mean 'ecom products'?\n"),
            (["car", "show"], "ecom: 'car' is not an ecom command; did you mean 'ecom cart'?\n"),
            (["help", "nonsense"], "ecom: 'nonsense' is not an ecom command; see 'ecom --help' for the commands\n"),
            (["admin", "users", "patch", "--help"], "ecom: 'patch' is not a command of 'ecom admin users'; see 'ecom admin users --help' for the commands\n"),
        ])
    func unknownCommand(arguments: [String], message: String) async throws {
        let cli = try CLI(server: "http://127.0.0.1:1")
        defer { cli.removeConfig() }
        let result = try await cli.run(arguments)
        #expect(result.status == 64)
        #expect(result.stderr == message)
        #expect(result.stdout.isEmpty)
    }

    @Test(
        "a negative number is read as the value it is and refused for what it is",
        arguments: [
            (["cart", "set", "0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c", "-1"], "quantity must be at least 1, got -1"),
            (["admin", "products", "create", "--name", "Mug", "--price", "-1"], "a price must be more than 0, got -1"),
            (["admin", "products", "create", "--name", "Mug", "--price", "1", "--stock", "-4"], "--stock must be 0 or more, got -4"),
        ])
    func negativeNumbers(arguments: [String], message: String) async throws {
        let cli = try CLI(server: "http://127.0.0.1:1")
        defer { cli.removeConfig() }
        let result = try await cli.run(arguments)
        #expect(result.status == 64)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test("a file that is not a catalog is explained in the file's terms, not the decoder's")
    func wrongCatalog() async throws {
        let cli = try CLI(server: "http://127.0.0.1:1")
        defer { cli.removeConfig() }
        let file = cli.configHome.appendingPathComponent("list.json")
        try Data("[{\"sku\": \"A\"}]".utf8).write(to: file)
        let result = try await cli.run(["admin", "products", "import", file.path])
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "ecom: \(file.path): expected a JSON object with a \"products\" array (see `ecom admin products import --help`)\n")
    }

    @Test("a server that answers without the API's error bodies is said not to look like an ecom gateway")
    func notAGateway() async throws {
        let server = try CannedServer(response: "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nNot Found")
        defer { server.close() }
        let cli = try CLI(server: server.url)
        defer { cli.removeConfig() }
        let result = try await cli.run(["products", "list"])
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "ecom: \(server.url) does not look like an ecom gateway (404 without an ecom error body); check --server or ECOM_SERVER\n")
    }

    @Test("--help and --version succeed")
    func help() async throws {
        let cli = try CLI(server: "http://127.0.0.1:1")
        defer { cli.removeConfig() }
        let help = try await cli.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("EXIT STATUS"))
        #expect(try await cli.run(["--version"]).stdout == "0.1.0\n")
    }
}

/// Accounts through the `ecom` binary against a real `ecom serve` (users + gateway).
///
/// Serialized: each test runs a whole `ecom serve`, and several at once on two cores push
/// requests past the CLI's 30 s timeout.
@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason), .serialized)
struct CLIUsersEndToEndTests {
    @Test("register, log in, read the account, change the password and log out")
    func accountJourney() async throws {
        try await withCLIServer { server in
            let cli = try CLI(server: server.gateway)
            defer { cli.removeConfig() }

            let registered = try await cli.run(["register", "--email", "Ann@Example.com", "--password-stdin", "--json"], stdin: "password123\n")
            #expect(registered.status == 0, "\(registered.stderr)")
            #expect(registered.object?["email"] as? String == "ann@example.com")

            let login = try await cli.run(["login", "--email", "ann@example.com", "--password-stdin"], stdin: "password123\n")
            #expect(login.status == 0, "\(login.stderr)")
            #expect(login.stderr.contains("Logged in to \(server.gateway) as ann@example.com"))

            let attributes = try FileManager.default.attributesOfItem(atPath: cli.credentialsFile.path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let directory = try FileManager.default.attributesOfItem(atPath: cli.credentialsFile.deletingLastPathComponent().path)
            #expect((directory[.posixPermissions] as? NSNumber)?.intValue == 0o700)

            let whoami = try await cli.run(["whoami", "--json"])
            #expect(whoami.status == 0, "\(whoami.stderr)")
            let me = try #require(whoami.object)
            #expect(Set(me.keys) == ["id", "email", "role", "disabled", "created_at"])
            #expect(UUID(uuidString: me["id"] as? String ?? "") != nil)
            #expect(me["email"] as? String == "ann@example.com")
            #expect(me["role"] as? String == "user")
            #expect(me["disabled"] as? Bool == false)
            #expect(RFC3339.date(from: me["created_at"] as? String ?? "") != nil)
            #expect(whoami.stderr.isEmpty)

            let plain = try await cli.run(["whoami"])
            #expect(plain.stdout.hasPrefix("\(me["id"] as! String)\tann@example.com\tuser\tactive\t"))

            let wrong = try await cli.run(["passwd", "--password-stdin"], stdin: "not-my-password\nnew-password-456\n")
            #expect(wrong.status == 4, "\(wrong.stderr)")
            #expect(wrong.stderr == "ecom: current password is wrong\n")
            // The server's field name (new_password) comes out as what the CLI asked for; a search too long is
            // refused before it is sent, even one too long for a URL.
            let short = try await cli.run(["passwd", "--password-stdin"], stdin: "password123\nshort\n")
            #expect(short.status == 1)
            #expect(short.stderr == "ecom: the new password must be 8 to 1024 characters long\n")
            let search = try await cli.run(["products", "list", "--search", String(repeating: "tea ", count: 5000)])
            #expect(search.status == 64)
            #expect(search.stderr.contains("--search must be at most 200 characters, got 20000"), "\(search.stderr)")
            let changed = try await cli.run(["passwd", "--password-stdin"], stdin: "password123\nnew-password-456\n")
            #expect(changed.status == 0, "\(changed.stderr)")

            let logout = try await cli.run(["logout", "--json"])
            #expect(logout.status == 0, "\(logout.stderr)")
            #expect(logout.stdout == "{}\n")
            #expect(try cli.session() == nil)
            #expect(try await cli.run(["whoami"]).status == 4)

            let old = try await cli.run(["login", "--email", "ann@example.com", "--password-stdin"], stdin: "password123\n")
            #expect(old.status == 4, "\(old.stderr)")
            try await cli.login("ann@example.com", password: "new-password-456")
            #expect(try await cli.run(["whoami"]).status == 0)
        }
    }

    @Test("a command writes nothing in the home directory but the credentials file and its lock")
    func cleanHome() async throws {
        try await withCLIServer { server in
            let cli = try CLI(server: server.gateway)
            let home = cli.configHome.appendingPathComponent("home")
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
            defer { cli.removeConfig() }
            // The XDG variables at their defaults, so that every place the XDG spec gives is in the home.
            let environment = [
                "HOME": home.path, "XDG_CONFIG_HOME": home.path + "/.config", "XDG_DATA_HOME": home.path + "/.local/share",
                "XDG_CACHE_HOME": home.path + "/.cache", "XDG_STATE_HOME": home.path + "/.local/state",
            ]
            for (arguments, stdin) in [
                (["register", "--email", "hal@example.com", "--password-stdin"], "password123\n"),
                (["login", "--email", "hal@example.com", "--password-stdin"], "password123\n"), (["whoami"], ""),
                (["products", "list"], ""), (["cart", "show"], ""),
            ] {
                let result = try await cli.run(arguments, stdin: stdin, environment: environment)
                #expect(result.status == 0, "\(arguments): \(result.stderr)")
            }
            let written = try #require(FileManager.default.enumerator(atPath: home.path)).compactMap { $0 as? String }
            #expect(written.sorted() == [".config", ".config/ecom", ".config/ecom/credentials.json", ".config/ecom/credentials.lock"])
        }
    }

    @Test("an expired or garbage access token is refreshed without the user noticing")
    func transparentRefresh() async throws {
        try await withCLIServer { server in
            let cli = try CLI(server: server.gateway)
            defer { cli.removeConfig() }
            try await cli.signUp("bea@example.com")
            let before = try #require(try cli.session())
            try cli.editSession { $0["token"] = "garbage.not-a.jwt" }

            let whoami = try await cli.run(["whoami", "--json"])
            #expect(whoami.status == 0, "\(whoami.stderr)")
            #expect(whoami.object?["email"] as? String == "bea@example.com")
            let after = try #require(try cli.session())
            #expect(after["token"] as? String != "garbage.not-a.jwt")
            #expect(after["refresh_token"] as? String != before["refresh_token"] as? String)
            let attributes = try FileManager.default.attributesOfItem(atPath: cli.credentialsFile.path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

            // Both tokens dead: the session ends with exit 4 and a hint.
            try cli.editSession {
                $0["token"] = "garbage"
                $0["refresh_token"] = "also-garbage"
            }
            let expired = try await cli.run(["whoami"])
            #expect(expired.status == 4)
            #expect(expired.stderr.hasPrefix("ecom: session for \(server.gateway) ended: the server no longer accepts its refresh token"))
            #expect(expired.stderr.hasSuffix("sign in again with `ecom login --email bea@example.com`\n"))
            #expect(try cli.session() == nil)
        }
    }

    @Test("two ecom processes refreshing at once both succeed: the lock keeps it from looking like theft")
    func concurrentRefresh() async throws {
        try await withCLIServer { server in
            let cli = try CLI(server: server.gateway)
            defer { cli.removeConfig() }
            try await cli.signUp("cy@example.com")
            try cli.editSession { $0["token"] = "expired" }
            let statuses = try await withThrowingTaskGroup(of: Int32.self) { group in
                for _ in 0..<4 { group.addTask { try await cli.run(["whoami", "--json"]).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == [0, 0, 0, 0])
            #expect(try await cli.run(["whoami"]).status == 0)
        }
    }

    @Test("the seeded admin lists accounts, grants the admin role and disables an account")
    func administration() async throws {
        try await withCLIServer { server in
            let admin = try CLI(server: server.gateway)
            let user = try CLI(server: server.gateway)
            defer {
                admin.removeConfig()
                user.removeConfig()
            }
            try await user.signUp("dee@example.com")
            #expect(try await user.run(["admin", "users", "list"]).status == 4)
            try await admin.login("root@example.com", password: "root-password-123")

            let list = try await admin.run(["admin", "users", "list", "--json", "--all"])
            #expect(list.status == 0, "\(list.stderr)")
            let users = try list.json([User].self)
            #expect(Set(users.map(\.email)).isSuperset(of: ["root@example.com", "dee@example.com"]))
            let dee = try #require(users.first { $0.email == "dee@example.com" })

            let firstPage = try await admin.run(["admin", "users", "list", "--json", "--limit", "1"])
            #expect(try firstPage.json([User].self).count == 1)
            let cursor = try #require(firstPage.stderr.split(separator: "\n").first { $0.hasPrefix("next cursor: ") }?.dropFirst("next cursor: ".count))
            let secondPage = try await admin.run(["admin", "users", "list", "--json", "--limit", "1", "--cursor", String(cursor)])
            #expect(secondPage.status == 0)
            #expect(try secondPage.json([User].self).first?.id != (try firstPage.json([User].self).first?.id))

            let tsv = try await admin.run(["admin", "users", "list", "--all"])
            #expect(tsv.stdout.split(separator: "\n").contains { $0.hasPrefix("\(dee.id.lowercased)\tdee@example.com\tuser\tactive\t") })

            let granted = try await admin.run(["admin", "users", "grant-admin", "DEE@example.com", "--json"])
            #expect(granted.status == 0, "\(granted.stderr)")
            #expect(granted.object?["role"] as? String == "admin")
            let revoked = try await admin.run(["admin", "users", "revoke-admin", dee.id.lowercased, "--json"])
            #expect(revoked.object?["role"] as? String == "user")

            let disabled = try await admin.run(["admin", "users", "disable", dee.id.lowercased, "--json"])
            #expect(disabled.status == 0, "\(disabled.stderr)")
            #expect(disabled.object?["disabled"] as? Bool == true)
            let refused = try await user.run(["login", "--email", "dee@example.com", "--password-stdin"], stdin: "password123\n")
            #expect(refused.status == 4, "\(refused.stderr)")

            let enabled = try await admin.run(["admin", "users", "enable", "dee@example.com", "--json"])
            #expect(enabled.object?["disabled"] as? Bool == false)
            try await user.login("dee@example.com", password: "password123")

            let missing = try await admin.run(["admin", "users", "disable", "nobody@example.com"])
            #expect(missing.status == 1)
            #expect(missing.stderr == "ecom: no account with the email nobody@example.com\n")
        }
    }
}
