import ArgumentParser
import Dispatch
import EcomAPI
import EcomClient
import Foundation
import Synchronization

/// A command of the tree as argument-parser describes it (its `--experimental-dump-help` JSON),
/// so completion knows exactly the commands, options and values that parsing accepts.
struct CommandDescription: Decodable, Sendable {
    var commandName: String
    var aliases: [String]?
    var abstract: String?
    var shouldDisplay: Bool?
    var subcommands: [CommandDescription]?
    var arguments: [ArgumentDescription]?

    /// The root of `EcomCommand`'s tree.
    static let root: CommandDescription? = {
        struct ToolInfo: Decodable { var command: CommandDescription }
        return try? JSONDecoder().decode(ToolInfo.self, from: Data(EcomCommand._dumpHelp().utf8)).command
    }()

    /// The subcommand called `name` (or one of its aliases).
    func subcommand(_ name: String) -> CommandDescription? {
        subcommands?.first { $0.commandName == name || $0.aliases?.contains(name) == true }
    }

    /// The option or flag spelled `name` (`--quantity`, `-y`).
    func option(_ name: String) -> ArgumentDescription? {
        arguments?.first { $0.kind != .positional && $0.spellings.contains(name) }
    }

    var positionals: [ArgumentDescription] { arguments?.filter { $0.kind == .positional } ?? [] }
}

struct ArgumentDescription: Decodable, Sendable {
    enum Kind: String, Decodable, Sendable {
        case positional, option, flag
    }

    struct Name: Decodable, Sendable {
        var kind: String
        var name: String
    }

    var kind: Kind
    var names: [Name]?
    var valueName: String?
    var shouldDisplay: Bool?
    var isRepeating: Bool?
    var allValues: [String]?

    /// How the option is typed: `--long`, `-s`.
    var spellings: [String] {
        (names ?? []).map { $0.kind == "short" ? "-\($0.name)" : $0.kind == "long" ? "--\($0.name)" : "-\($0.name)" }
    }
}

/// The candidates for the word under the cursor when Tab is pressed in the REPL.
struct ReplCompleter: Sendable {
    /// The REPL's commands: the tree without `serve` and `repl`, whose own `help` the REPL replaces.
    let root: CommandDescription
    /// Product ids (full, lowercase) for a partial word, for arguments named `product-id`.
    let productIDs: @Sendable (String) -> [String]

    static let builtins = ["exit", "help", "quit"]
    static let unavailable: Set<String> = ["help", "repl", "serve"]

    init(tree: CommandDescription, productIDs: @escaping @Sendable (String) -> [String]) {
        var root = tree
        root.subcommands = tree.subcommands?.filter { !Self.unavailable.contains($0.commandName) }
        self.root = root
        self.productIDs = productIDs
    }

    /// Candidates for `word`, given the words typed before it on the line.
    func candidates(before line: String, word: String) -> [String] {
        var words = ShellWords.splitPartial(line)
        let helping = words.first == "help"
        if helping { words.removeFirst() } else if let first = words.first, Self.builtins.contains(first) { return [] }

        var command = root
        var positionals = 0
        var awaitingValue: ArgumentDescription?
        for typed in words {
            if awaitingValue != nil {
                awaitingValue = nil
            } else if positionals == 0, let subcommand = command.subcommand(typed) {
                command = subcommand
            } else if typed.hasPrefix("-") && typed.count > 1 {
                let name = typed.split(separator: "=", maxSplits: 1).first.map(String.init) ?? typed
                if let option = command.option(name), option.kind == .option, !typed.contains("=") { awaitingValue = option }
            } else {
                positionals += 1
            }
        }

        let names = (command.subcommands ?? []).filter { $0.shouldDisplay != false }.map(\.commandName)
        if helping {
            return matching(positionals == 0 && awaitingValue == nil ? names : [], word)
        }
        if let option = awaitingValue { return values(of: option, word) }
        if word.hasPrefix("-") { return options(of: command, typed: words, word) }
        if !names.isEmpty {
            guard positionals == 0 else { return [] }
            return matching(names + (words.isEmpty ? Self.builtins : []), word)
        }
        let positional = command.positionals
        guard positionals < positional.count else { return [] }
        return values(of: positional[positionals], word)
    }

