import ArgumentParser
import Foundation

/// A mistake on the command line that argument-parser would not explain well; exits 64 like its
/// own usage errors, with a one-line message.
struct UsageFailure: LocalizedError, Equatable {
    var errorDescription: String?

    init(_ message: String) {
        errorDescription = message
    }
}

/// Finds a word that stands where a command is expected but names none, and the command the
/// person most likely meant (as git's "did you mean").
///
/// argument-parser takes such a word for a positional argument and answers "2 unexpected
/// arguments", or with `--help` shows the parent's help and exits 0.
enum CommandSuggestion {
    /// The global options, which may come before a command word; `--server` takes a value.
    private static let globalFlags: Set<String> = ["--json", "--quiet", "-q", "--no-color", "--help", "-h", "--version"]


    /// The usage failure for the first unknown command word in `words` (the words after `ecom`;
    /// `help COMMAND…` included), or nil when every command word names a command.
    static func unknownCommand(in words: [String], root: any ParsableCommand.Type = EcomCommand.self) -> UsageFailure? {
        var command = root
        var path: [String] = []
        var index = 0
        var help = false
        while index < words.count {
            let word = words[index]
            index += 1
            if word == "--" { return nil }
            if word.hasPrefix("-") && word.count > 1 {
                if word == "--server" {
                    index += 1
                } else if !globalFlags.contains(word) && !word.hasPrefix("--server=") {
                    // argument-parser's own (`--generate-completion-script bash`, `---completion`) and
                    // anything else: its parsing explains them.
                    return nil
                }
                continue
            }
            let subcommands = command.configuration.subcommands
            if subcommands.isEmpty || command.configuration.defaultSubcommand != nil { return nil }
            if path.isEmpty && !help && word == "help" {
                help = true
                continue
            }
            if let next = subcommands.first(where: { names(of: $0).contains(word) }) {
                command = next
                path.append(word)
                continue
            }
            return failure(word: word, path: path, siblings: subcommands, root: root)
        }
        return nil
    }

    private static func failure(word: String, path: [String], siblings: [any ParsableCommand.Type], root: any ParsableCommand.Type) -> UsageFailure {
        let parent = (["ecom"] + path).joined(separator: " ")
        let what = path.isEmpty ? "'\(word)' is not an ecom command" : "'\(word)' is not a command of '\(parent)'"
        if let suggestion = nearest(to: word, among: siblings).map({ path + [$0] }) ?? elsewhere(word, root: root) {
            return UsageFailure("\(what); did you mean '\((["ecom"] + suggestion).joined(separator: " "))'?")
        }
        return UsageFailure("\(what); see '\(parent) --help' for the commands")
    }

    /// The visible command name closest to `word`, if close enough to be a likely typo.
    static func nearest(to word: String, among commands: [any ParsableCommand.Type]) -> String? {
        let candidates = commands.filter { $0.configuration.shouldDisplay }.compactMap { $0.configuration.commandName }
        let scored = candidates.map { ($0, distance(word.lowercased(), $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        if best.1 <= max(1, min(2, word.count / 3)) { return best.0 }
        // A unique prefix of at least two letters: `ecom prod`.
        let prefixed = candidates.filter { word.count >= 2 && $0.hasPrefix(word.lowercased()) }
        return prefixed.count == 1 ? prefixed[0] : nil
    }

    /// The path of a command named exactly `word` deeper in the tree: `ecom users` for `admin users`.
    private static func elsewhere(_ word: String, root: any ParsableCommand.Type) -> [String]? {
        var queue: [([String], any ParsableCommand.Type)] = [([], root)]
        while !queue.isEmpty {
            let (path, command) = queue.removeFirst()
            for subcommand in command.configuration.subcommands where subcommand.configuration.shouldDisplay {
                guard let name = subcommand.configuration.commandName else { continue }
                if names(of: subcommand).contains(word) && !path.isEmpty { return path + [name] }
                queue.append((path + [name], subcommand))
            }
        }
        return nil
    }

    private static func names(of command: any ParsableCommand.Type) -> [String] {
        [command.configuration.commandName].compactMap { $0 } + command.configuration.aliases
    }

    /// Edit distance counting a swap of two neighbouring letters as one edit (optimal string alignment).
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
