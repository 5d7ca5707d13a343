import ArgumentParser
import EcomAPI
import Foundation
import EcomClient
import Testing

@testable import EcomCLI

private let id = "0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c"

@Suite struct ParsingTests {
    static let valid: [([String], any ParsableCommand.Type)] = [
        (["register", "--email", "a@b.co", "--password-stdin"], EcomCommand.Register.self),
        (["login", "--email", "a@b.co", "--password-stdin"], EcomCommand.Login.self),
        (["login", "--email", "a@b.co", "--password", "secret123", "--server", "https://shop.example"], EcomCommand.Login.self),
        (["logout", "--quiet"], EcomCommand.Logout.self),
        (["whoami", "--json", "--no-color"], EcomCommand.Whoami.self),
        (["passwd", "--password-stdin"], EcomCommand.Passwd.self),
        (["products", "list", "--search", "tea", "--limit", "5", "--all"], EcomCommand.Products.List.self),
        (["product", "list", "--cursor", "abc"], EcomCommand.Products.List.self),
        (["products", "show", id, "--json"], EcomCommand.Products.Show.self),
        (["cart", "show"], EcomCommand.CartCommand.Show.self),
        (["cart", "add", id, "--quantity", "2"], EcomCommand.CartCommand.Add.self),
        (["cart", "set", id, "1000"], EcomCommand.CartCommand.Set.self),
        (["cart", "remove", id], EcomCommand.CartCommand.Remove.self),
        (["cart", "clear", "--yes"], EcomCommand.CartCommand.Clear.self),
        (["order", "create"], EcomCommand.OrderCommand.Create.self),
        (["order", "create", "--no-wait", "--idempotency-key", "checkout-42"], EcomCommand.OrderCommand.Create.self),
        (["order", "create", "--wait-timeout", "5"], EcomCommand.OrderCommand.Create.self),
        (["orders", "list", "--status", "confirmed"], EcomCommand.OrderCommand.List.self),
        (["order", "show", id], EcomCommand.OrderCommand.Show.self),
        (["order", "cancel", id, "-y"], EcomCommand.OrderCommand.Cancel.self),
        (["admin", "products", "list", "-s", "mug", "--all"], EcomCommand.Admin.Products.List.self),
        (["admin", "products", "create", "--name", "Mug", "--price", "12.50", "--stock", "3", "--inactive"], EcomCommand.Admin.Products.Create.self),
        (["admin", "products", "update", id, "--price", "5"], EcomCommand.Admin.Products.Update.self),
        (["admin", "products", "update", id, "--active"], EcomCommand.Admin.Products.Update.self),
        (["admin", "products", "delete", id, "--yes"], EcomCommand.Admin.Products.Delete.self),
        (["admin", "products", "stock", id, "--delta", "-5", "--reason", "damaged"], EcomCommand.Admin.Products.Stock.self),
        (["admin", "products", "import", "fixtures/catalog.json"], EcomCommand.Admin.Products.Import.self),
        (["admin", "orders", "list", "--status", "pending"], EcomCommand.Admin.Orders.List.self),
        (["admin", "orders", "ship", id], EcomCommand.Admin.Orders.Ship.self),
        (["admin", "orders", "deliver", id], EcomCommand.Admin.Orders.Deliver.self),
        (["admin", "users", "list", "--limit", "100"], EcomCommand.Admin.Users.List.self),
        (["admin", "users", "grant-admin", "bob@example.com"], EcomCommand.Admin.Users.GrantAdmin.self),
        (["admin", "users", "revoke-admin", id], EcomCommand.Admin.Users.RevokeAdmin.self),
        (["admin", "users", "disable", id], EcomCommand.Admin.Users.Disable.self),
        (["admin", "users", "enable", "bob@example.com"], EcomCommand.Admin.Users.Enable.self),
        (["admin", "events", "list", "products"], EcomCommand.Admin.Events.List.self),
        (["admin", "events", "retry", "orders", id], EcomCommand.Admin.Events.Retry.self),
        (["serve", "--only", "users", "gateway"], EcomCommand.ServeCommand.self),
    ]

