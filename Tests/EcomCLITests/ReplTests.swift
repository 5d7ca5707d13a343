import ArgumentParser
import EcomLineEditor
import Foundation
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

    let completer: ReplCompleter

    init() throws {
        let tree = try #require(CommandDescription.root, "argument-parser's description of the command tree did not decode")
        completer = ReplCompleter(tree: tree) { word in Self.ids.filter { $0.hasPrefix(word) } }
    }

    static let cases: [(before: String, word: String, expected: [String])] = [
        ("", "prod", ["products"]),
        ("", "c", ["cart"]),
        ("", "se", []),
        ("", "re", ["register"]),
        ("", "ex", ["exit"]),
        ("products ", "l", ["list"]),
        ("product ", "", ["list", "show"]),
        ("admin ", "", ["events", "orders", "products", "users"]),
        ("admin users ", "gr", ["grant-admin"]),
        ("cart add ", "--q", ["--quantity", "--quiet"]),
        ("cart add ", "--qua", ["--quantity"]),
        ("cart add ", "", ids),
        ("cart add ", "0b3c", ["0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c"]),
        ("products show ", "7", ["7f000000-0000-4000-8000-000000000000"]),
        ("cart add 0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c ", "", []),
        ("order list --status ", "c", ["cancelled", "confirmed"]),
        ("order list --status=pending ", "--st", []),
        ("admin events list ", "", ["cart", "orders", "products"]),
        ("order create --no-wait ", "--no", ["--no-color"]),
        ("order create ", "--no", ["--no-color", "--no-wait"]),
        (#"admin products create --name "Gaming Laptop" "#, "--p", ["--price"]),
        ("login ", "--password", ["--password", "--password-stdin"]),
        ("whoami ", "-", ["--help", "--json", "--no-color", "--quiet", "--server", "--version"]),
        ("cart clear ", "-y", ["-y"]),
        ("help ", "ca", ["cart"]),
        ("help admin ", "p", ["products"]),
        ("help ", "se", []),
        ("exit ", "", []),
        ("frobnicate ", "", []),
    ]

    @Test("Tab offers commands, options, values and product ids", arguments: cases)
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

    /// Tab's candidates are computed on the line editor's thread, which may block; so here.
    static let editorThread = BlockingThread(name: "test line editor")

    @Test("product ids are matched by id prefix, then by name, from a cache that fetches once")
    func productIDs() async {
        let fetches = Counter()
        let cache = ProductIDCache(waitLimit: .seconds(60)) {
            fetches.increment()
            return [.init(id: "aa11", name: "Gaming Laptop"), .init(id: "bb22", name: "Green tea"), .init(id: "ab33", name: "Mug")]
        }
        let answers = await Self.editorThread.run {
            ["a", "", "gam", "G", "zz"].map { cache.ids(matching: $0) }
        }
        #expect(answers == [["aa11", "ab33"], ["aa11", "ab33", "bb22"], ["aa11"], ["aa11", "bb22"], []])
        #expect(fetches.value == 1)
    }

    @Test("a catalog that cannot be fetched completes nothing")
    func unreachable() async {
        let cache = ProductIDCache(waitLimit: .seconds(60)) { throw CancellationError() }
        #expect(await Self.editorThread.run { cache.ids(matching: "") }.isEmpty)
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
        let text = ReplSession.overview(ReplCompleter(tree: tree) { _ in [] }.root)
        #expect(text.contains("  products ") && text.contains("  exit, quit "))
        #expect(!text.contains("  serve ") && !text.contains("  repl "))
    }
}
