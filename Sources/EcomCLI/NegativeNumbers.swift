/// Lets a negative number stand as a positional argument (`ecom cart set LINE -1`), so that
/// the command can say what is wrong with the value.
///
/// argument-parser reads any word starting with "-" as an option, and has no setting for
/// positionals (options take `parsing: .unconditional`). Words after "--" are always values,
/// so the positionals from the first negative one on are moved behind a "--", in their order.
enum NegativeNumbers {
    static func isNegativeNumber(_ word: String) -> Bool {
        word.wholeMatch(of: /-[0-9]+(\.[0-9]*)?/) != nil
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