    @Test("every command parses", arguments: valid)
    func parses(arguments: [String], type: any ParsableCommand.Type) throws {
        let command = try EcomCommand.parseAsRoot(arguments)
        #expect(Swift.type(of: command) == type)
    }

    static let invalid: [[String]] = [
        ["frobnicate"],
        ["whoami", "--bogus"],
        ["whoami", "--server", "ftp://example.com"],
        ["whoami", "--server", "not a url"],
        ["login", "--email", "a@b.co", "--password", "x", "--password-stdin"],
        ["login", "--password-stdin"],
        ["register", "--password-stdin"],
        ["products", "show", "not a sku"],
        ["order", "show", "4c1"],
        ["order", "show", "not-hex"],
        ["products", "show"],
        ["products", "list", "--limit", "0"],
        ["products", "list", "--limit", "101"],
        ["products", "list", "--cursor", ""],
        ["cart", "add", id, "--quantity", "0"],
        ["cart", "add", id, "--quantity", "1001"],
        ["cart", "set", id],
        ["cart", "set", id, "-1"],
        ["cart", "remove", "123"],
        ["order", "create", "--wait-timeout", "0"],
        ["order", "create", "--idempotency-key", "has space"],
        ["order", "create", "--idempotency-key", ""],
        ["order", "list", "--status", "lost"],
        ["order", "cancel"],
        ["admin", "products", "create", "--name", "Mug"],
        ["admin", "products", "create", "--name", "Mug", "--price", "19.999"],
        ["admin", "products", "create", "--name", "Mug", "--price", "-1"],
        ["admin", "products", "create", "--name", "Mug", "--price", "1e3"],
        ["admin", "products", "create", "--name", "Mug", "--price", "abc"],
        ["admin", "products", "create", "--name", "Mug", "--price", ""],
        ["admin", "products", "create", "--name", " ", "--price", "1"],
        ["admin", "products", "create", "--name", "Mug", "--price", "1", "--stock", "-1"],
        ["admin", "products", "create", "--name", "Mug", "--price", "1", "--active", "--inactive"],
        ["admin", "products", "update", id],
        ["admin", "products", "update", id, "--price", "0"],
        ["admin", "products", "stock", id, "--delta", "0", "--reason", "x"],
        ["admin", "products", "stock", id, "--delta", "5"],
        ["admin", "products", "stock", id, "--delta", "5", "--reason", " "],
        ["admin", "products", "import"],
        ["admin", "users", "grant-admin", "bob"],
        ["admin", "events", "list", "payments"],
        ["admin", "events", "retry", "orders"],
    ]

    @Test("invalid command lines are usage errors (exit 64)", arguments: invalid)
    func rejects(arguments: [String]) {
        do {
            let command = try EcomCommand.parseAsRoot(arguments)
            Issue.record("parsed as \(type(of: command))")
        } catch {
            #expect(EcomCommand.exitStatus(for: error) == 64, "\(EcomCommand.fullMessage(for: error))")
            #expect(EcomCommand.failureMessage(for: error) == nil)
        }
    }

    @Test("options reach the command: price in cents, flags, negative deltas, user references")
    func values() throws {
        let create = try #require(
            try EcomCommand.parseAsRoot(["admin", "products", "create", "--name", "Mug", "--price", "12.50", "--inactive"])
                as? EcomCommand.Admin.Products.Create)
        #expect(create.price == 1250)
        #expect(create.visibility == .inactive)

