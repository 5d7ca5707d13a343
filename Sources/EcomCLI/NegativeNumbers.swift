/// Lets a negative number stand as a positional argument (`ecom cart set LINE -1`), so that
/// the command can say what is wrong with the value.
///
/// argument-parser reads any word starting with "-" as an option, and has no setting for
/// positionals (options take `parsing: .unconditional`). Words after "--" are always values,
/// so the positionals from the first negative one on are moved behind a "--", in their order.
enum NegativeNumbers {
    /// Whether `word` is `-[0-9]+(\.[0-9]*)?`. Read byte by byte: a regular expression's first
    /// use costs more than the rest of a one-shot command's parsing of its words.
    static func isNegativeNumber(_ word: String) -> Bool {
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        var rest = word.utf8[...]
        guard rest.popFirst() == UInt8(ascii: "-"), let first = rest.first, isDigit(first) else { return false }
        rest = rest.drop(while: isDigit)
        guard let separator = rest.popFirst() else { return true }
        return separator == UInt8(ascii: ".") && rest.allSatisfy(isDigit)
    }

    static func protect(_ words: [String]) -> [String] {
        guard !words.contains("--"), words.contains(where: isNegativeNumber), var command = CommandDescription.root else {
            return words
        }
        var kept: [String] = []
        var moved: [String] = []
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            if !word.hasPrefix("-") || isNegativeNumber(word) {
                if moved.isEmpty, !word.hasPrefix("-"), let subcommand = command.subcommand(word) {
                    command = subcommand
                    kept.append(word)
                } else if moved.isEmpty && !isNegativeNumber(word) {
                    kept.append(word)
                } else {
                    moved.append(word)
                }
                continue
            }
            kept.append(word)
            if !word.contains("="), command.option(word)?.kind == .option, index < words.count {
                kept.append(words[index])
                index += 1
            }
        }
        return moved.isEmpty ? words : kept + ["--"] + moved
    }
}
