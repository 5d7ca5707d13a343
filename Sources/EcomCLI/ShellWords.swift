import Foundation

/// Splits a REPL line into words the way a POSIX shell does, without expansions.
///
/// Blanks separate words; `'…'` keeps everything literally; `"…"` keeps everything but lets a
/// backslash escape `"`, `\`, `$` and a backtick; elsewhere a backslash escapes the next
/// character; `''` and `""` make an empty word; a `#` that starts a word starts a comment.
enum ShellWords {
    struct SplitError: LocalizedError, Equatable {
        var errorDescription: String?
    }

    static func split(_ line: String) throws -> [String] {
        let scan = scan(line)
        if let quote = scan.openQuote { throw SplitError(errorDescription: "unterminated \(quote) quote") }
        if scan.pendingEscape { throw SplitError(errorDescription: "the line ends with a backslash") }
        return scan.words
    }

    /// The words of a line being typed, for completion: an open quote or a trailing backslash
    /// just ends the last word.
    static func splitPartial(_ line: String) -> [String] {
        scan(line).words
    }

    private struct Scan {
        var words: [String] = []
        var openQuote: Character?
        var pendingEscape = false
    }

    private static func scan(_ line: String) -> Scan {
        var result = Scan()
        var word = ""
        var inWord = false
        scanning: for character in line {
            if result.pendingEscape {
                result.pendingEscape = false
                if result.openQuote == "\"" && !"\"\\$`".contains(character) { word.append("\\") }
                word.append(character)
                continue
            }
            switch result.openQuote {
            case "'":
                if character == "'" { result.openQuote = nil } else { word.append(character) }
            case "\"":
                switch character {
                case "\"": result.openQuote = nil
                case "\\": result.pendingEscape = true
                default: word.append(character)
                }
            default:
                if character.isWhitespace {
                    if inWord { result.words.append(word) }
                    word = ""
                    inWord = false
                    continue
                }
                if character == "#" && !inWord { break scanning }
                inWord = true
                switch character {
                case "'", "\"": result.openQuote = character
                case "\\": result.pendingEscape = true
                default: word.append(character)
                }
            }
        }
        if inWord { result.words.append(word) }
        return result
    }
}

/// Which REPL lines may be kept in the history file.
enum HistoryFilter {
    /// False for a line that carries a password (`--password`, `--password=…`), for `passwd`,
    /// for a line that starts with a blank (kept out on purpose, as in shells) and for blank lines.
    static func mayRecord(_ line: String) -> Bool {
        guard let first = line.first, !first.isWhitespace else { return false }
        guard let words = try? ShellWords.split(line) else {
            // Not a command the REPL can run; keep it out if it might hold a password.
            return !line.localizedCaseInsensitiveContains("password")
        }
        guard let command = words.first else { return false }
        if command == "passwd" { return false }
        return !words.contains { $0 == "--password" || $0.hasPrefix("--password=") }
    }
}