    private func matching(_ candidates: [String], _ word: String) -> [String] {
        candidates.filter { $0.hasPrefix(word) }.sorted()
    }

    /// Long names for `-` and `--…`; a short name only when typed as one (`-y`). Options already
    /// on the line are left out unless they repeat.
    private func options(of command: CommandDescription, typed: [String], _ word: String) -> [String] {
        let arguments = (command.arguments ?? []).filter { $0.kind != .positional && $0.shouldDisplay != false }
        let unused = arguments.filter { argument in
            argument.isRepeating == true
                || !argument.spellings.contains { spelling in typed.contains { $0 == spelling || $0.hasPrefix(spelling + "=") } }
        }
        let spellings = unused.flatMap(\.spellings).filter { $0.hasPrefix("--") || (word.count > 1 && !word.hasPrefix("--")) }
        return matching(spellings, word)
    }

    private func values(of argument: ArgumentDescription, _ word: String) -> [String] {
        if argument.valueName == "product-id" { return productIDs(word) }
        return matching(argument.allValues ?? [], word)
    }
}

/// The catalog's product ids for completion: fetched on the first Tab that needs one, then
/// kept for half a minute.
final class ProductIDCache: Sendable {
    struct Entry: Sendable {
        var id: String
        var name: String
    }

    private let fetch: @Sendable () async throws -> [Entry]
    private let lifetime: Duration
    private let waitLimit: Duration
    private let state = Mutex<(entries: [Entry], fetched: ContinuousClock.Instant?)>(([], nil))

    init(lifetime: Duration = .seconds(30), waitLimit: Duration = .seconds(3), fetch: @escaping @Sendable () async throws -> [Entry]) {
        self.fetch = fetch
        self.lifetime = lifetime
        self.waitLimit = waitLimit
    }

    /// The catalog's first pages, through the gateway the REPL talks to.
    static func catalog() -> ProductIDCache {
        ProductIDCache {
            let client = try GlobalOptions.parse([]).client()
            var entries: [Entry] = []
            var page = PageRequest(limit: Pagination.maximumLimit)
            for _ in 0..<5 {
                let products = try await client.products(page: page)
                entries += products.items.map { Entry(id: $0.id.lowercased, name: $0.name) }
                guard let next = products.nextCursor else { break }
                page.cursor = next
            }
            return entries
        }
    }

    /// Ids that start with `word`; failing that, the ids of the products whose name starts with it.
    ///
    /// Blocks its thread (the line editor's, never the concurrency pool) while the catalog is
    /// fetched, for at most `waitLimit`; a slow or unreachable server just completes nothing.
    func ids(matching word: String) -> [String] {
        let entries = current()
        let prefix = word.lowercased()
        let byID = entries.map(\.id).filter { $0.hasPrefix(prefix) }
        if !byID.isEmpty || prefix.isEmpty { return byID.sorted() }
        return entries.filter { $0.name.lowercased().hasPrefix(prefix) }.map(\.id).sorted()
    }

    private func current() -> [Entry] {
        let cached = state.withLock { state -> [Entry]? in
            guard let fetched = state.fetched, ContinuousClock.now - fetched < lifetime else { return nil }
            return state.entries
        }
        if let cached { return cached }
        let done = DispatchSemaphore(value: 0)
        Task { [self] in
            if let entries = try? await fetch() {
                state.withLock { $0 = (entries, ContinuousClock.now) }
            }
            done.signal()
        }
        _ = done.wait(timeout: .now() + .milliseconds(Int(waitLimit.components.seconds * 1000)))
        return state.withLock { $0.entries }
    }
}
