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
    var completionKind: CompletionKindDescription?

    /// `.file(extensions:)` and `.list(_:)`, the kinds the REPL completes besides the values
    /// argument-parser lists.
    struct CompletionKindDescription: Decodable, Sendable {
        struct File: Decodable, Sendable {
            var extensions: [String]
        }

        struct List: Decodable, Sendable {
            var values: [String]
        }

        var file: File?
        var list: List?
    }

    /// How the option is typed: `--long`, `-s`.
    var spellings: [String] {
        (names ?? []).map { $0.kind == "short" ? "-\($0.name)" : $0.kind == "long" ? "--\($0.name)" : "-\($0.name)" }
    }
}

/// The candidates for the word under the cursor when Tab is pressed in the REPL.
struct ReplCompleter: Sendable {
    /// The server's values (products, cart lines, orders, accounts) for a partial word; the
    /// flag says whether the command is under `admin`.
    typealias ServerLookup = @Sendable (ServerValues, _ admin: Bool, _ word: String) -> [CompletionCandidate]

    /// The REPL's commands: the tree without `serve` and `repl`, whose own `help` the REPL replaces.
    let root: CommandDescription
    let serverValues: ServerLookup
    /// Where relative file names start (the process's directory; a test's own).
    let directory: URL?

    static let builtins = ["exit", "help", "quit"]
    static let unavailable: Set<String> = ["help", "repl", "serve"]

    init(tree: CommandDescription, directory: URL? = nil, serverValues: @escaping ServerLookup) {
        var root = tree
        root.subcommands = tree.subcommands?.filter { !Self.unavailable.contains($0.commandName) }
        self.root = root
        self.directory = directory
        self.serverValues = serverValues
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
        let admin = words.first == "admin"
        if let option = awaitingValue { return values(of: option, word, admin: admin) }
        if word.hasPrefix("-") { return options(of: command, typed: words, word) }
        if !names.isEmpty {
            guard positionals == 0 else { return [] }
            return matching(names + (words.isEmpty ? Self.builtins : []), word)
        }
        let positional = command.positionals
        guard positionals < positional.count else { return [] }
        return values(of: positional[positionals], word, admin: admin)
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

    private func values(of argument: ArgumentDescription, _ word: String, admin: Bool) -> [String] {
        if let kind = argument.valueName.flatMap(ServerValues.init(rawValue:)) {
            return Self.described(serverValues(kind, admin, word))
        }
        if let file = argument.completionKind?.file { return files(word, extensions: file.extensions) }
        if let list = argument.completionKind?.list { return matching(list.values, word) }
        return matching(argument.allValues ?? [], word)
    }

    /// One candidate is inserted as it is; several are listed as `value  description`, padded
    /// to a column, and since values differ before their padding, what libedit inserts (their
    /// common prefix) is always part of a value.
    static func described(_ candidates: [CompletionCandidate]) -> [String] {
        guard candidates.count > 1 else { return candidates.map(\.value) }
        let width = candidates.map(\.value.count).max() ?? 0
        return candidates.map { $0.value.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.description }
    }

    /// Directories (with their `/`) and files with one of `extensions` (any file when none)
    /// under the directory typed so far; hidden ones only when the word starts with a dot.
    private func files(_ word: String, extensions: [String]) -> [String] {
        let slash = word.lastIndex(of: "/")
        let typedDirectory = slash.map { String(word[...$0]) } ?? ""
        let namePrefix = slash.map { String(word[word.index(after: $0)...]) } ?? word
        let expanded = typedDirectory.hasPrefix("~/") ? NSHomeDirectory() + typedDirectory.dropFirst(1) : typedDirectory
        let base = directory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        let url = expanded.hasPrefix("/") ? URL(fileURLWithPath: expanded.isEmpty ? "/" : expanded, isDirectory: true)
            : base.appendingPathComponent(expanded, isDirectory: true)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return [] }
        let wanted = Set(extensions.map { $0.lowercased() })
        return names.compactMap { name -> String? in
            guard name.hasPrefix(namePrefix), !name.hasPrefix(".") || namePrefix.hasPrefix(".") else { return nil }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path, isDirectory: &isDirectory) else { return nil }
            if isDirectory.boolValue { return typedDirectory + name + "/" }
            guard wanted.isEmpty || wanted.contains((name as NSString).pathExtension.lowercased()) else { return nil }
            return typedDirectory + name
        }.sorted()
    }
}

/// The server's values for completion, per kind: fetched on the first Tab that needs them, then
/// kept for the kind's lifetime.
final class ServerValueCache: Sendable {
    private struct Key: Hashable {
        var kind: ServerValues
        var admin: Bool
    }

    private let fetch: @Sendable (ServerValues, Bool) async throws -> [CompletionCandidate]
    private let lifetime: @Sendable (ServerValues) -> Duration
    private let waitLimit: Duration
    private let state = Mutex<[Key: (candidates: [CompletionCandidate], fetched: ContinuousClock.Instant)]>([:])

    init(
        lifetime: @escaping @Sendable (ServerValues) -> Duration = \.lifetime, waitLimit: Duration = ServerValues.timeout,
        fetch: @escaping @Sendable (ServerValues, Bool) async throws -> [CompletionCandidate]
    ) {
        self.fetch = fetch
        self.lifetime = lifetime
        self.waitLimit = waitLimit
    }

    /// Through the gateway the REPL talks to, with the signed-in session.
    static func gateway(server: Result<URL, any Error>) -> ServerValueCache {
        ServerValueCache { kind, admin in
            let client = GatewayClient(server: try server.get(), credentials: .standard(), timeout: ServerValues.timeout)
            return try await kind.fetch(client, admin: admin)
        }
    }

    /// Values that start with `word`; failing that, those whose description (a product's name)
    /// starts with it.
    ///
    /// Blocks its thread (the line editor's, never the concurrency pool) while the values are
    /// fetched, for at most `waitLimit`; a slow or unreachable server just completes nothing.
    func candidates(_ kind: ServerValues, admin: Bool, matching word: String) -> [CompletionCandidate] {
        let candidates = current(Key(kind: kind, admin: admin)).sorted { $0.value < $1.value }
        let prefix = word.lowercased()
        let byValue = candidates.filter { $0.value.lowercased().hasPrefix(prefix) }
        if !byValue.isEmpty || prefix.isEmpty { return byValue }
        return candidates.filter { $0.description.lowercased().hasPrefix(prefix) }
    }

    private func current(_ key: Key) -> [CompletionCandidate] {
        let cached = state.withLock { state -> [CompletionCandidate]? in
            guard let entry = state[key], ContinuousClock.now - entry.fetched < lifetime(key.kind) else { return nil }
            return entry.candidates
        }
        if let cached { return cached }
        let done = DispatchSemaphore(value: 0)
        Task { [self] in
            if let candidates = try? await fetch(key.kind, key.admin) {
                state.withLock { $0[key] = (candidates, ContinuousClock.now) }
            }
            done.signal()
        }
        _ = done.wait(timeout: .now() + .milliseconds(Int(waitLimit.components.seconds * 1000)))
        return state.withLock { $0[key]?.candidates ?? [] }
    }
}
