import ArgumentParser
import CMalloc
import EcomClient
import EcomServer
import Foundation

/// The root of the `ecom` command tree.
///
/// Every command in the tree names itself (`commandName:`): a name derived from the type costs a
/// search of all the binary's protocol conformances at each start, a third of a one-shot command's
/// CPU time when every command did it.
package struct EcomCommand: AsyncParsableCommand {
    package static let version = "0.1.0"

    package static let configuration = CommandConfiguration(
        commandName: "ecom",
        abstract: "An online store from the command line, and the store's whole backend.",
        discussion: """
            Start the backend with `ecom serve`; it listens on http://localhost:8080 and, with \
            no database configured, runs its own PostgreSQL under ~/.local/share/ecom. Then \
            `ecom login`, browse with `ecom products list`, and check out with `ecom order create`. \
            `ecom repl` (or `ecom` alone on a terminal) runs the same commands in an interactive \
            shell with history and completion.

            Output: an aligned table on a terminal; tab-separated rows without a header when \
            standard output is not a terminal; with --json, the API's JSON objects (list commands \
            print an array). Messages and errors go to standard error. Lists print one page; \
            --all follows every cursor, and otherwise the next cursor is printed to standard \
            error as `next cursor: ...` for --cursor.

            EXIT STATUS: 0 success (an empty list too); 1 the request failed (validation, \
            conflict, not found, an order that ended rejected); 4 authentication needed or \
            refused (run `ecom login`); 64 usage error; 69 the server could not be reached; \
            75 a bounded wait ran out (the order is still pending, or the store stayed too busy to \
            say how it stands); 130 interrupted by Ctrl-C.

            ENVIRONMENT: ECOM_SERVER, the gateway's URL (default http://localhost:8080; \
            --server wins); NO_COLOR, when set, turns color off; XDG_CONFIG_HOME, where \
            credentials are kept; XDG_STATE_HOME, where the REPL keeps its history. `ecom serve \
            --help` lists the backend's variables.

            FILES: $XDG_CONFIG_HOME/ecom/credentials.json (default \
            ~/.config/ecom/credentials.json), the sessions, one per server URL, mode 0600 in a \
            0700 directory; credentials.lock beside it serializes token refreshes between ecom \
            processes. $XDG_STATE_HOME/ecom/history (default ~/.local/state/ecom/history), the \
            REPL's history, mode 0600, never holding a line that carries a password.
            """,
        version: version,
        subcommands: [Repl.self],
        groupedSubcommands: [
            CommandGroup(name: "Account", subcommands: [Register.self, Login.self, Logout.self, Whoami.self, Passwd.self]),
            CommandGroup(name: "Shopping", subcommands: [Products.self, CartCommand.self, OrderCommand.self, Listen.self]),
            CommandGroup(name: "Running the store", subcommands: [Admin.self, ServeCommand.self]),
        ]
    )

    /// Lets the global options come before the subcommand too (`ecom --json products list`);
    /// each command reads its own copy.
    @OptionGroup(visibility: .hidden) var options: GlobalOptions

    package init() {}
}

extension EcomCommand {
    /// Caps glibc's malloc at two arenas unless `MALLOC_ARENA_MAX` says otherwise. Call it first
    /// thing on the main thread: only threads that allocate afterwards share the two.
    ///
    /// By default every thread that allocates gets an arena of its own, up to eight per core, and
    /// each keeps what is freed in it; with the many threads of `ecom serve` that held about a
    /// quarter of its resident memory. Two arenas measured the same throughput.
    package static func limitMallocArenas() {
        #if os(Linux)
        // getenv, not ProcessInfo's environment: that copies every variable, at each start of a one-shot command.
        if getenv(EnvironmentVariable.mallocArenaMax.name) == nil { _ = mallopt(M_ARENA_MAX, 2) }
        #endif
    }

    /// Parses the process's arguments and runs the chosen command, exiting with its status.
    ///
    /// With no arguments at all on a terminal, starts the REPL instead.
    package static func start(_ arguments: [String]? = nil) async {
        let arguments = arguments ?? Array(CommandLine.arguments.dropFirst())
        if arguments == ["--version"] {
            // What the argument parser would print, without building every command to find out.
            FileHandle.standardOutput.write(Data((version + "\n").utf8))
            Foundation.exit(0)
        }
        if arguments.isEmpty && Terminal.isInteractive && Terminal.stdoutIsTerminal {
            let options: GlobalOptions
            do {
                options = try GlobalOptions.parse([])
            } catch {
                exit(withError: ExitCode(report(error)))
            }
            exit(withError: ExitCode(await ReplSession(options: options).run()))
        }
        do {
            try await run(arguments)
        } catch {
            // A failure before the arguments were parsed may leave the transport's thread running.
            URLSessionTransport.finishPreparation()
            if let message = failureMessage(for: error) {
                Terminal.writeError("ecom: \(message)\n")
                exit(withError: ExitCode(exitStatus(for: error)))
            }
            exit(withError: error)
        }
        // Exits here, on this thread: returning would end `main` through the main queue, which
        // libdispatch serves by starting another worker thread first, after the output is written.
        // A command that called the gateway then skips the exit handlers and the libraries'
        // destructors (OpenSSL's, GnuTLS's and libcurl's clean-up, which only free memory the kernel
        // takes back anyway): everything it writes to files is written and closed before it returns,
        // and its output is flushed here. Others (`serve` flushes its log at exit) exit as usual.
        if talksToServer(arguments) {
            fflush(nil)
            _exit(0)
        }
        Foundation.exit(0)
    }