        let update = try #require(
            try EcomCommand.parseAsRoot(["admin", "products", "update", id, "--price", "0.99", "--active"]) as? EcomCommand.Admin.Products.Update)
        #expect(update.update == ProductUpdate(priceCents: 99, isActive: true))
        let own = try #require(
            try EcomCommand.parseAsRoot(["admin", "products", "update", id, "--low-stock", "4"]) as? EcomCommand.Admin.Products.Update)
        #expect(own.update == ProductUpdate(lowStockThreshold: .value(4)))
        let storeDefault = try #require(
            try EcomCommand.parseAsRoot(["admin", "products", "update", id, "--low-stock", "default"]) as? EcomCommand.Admin.Products.Update)
        #expect(storeDefault.update == ProductUpdate(lowStockThreshold: .cleared))
        // `null` on the wire is what takes a product back to the store's threshold.
        #expect(String(decoding: try JSONEncoder.ecom.encode(storeDefault.update), as: UTF8.self) == #"{"low_stock_threshold":null}"#)
        #expect(throws: (any Error).self) { try EcomCommand.parseAsRoot(["admin", "products", "update", id, "--low-stock", "few"]) }
        // A negative count reaches the option's own check, not "missing value".
        let negative = #expect(throws: (any Error).self) { try EcomCommand.parseAsRoot(["admin", "products", "update", id, "--low-stock", "-3"]) }
        #expect(EcomCommand.fullMessage(for: negative!).contains("0 or more"))

        let stock = try #require(
            try EcomCommand.parseAsRoot(["admin", "products", "stock", id, "--delta", "-5", "--reason", "damaged"])
                as? EcomCommand.Admin.Products.Stock)
        #expect(stock.delta == -5)

        let grant = try #require(try EcomCommand.parseAsRoot(["admin", "users", "grant-admin", "Bob@Example.com"]) as? EcomCommand.Admin.Users.GrantAdmin)
        #expect(grant.user == .email("Bob@Example.com"))
        #expect(grant.update.role == .admin)
        let disable = try #require(try EcomCommand.parseAsRoot(["admin", "users", "disable", id]) as? EcomCommand.Admin.Users.Disable)
        #expect(disable.user == .id(IDReference(text: id, form: .full(UUID(uuidString: id)!))))
        #expect(disable.update.disabled == true)

        let list = try #require(try EcomCommand.parseAsRoot(["orders", "list", "--status", "shipped", "--all"]) as? EcomCommand.OrderCommand.List)
        #expect(list.status == .shipped)
        #expect(list.page.all && list.page.limit == nil)
    }

    @Test("the server comes from --server, else ECOM_SERVER, else localhost:8080")
    func server() throws {
        let plain = try #require(try EcomCommand.parseAsRoot(["whoami"]) as? EcomCommand.Whoami)
        #expect(try plain.options.serverURL(environment: [:]).absoluteString == "http://localhost:8080")
        #expect(try plain.options.serverURL(environment: ["ECOM_SERVER": "https://shop.example"]).absoluteString == "https://shop.example")
        let flagged = try #require(try EcomCommand.parseAsRoot(["whoami", "--server", "http://10.0.0.2:9000"]) as? EcomCommand.Whoami)
        #expect(try flagged.options.serverURL(environment: ["ECOM_SERVER": "https://shop.example"]).absoluteString == "http://10.0.0.2:9000")
        #expect(throws: ValidationError.self) { try plain.options.serverURL(environment: ["ECOM_SERVER": "localhost:8080"]) }
    }

    @Test("destructive commands need --yes when nobody can answer", arguments: [(false, false, false), (true, false, true), (false, true, true), (true, true, true)])
    func confirmation(yes: Bool, interactive: Bool, allowed: Bool) {
        #expect(((try? ConfirmationOptions.check(yes: yes, interactive: interactive)) != nil) == allowed)
    }

    @Test("help lists every command and documents the exit statuses")
    func help() {
        let root = EcomCommand.helpMessage(columns: 100)
        for name in ["register", "login", "logout", "whoami", "passwd", "products", "cart", "order", "admin", "serve", "EXIT STATUS"] {
            #expect(root.contains(name))
        }
        let admin = EcomCommand.helpMessage(for: EcomCommand.Admin.Users.self, columns: 100)
        for name in ["list", "grant-admin", "revoke-admin", "disable", "enable"] {
            #expect(admin.contains(name))
        }
    }

    @Test("every command in the tree names itself, so no start derives a name from the type")
    func commandsNameThemselves() {
        var unnamed: [String] = []
        func visit(_ command: any ParsableCommand.Type) {
            if command.configuration.commandName == nil { unnamed.append(String(reflecting: command)) }
            command.configuration.subcommands.forEach(visit)
        }
        visit(EcomCommand.self)
        #expect(unnamed == [])
    }
}

