import ArgumentParser
import EcomLineEditor
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import EcomCLI

@Suite struct ShellWordsTests {
    static let lines: [(String, [String])] = [
        ("products list", ["products", "list"]),
        ("  cart   add\tabc  ", ["cart", "add", "abc"]),
        (#"admin products create --name "Gaming Laptop" --price 999"#, ["admin", "products", "create", "--name", "Gaming Laptop", "--price", "999"]),
        ("say 'it''s here'", ["say", "its here"]),
        (#"'a "b" \c'"#, [#"a "b" \c"#]),
        (#""a \"b\" \\ \$ \n""#, [#"a "b" \ $ \n"#]),
        (#"Gaming\ Laptop"#, ["Gaming Laptop"]),
        (#"a\'b"#, ["a'b"]),
        (#"--name="" x"#, ["--name=", "x"]),
        (#""" ''"#, ["", ""]),
        ("pre\"fix\"ed", ["prefixed"]),
        ("products list # a comment", ["products", "list"]),
        ("# only a comment", []),
        ("a#b", ["a#b"]),
        ("", []),
        ("   \t ", []),
    ]

    @Test("lines split into words as in a shell", arguments: lines)
    func splits(line: String, words: [String]) throws {
        #expect(try ShellWords.split(line) == words)
    }

    @Test("an unterminated quote or a trailing backslash is an error", arguments: [
        (#"admin products create --name "Gaming"#, "unterminated \" quote"),
        ("say 'hello", "unterminated ' quote"),
        (#"cart add \"#, "the line ends with a backslash"),
    ])
    func unterminated(line: String, message: String) {
        #expect(throws: ShellWords.SplitError(errorDescription: message)) { try ShellWords.split(line) }
    }

    @Test("a partial line for completion tolerates an open quote")
    func partial() {
        #expect(ShellWords.splitPartial(#"admin products create --name "Gaming La"#) == ["admin", "products", "create", "--name", "Gaming La"])
    }
}

@Suite struct HistoryFilterTests {
    @Test("commands without a password are recorded", arguments: [
        "products list",
        "login --email a@b.co",
        "login --email a@b.co --password-stdin",
        "cart add 0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c --quantity 2",
        #"admin products create --name "Password manager" --price 5"#,
    ])
    func recorded(line: String) {
        #expect(HistoryFilter.mayRecord(line))
    }

    @Test("lines that carry a password, start with a blank or are blank are not", arguments: [
        "login --email a@b.co --password secret123",
        "login --password secret123 --email a@b.co",
        "register --email a@b.co --password=secret123",
        #"register --email a@b.co --password "two words""#,
        "passwd",
        "passwd --password-stdin",
        " products list",
        "",
        "   ",
        #"login --email a@b.co --password "unterminated"#,
    ])
    func notRecorded(line: String) {
        #expect(!HistoryFilter.mayRecord(line))
    }
}

@Suite struct ReplCompletionTests {
    static let ids = ["0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c", "0b3d0000-6f1d-4e2a-9c7b-5d8e1f2a3b4c", "7f000000-0000-4000-8000-000000000000"]
    static let products = zip(ids, ["Gaming Laptop", "Green tea", "Mug"]).map { CompletionCandidate(value: $0, description: $1) }
    static let lines = [CompletionCandidate(value: "11111111-0000-4000-8000-000000000000", description: "Mug × 2")]
    static let orders = [
        CompletionCandidate(value: "aaaa0000-0000-4000-8000-000000000000", description: "confirmed, $12.50, 2026-12-01"),
        CompletionCandidate(value: "abcd0000-0000-4000-8000-000000000000", description: "pending, $3.99, 2026-12-01"),
    ]
    static let everyOrder = orders + [CompletionCandidate(value: "ffff0000-0000-4000-8000-000000000000", description: "shipped, $1.00, 2026-11-30")]
    static let users = [
        CompletionCandidate(value: "ann@example.com", description: "admin"),
        CompletionCandidate(value: "bob@example.com", description: "user, disabled"),
    ]

    let completer: ReplCompleter

    init() throws {
        let tree = try #require(CommandDescription.root, "argument-parser's description of the command tree did not decode")
        completer = ReplCompleter(tree: tree) { kind, admin, word in
            let values = switch kind {
            case .product: Self.products
            case .cartLine: Self.lines
            case .order: admin ? Self.everyOrder : Self.orders
            case .user: Self.users
            }
            return values.filter { $0.value.hasPrefix(word) }
        }
    }

    static let cases: [(before: String, word: String, expected: [String])] = [
        ("", "prod", ["products"]),
        ("", "c", ["cart"]),
        ("", "se", []),
        ("", "re", ["register"]),
        ("", "ex", ["exit"]),
        ("products ", "l", ["list"]),
        ("product ", "", ["list", "show"]),
        ("admin ", "", ["dead-letters", "events", "orders", "products", "users", "webhooks"]),
        ("admin users ", "gr", ["grant-admin"]),
        ("cart add ", "--q", ["--quantity", "--quiet"]),
        ("cart add ", "--qua", ["--quantity"]),
        ("cart add ", "", [
            "0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c  Gaming Laptop",
            "0b3d0000-6f1d-4e2a-9c7b-5d8e1f2a3b4c  Green tea",
            "7f000000-0000-4000-8000-000000000000  Mug",
        ]),
        ("cart add ", "0b3c", ["0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c"]),
        ("cart add ", "0b3", ["0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c  Gaming Laptop", "0b3d0000-6f1d-4e2a-9c7b-5d8e1f2a3b4c  Green tea"]),
        ("cart set ", "", ["11111111-0000-4000-8000-000000000000"]),
        ("cart remove ", "1", ["11111111-0000-4000-8000-000000000000"]),
        ("order show ", "", ["aaaa0000-0000-4000-8000-000000000000  confirmed, $12.50, 2026-12-01", "abcd0000-0000-4000-8000-000000000000  pending, $3.99, 2026-12-01"]),
        ("order cancel ", "ab", ["abcd0000-0000-4000-8000-000000000000"]),
        ("admin orders ship ", "f", ["ffff0000-0000-4000-8000-000000000000"]),
        ("admin products stock ", "7", ["7f000000-0000-4000-8000-000000000000"]),
        ("admin users disable ", "", ["ann@example.com  admin", "bob@example.com  user, disabled"]),
        ("admin users grant-admin ", "b", ["bob@example.com"]),
        ("products show ", "7", ["7f000000-0000-4000-8000-000000000000"]),
        ("cart add 0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c ", "", []),
        ("order list --status ", "c", ["cancelled", "confirmed"]),
        ("order list --status=pending ", "--st", []),
        ("admin events list ", "", ["cart", "notifications", "orders", "products"]),
        ("listen --types ", "order.c", ["order.cancelled", "order.confirmed", "order.created"]),
        ("listen ", "--f", ["--fields", "--forward-secret", "--forward-to"]),
        ("order watch ", "ab", ["abcd0000-0000-4000-8000-000000000000"]),
        ("admin webhooks ", "", ["add", "delete", "deliveries", "disable", "enable", "list", "rotate-secret", "show", "test"]),
        ("order create --no-wait ", "--no", ["--no-color", "--no-pager"]),
        ("order create ", "--no", ["--no-color", "--no-pager", "--no-wait"]),
        (#"admin products create --name "Gaming Laptop" "#, "--p", ["--price"]),
        ("login ", "--password", ["--password", "--password-stdin"]),
        ("whoami ", "-", ["--fields", "--help", "--jq", "--json", "--no-color", "--no-pager", "--quiet", "--server", "--version"]),
        ("cart clear ", "-y", ["-y"]),
        ("help ", "ca", ["cart"]),
        ("help admin ", "p", ["products"]),
        ("help ", "se", []),
        ("exit ", "", []),
        ("frobnicate ", "", []),
    ]

    @Test("Tab offers commands, options, values, and the server's ids with what they name", arguments: cases)
    func candidates(before: String, word: String, expected: [String]) {
        #expect(completer.candidates(before: before, word: word) == expected)
    }

    @Test("the top level offers every client command and the REPL's own, not serve or repl")
    func topLevel() {
        let names = completer.candidates(before: "", word: "")
        #expect(names.contains("products") && names.contains("login") && names.contains("admin"))
        #expect(names.contains("help") && names.contains("exit") && names.contains("quit"))
        #expect(!names.contains("serve") && !names.contains("repl"))
    }

    @Test("a catalog file is completed from the directories and .json files under what is typed")
    func files() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-complete-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("fixtures"), withIntermediateDirectories: true)
        for file in ["catalog.json", "notes.txt", ".hidden.json", "fixtures/more.JSON"] {
            try Data("{}".utf8).write(to: directory.appendingPathComponent(file))
        }
        let tree = try #require(CommandDescription.root)
        let completer = ReplCompleter(tree: tree, directory: directory) { _, _, _ in [] }
        #expect(completer.candidates(before: "admin products import ", word: "") == ["catalog.json", "fixtures/"])
        #expect(completer.candidates(before: "admin products import ", word: "fixtures/") == ["fixtures/more.JSON"])
        #expect(completer.candidates(before: "admin products import ", word: ".") == [".hidden.json"])
        #expect(completer.candidates(before: "admin products import ", word: directory.path + "/c") == [directory.path + "/catalog.json"])
    }

    /// Tab's candidates are computed on the line editor's thread, which may block; so here.
    static let editorThread = BlockingThread(name: "test line editor")

    @Test("server values are matched by value prefix, then by name, from a cache that fetches each kind once")
    func serverValues() async {
        let fetches = Counter()
        let cache = ServerValueCache(lifetime: { _ in .seconds(600) }, waitLimit: .seconds(60)) { kind, admin in
            fetches.increment()
            switch kind {
            case .product: return [.init(value: "aa11", description: "Gaming Laptop"), .init(value: "bb22", description: "Green tea"), .init(value: "ab33", description: "Mug")]
            default: return [.init(value: admin ? "all" : "mine", description: "")]
            }
        }
        let answers = await Self.editorThread.run {
            ["a", "", "gam", "G", "zz"].map { cache.candidates(.product, admin: false, matching: $0).map(\.value) }
        }
        #expect(answers == [["aa11", "ab33"], ["aa11", "ab33", "bb22"], ["aa11"], ["aa11", "bb22"], []])
        #expect(fetches.value == 1)
        let orders = await Self.editorThread.run {
            [cache.candidates(.order, admin: false, matching: ""), cache.candidates(.order, admin: true, matching: "")].map { $0.map(\.value) }
        }
        #expect(orders == [["mine"], ["all"]])
        #expect(fetches.value == 3)
    }

    @Test("values that cannot be fetched complete nothing")
    func unreachable() async {
        let cache = ServerValueCache(waitLimit: .seconds(60)) { _, _ in throw CancellationError() }
        #expect(await Self.editorThread.run { cache.candidates(.product, admin: false, matching: "") }.isEmpty)
    }

    @Test("the shell scripts get values with descriptions for zsh and fish, values alone for bash")
    func shellFormats() {
        let candidates = [CompletionCandidate(value: "a:b", description: "Tea\tpot"), CompletionCandidate(value: "c", description: "Mug")]
        #expect(ServerValues.format(candidates, for: .zsh) == ["a\\:b:Tea pot", "c:Mug"])
        #expect(ServerValues.format(candidates, for: .fish) == ["a:b\tTea pot", "c\tMug"])
        #expect(ServerValues.format(candidates, for: .bash) == ["a:b", "c"])
        #expect(ServerValues.server(in: ["ecom", "--server", "'http://h:1'", "cart", "add", ""]) == "http://h:1")
        #expect(ServerValues.server(in: ["ecom", "cart", "add", "--server=http://h:2", ""]) == "http://h:2")
        #expect(ServerValues.server(in: ["ecom", "cart", "add", ""]) == nil)
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}

@Suite struct ReplSessionTests {
    let session = ReplSession(options: try! GlobalOptions.parse([]))
    let input = ScriptInput(thread: BlockingThread(name: "test input"))

    @Test("builtins and lines that fail before any request", arguments: [
        ("exit", ReplSession.Outcome.exit),
        ("quit", .exit),
        ("  # nothing", .status(0)),
        ("", .status(0)),
        ("exit now", .status(64)),
        ("serve", .status(64)),
        ("repl", .status(64)),
        ("help", .status(0)),
        ("help cart add", .status(0)),
        ("help frobnicate", .status(64)),
        ("frobnicate", .status(64)),
        (#"products show "not a sku""#, .status(64)),
        ("order show 4c1", .status(64)),
        (#"admin products create --name "Gaming"#, .status(64)),
        ("whoami --server ftp://example.com", .status(64)),
        ("--version", .status(0)),
        ("ecom --version", .status(0)),
        ("ecom serve", .status(64)),
    ])
    func outcome(line: String, expected: ReplSession.Outcome) async {
        #expect(await session.execute(line, input: input, interruptible: false) == expected)
    }

    @Test("a REPL started with --server and --no-color runs its commands against that server without color, leaving the environment as it was")
    func sessionDefaults() async throws {
        let environment = ProcessInfo.processInfo.environment
        let listed = Counter()
        let router = Router()
        router.get("/api/products") { _, _ -> Response in
            listed.increment()
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"items": [], "next_cursor": null}"#)))
        }
        try await Application(router: router).test(.live) { client in
            let server = "http://127.0.0.1:\(try #require(client.port))"
            let session = ReplSession(options: try GlobalOptions.parse(["--server", server, "--no-color"]))
            let outcome = await session.withSessionDefaults { await session.execute("products list", input: input, interruptible: false) }
            #expect(outcome == .status(0))
            #expect(listed.value == 1)
            try await session.withSessionDefaults {
                // What each command the session runs parses.
                let options = try GlobalOptions.parse([])
                #expect(try options.serverURL(environment: ["ECOM_SERVER": "http://elsewhere.test"]).absoluteString == server)
                #expect(options.output(environment: [:], terminal: true).format == .table(color: false))
                #expect(try GlobalOptions.parse(["--server", "http://mine.test"]).serverURL().absoluteString == "http://mine.test")
            }
        }
        #expect(try GlobalOptions.parse([]).output(environment: [:], terminal: true).format == .table(color: true))
        #expect(ProcessInfo.processInfo.environment["ECOM_SERVER"] == environment["ECOM_SERVER"])
        #expect(ProcessInfo.processInfo.environment["NO_COLOR"] == environment["NO_COLOR"])
    }

    @Test("the prompt names a server that is not the default")
    func prompt() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-prompt-\(UUID().uuidString)").path
        #expect(session.prompt(environment: ["HOME": home]) == "ecom> ")
        #expect(session.prompt(environment: ["HOME": home, "ECOM_SERVER": "http://127.0.0.1:9999"]) == "ecom 127.0.0.1:9999> ")
        #expect(session.prompt(environment: ["HOME": home, "ECOM_SERVER": "https://shop.example"]) == "ecom https://shop.example> ")
    }

    @Test("the history lives under XDG_STATE_HOME, else ~/.local/state")
    func historyFile() {
        #expect(ReplSession.historyFile(environment: ["XDG_STATE_HOME": "/tmp/state", "HOME": "/home/a"]).path == "/tmp/state/ecom/history")
        #expect(ReplSession.historyFile(environment: ["XDG_STATE_HOME": "relative", "HOME": "/home/a"]).path == "/home/a/.local/state/ecom/history")
        #expect(ReplSession.historyFile(environment: ["HOME": "/home/a"]).path == "/home/a/.local/state/ecom/history")
    }

    @Test("help COMMAND is the command's --help")
    func commandHelp() async throws {
        let cart = try #require(await ReplSession.helpText(["cart"]))
        #expect(cart.contains("USAGE: ecom cart <subcommand>"))
        let add = try #require(await ReplSession.helpText(["cart", "add"]))
        #expect(add.contains("USAGE: ecom cart add") && add.contains("--quantity <n>"))
    }

    @Test("help lists the REPL's commands without serve and repl")
    func overview() throws {
        let tree = try #require(CommandDescription.root)
        let text = ReplSession.overview(ReplCompleter(tree: tree) { _, _, _ in [] }.root)
        #expect(text.contains("  products ") && text.contains("  exit, quit "))
        #expect(!text.contains("  serve ") && !text.contains("  repl "))
    }
}