    /// Starts making the HTTP transport of a one-shot command that calls the gateway
    /// (`URLSessionTransport.prepareInBackground`). `main` calls it before its first `await` and
    /// before `start`, on the main thread while no other thread exists yet.
    package static func prepareTransport(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        if talksToServer(arguments) { URLSessionTransport.prepareInBackground() }
    }

    /// Whether `arguments` start with a command that calls the gateway (and ask for no help): its HTTP
    /// transport is then made on another thread while the arguments are parsed. `ecom serve` and the
    /// REPL are left out: they run long and make their own.
    static func talksToServer(_ arguments: [String]) -> Bool {
        guard let command = arguments.first, serverCommands.contains(command) else { return false }
        return !arguments.contains { $0 == "--help" || $0 == "-h" || $0 == "help" }
    }

    static let serverCommands: Set<String> = [
        "register", "login", "logout", "whoami", "passwd", "products", "product", "cart", "order", "orders", "listen", "admin",
    ]

    /// Parses `arguments` as the words after `ecom` and runs the command they name.
    ///
    /// The async parse runs the completions that ask the server (`ecom ---completion …`).
    static func run(_ arguments: [String]) async throws {
        if let unknown = CommandSuggestion.unknownCommand(in: arguments) { throw unknown }
        var command = try await asyncParseAsRoot(NegativeNumbers.protect(arguments))
        // The command runs with the environment as it was given (prepareInBackground hides XDG_DATA_HOME).
        URLSessionTransport.finishPreparation()
        if var asyncCommand = command as? any AsyncParsableCommand {
            try await asyncCommand.run()
        } else {
            try command.run()
        }
    }

    /// Prints what the one-shot CLI prints for `error` before it exits (help on standard output,
    /// failures on standard error) and returns the status it would exit with.
    ///
    /// In the REPL (`repl`), the commands it names are written as typed there: `help products
    /// show` rather than `ecom products show --help`.
    static func report(_ error: any Error, repl: Bool = false) -> Int32 {
        func wording(_ text: String) -> String { repl ? replWording(text) : text }
        if let message = failureMessage(for: error) {
            Terminal.writeError(wording("ecom: \(message)\n"))
            return exitStatus(for: error)
        }
        let status = exitCode(for: error)
        let text = fullMessage(for: error)
        if !text.isEmpty {
            if status == .success {
                FileHandle.standardOutput.write(Data((text + "\n").utf8))
            } else {
                Terminal.writeError(wording(text + "\n"))
            }
        }
        return status.rawValue
    }

    /// `'ecom COMMAND --help'` becomes `'help COMMAND'` and `'ecom COMMAND'` becomes `'COMMAND'`.
    static func replWording(_ text: String) -> String {
        text.replacing(/'ecom ((?:[^' ]+ )*)--help'/) { match in
            let topic = match.output.1.trimmingCharacters(in: .whitespaces)
            return topic.isEmpty ? "'help'" : "'help \(topic)'"
        }
        .replacing(/'ecom ([^']+)'/) { "'\($0.output.1)'" }
    }

    /// The process status for an error (DESIGN §8): the client's mapping for failed requests,
    /// argument-parser's for its own errors (64 for usage).
    package static func exitStatus(for error: any Error) -> Int32 {
        switch error {
        case let error as ClientError: error.exitStatus
        case is UsageFailure: ExitCode.validationFailure.rawValue
        case let error as BrokerFailure: error.exitStatus
        default: exitCode(for: error).rawValue
        }
    }

    /// The API's field names as the CLI knows them: its options, or what it asked for.
    static let cliNames: [String: String] = [
        "new_password": "the new password", "current_password": "the current password", "password": "the password",
        "q": "--search", "price_cents": "--price", "is_active": "--active/--inactive", "limit": "--limit",
        "low_stock_threshold": "--low-stock",
        "cursor": "--cursor", "idempotency_key": "--idempotency-key", "Idempotency-Key": "--idempotency-key",
    ]

    /// The one-line message for a failure that is not a usage error, or nil to let argument-parser
    /// print its own (usage errors with help, `ExitCode` silently).
    package static func failureMessage(for error: any Error) -> String? {
        if case .api(var failure) = error as? ClientError, let field = failure.field, let name = cliNames[field] {
            // The server names JSON fields; say what the person typed or was asked for instead.
            if let word = try? Regex("\\b" + NSRegularExpression.escapedPattern(for: field) + "\\b") {
                failure.message = failure.message.replacing(word, with: name)
            }
            let spelled = field.replacingOccurrences(of: "_", with: " ")
            failure.field = failure.message.contains(name) || failure.message.contains(spelled) ? nil : name
            return ClientError.api(failure).errorDescription
        }
        guard let error = error as? any LocalizedError, let description = error.errorDescription else { return nil }
        return description
    }
}