@Suite struct CommandLineMistakesTests {
    /// Parses as `ecom` does before running a command.
    static func parse(_ words: [String]) throws -> any ParsableCommand {
        if let unknown = CommandSuggestion.unknownCommand(in: words) { throw unknown }
        return try EcomCommand.parseAsRoot(NegativeNumbers.protect(words))
    }

    @Test(
        "a mistyped command is named, with the nearest command, and exits 64",
        arguments: [
            (["prodcuts", "list"], "'prodcuts' is not an ecom command; did you mean 'ecom products'?"),
            (["car", "show"], "'car' is not an ecom command; did you mean 'ecom cart'?"),
            (["--server", "http://shop.test", "--json", "oder", "list"], "'oder' is not an ecom command; did you mean 'ecom order'?"),
            (["users", "list"], "'users' is not an ecom command; did you mean 'ecom admin users'?"),
            (["help", "nonsense"], "'nonsense' is not an ecom command; see 'ecom --help' for the commands"),
            (["admin", "prodcts", "list"], "'prodcts' is not a command of 'ecom admin'; did you mean 'ecom admin products'?"),
            (["admin", "users", "patch", "--help"], "'patch' is not a command of 'ecom admin users'; see 'ecom admin users --help' for the commands"),
        ])
    func unknownCommand(words: [String], message: String) {
        #expect(throws: UsageFailure(message)) { try Self.parse(words) }
        #expect(EcomCommand.exitStatus(for: UsageFailure(message)) == 64)
    }

    @Test("every valid command line names only commands", arguments: ParsingTests.valid.map(\.0))
    func knownCommands(words: [String]) {
        #expect(CommandSuggestion.unknownCommand(in: words) == nil)
        #expect(CommandSuggestion.unknownCommand(in: words + ["--help"]) == nil)
        #expect(CommandSuggestion.unknownCommand(in: ["help"] + words.prefix { !$0.hasPrefix("-") }.prefix(2)) == nil)
    }

    @Test("argument-parser's own options are left to it", arguments: [["--generate-completion-script", "bash"], ["---completion", "cart", "add", "--", "x"], ["--experimental-dump-help"]])
    func builtInOptions(words: [String]) {
        #expect(CommandSuggestion.unknownCommand(in: words) == nil)
    }

    @Test(
        "negative numbers are read as values and rejected with what is wrong with them",
        arguments: [
            (["cart", "set", "0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c", "-1"], "quantity must be at least 1, got -1"),
            (["cart", "set", "0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c", "--json", "-3"], "quantity must be at least 1, got -3"),
            (["cart", "add", "0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c", "--quantity", "-2"], "--quantity must be at least 1, got -2"),
            (["cart", "add", "0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c", "--quantity", "1001"], "--quantity must be at most 1000, got 1001"),
            (["admin", "products", "create", "--name", "Mug", "--price", "-1"], "a price must be more than 0, got -1"),
            (["admin", "products", "update", "0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c", "--price", "-0.50"], "a price must be more than 0, got -0.50"),
            (["admin", "products", "create", "--name", "Mug", "--price", "1", "--stock", "-1"], "--stock must be 0 or more, got -1"),
            (["products", "list", "--limit", "-5"], "--limit must be between 1 and 100, got -5"),
            (["admin", "products", "list", "--search", String(repeating: "é", count: 201)], "--search must be at most 200 characters, got 201"),
            (["order", "create", "--wait-timeout", "-1"], "--wait-timeout must be between 1 and 3600 seconds, got -1"),
        ])
    func negativeNumbers(words: [String], message: String) {
        do {
            let command = try Self.parse(words)
            Issue.record("parsed as \(type(of: command))")
        } catch {
            #expect(EcomCommand.exitStatus(for: error) == 64)
            #expect(EcomCommand.fullMessage(for: error).contains(message), "\(EcomCommand.fullMessage(for: error))")
        }
    }

