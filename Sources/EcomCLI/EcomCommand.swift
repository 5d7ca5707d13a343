import ArgumentParser

/// The root of the `ecom` command tree.
package struct EcomCommand: AsyncParsableCommand {
    package static let version = "0.1.0"

    package static let configuration = CommandConfiguration(
        commandName: "ecom",
        abstract: "An online store from the command line, and the store's whole backend.",
        discussion: """
            Start the backend with `ecom serve`; it listens on http://localhost:8080 and, with \
            no database configured, runs its own PostgreSQL under ~/.local/share/ecom.
            """,
        version: version,
        subcommands: [Serve.self]
    )

    package init() {}
}

extension EcomCommand {
    /// Parses the process's arguments and runs the chosen command, exiting with its status.
    package static func start(_ arguments: [String]? = nil) async {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
