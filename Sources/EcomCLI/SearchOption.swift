import ArgumentParser

/// `--search`, shared by the product lists, checked as the server will check it.
struct SearchOption: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Only products whose name or description contains this text.", valueName: "text"))
    var search: String?

    func validate() throws {
        try PageOptions.checkSearch(search)
    }
}