    @Test("a negative option value stays with its option, and other lines are left alone")
    func protectKeepsOptionValues() {
        let stock = ["admin", "products", "stock", "0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c", "--delta", "-5", "--reason", "x"]
        #expect(NegativeNumbers.protect(stock) == stock)
        #expect(NegativeNumbers.protect(["cart", "set", "L", "-1", "--json"]) == ["cart", "set", "L", "--json", "--", "-1"])
        #expect(NegativeNumbers.protect(["cart", "set", "L", "2"]) == ["cart", "set", "L", "2"])
    }

    @Test(
        "a negative number is a minus, digits, and at most one point with digits after it",
        arguments: [
            ("-1", true), ("-42", true), ("-3.", true), ("-3.25", true), ("-0", true),
            ("-", false), ("--1", false), ("-.5", false), ("-1.2.3", false), ("-1e3", false), ("-x", false),
            ("1", false), ("-1 ", false), ("-١", false), ("-1\u{301}", false), ("--json", false),
        ])
    func negativeNumberWords(word: String, isNumber: Bool) {
        #expect(NegativeNumbers.isNegativeNumber(word) == isNumber)
    }

    @Test("the REPL names commands as they are typed there")
    func replWording() {
        #expect(
            EcomCommand.replWording("See 'ecom products show --help' for more information.")
                == "See 'help products show' for more information.")
        #expect(EcomCommand.replWording("see 'ecom --help' for the commands") == "see 'help' for the commands")
        #expect(EcomCommand.replWording("did you mean 'ecom admin users'?") == "did you mean 'admin users'?")
    }

    @Test("server field names become what the CLI asked for or its options")
    func fieldNames() {
        let failure = ClientError.api(
            APIFailure(status: 400, code: "invalid_field", message: "new_password must be 8 to 1024 characters long", field: "new_password"))
        #expect(EcomCommand.failureMessage(for: failure) == "the new password must be 8 to 1024 characters long")
        let search = ClientError.api(
            APIFailure(status: 400, code: "invalid_query", message: "q must be at most 200 characters, without NUL", field: "q"))
        #expect(EcomCommand.failureMessage(for: search) == "--search must be at most 200 characters, without NUL")
        let wrong = ClientError.api(APIFailure(status: 401, code: "invalid_credentials", message: "current password is wrong", field: "current_password"))
        #expect(EcomCommand.failureMessage(for: wrong) == "current password is wrong")
    }

    @Test(
        "a file that is not a catalog is explained in the file's terms",
        arguments: [
            ("[]", "expected a JSON object with a \"products\" array"),
            ("{}", "expected a JSON object with a \"products\" array"),
            ("{\"products\": {}}", "expected a JSON object with a \"products\" array"),
            ("not json", "not valid JSON"),
            ("{\"products\": [{\"sku\": \"A\", \"name\": \"Mug\", \"price_cents\": \"x\", \"stock\": 1}]}", "must be a whole number"),
        ])
    func catalogErrors(file: String, message: String) {
        do {
            _ = try JSONDecoder.ecom.decode(CatalogImport.self, from: Data(file.utf8))
            Issue.record("decoded")
        } catch {
            let text = EcomCommand.Admin.Products.Import.describe(error)
            #expect(text.contains(message), "\(text)")
            #expect(!text.contains("Dictionary") && !text.contains("Expected to decode"), "\(text)")
        }
    }
}
