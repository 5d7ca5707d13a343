import ArgumentParser
import EcomAPI
import EcomClient
import EcomJQ
import Foundation

/// Options every store command takes.
struct GlobalOptions: ParsableArguments {
    static let defaultServer = "http://localhost:8080"

    @Option(help: ArgumentHelp("The gateway's URL (default: $ECOM_SERVER, else \(Self.defaultServer)).", valueName: "url"))
    var server: String?

    @Flag(help: "Print the API's JSON on standard output: an object, or an array for lists.")
    var json = false

    @Option(help: ArgumentHelp(
        "Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).",
        valueName: "fields"))
    var fields: String?

    @Option(help: ArgumentHelp(
        "Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.",
        valueName: "expression"))
    var jq: String?

    @Flag(name: [.short, .long], help: "Print no progress or confirmation messages.")
    var quiet = false

    @Flag(help: "Never color the output (as does setting NO_COLOR).")
    var noColor = false

    @Flag(help: "Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).")
    var noPager = false

    /// `--server` and `--no-color` of a REPL, which hold for every command it runs: a command's
    /// own options win over them, and they win over the environment.
    struct SessionDefaults: Sendable {
        var server: String?
        var noColor = false
    }

    @TaskLocal static var sessionDefaults = SessionDefaults()

    func validate() throws {
        _ = try serverURL()
        if let fields, Output.fieldNames(fields) == nil {
            throw ValidationError("--fields takes field names separated by commas, like id,name,price_cents")
        }
        if let jq {
            do {
                _ = try JQFilter(jq)
            } catch {
                throw ValidationError("--jq: \(error.description)")
            }
        }
    }

    /// `--server`, else the REPL's, else `ECOM_SERVER`, else the default; an http(s) URL with a host.
    func serverURL(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        let text = server ?? Self.sessionDefaults.server ?? environment["ECOM_SERVER"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultServer
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased()), url.host?.isEmpty == false,
            url.query == nil, url.fragment == nil
        else {
            throw ValidationError("'\(text)' is not a server URL; expected something like \(Self.defaultServer)")
        }
        return url
    }

    func client() throws -> GatewayClient {
        GatewayClient(server: try serverURL(), credentials: .standard())
    }

    var output: Output {
        output(environment: ProcessInfo.processInfo.environment, terminal: Terminal.stdoutIsTerminal)
    }

    func output(environment: [String: String], terminal: Bool) -> Output {
        let noColor = noColor || Self.sessionDefaults.noColor
        let color = terminal && !noColor && environment["NO_COLOR"].map(\.isEmpty) != false && environment["TERM"] != "dumb"
        let format: Output.Format = json || jq != nil || fields != nil ? .json(pretty: terminal) : terminal ? .table(color: color) : .tabSeparated
        let pager = Pager.forOutput(table: format == .table(color: color), terminal: terminal, disabled: noPager, environment: environment)
        return Output(
            format: format, quiet: quiet, fields: fields.flatMap(Output.fieldNames), jq: jq, pager: pager,
            width: terminal ? Terminal.columns(environment: environment) : nil)
    }
}

/// `--limit`, `--cursor` and `--all` of the list commands.
struct PageOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("Items per page, 1 to \(Pagination.maximumLimit) (default: \(Pagination.defaultLimit); \(Pagination.maximumLimit) with --all).", valueName: "n"))
    var limit: Int?

    @Option(help: ArgumentHelp("Start at this cursor (printed as 'next cursor' by an earlier page).", valueName: "cursor"))
    var cursor: String?

    @Flag(help: "Follow every cursor and print all items.")
    var all = false

    func validate() throws {
        if let limit, !(1...Pagination.maximumLimit).contains(limit) {
            throw ValidationError("--limit must be between 1 and \(Pagination.maximumLimit), got \(limit)")
        }
        if cursor?.isEmpty == true { throw ValidationError("--cursor must not be empty") }
    }

    /// Checks `--search` as the server will, so that even a search too long for a URL is explained.
    static func checkSearch(_ search: String?) throws {
        if let search, search.unicodeScalars.count > Pagination.maximumSearchLength {
            throw ValidationError(
                "--search must be at most \(Pagination.maximumSearchLength) characters, got \(search.unicodeScalars.count)")
        }
    }

    /// Fetches one page, or every page from the cursor on with `--all`.
    func collect<Item>(_ fetch: (PageRequest) async throws -> Page<Item>) async throws -> (items: [Item], nextCursor: String?) {
        var request = PageRequest(limit: all ? limit ?? Pagination.maximumLimit : limit, cursor: cursor)
        var items: [Item] = []
        while true {
            let page = try await fetch(request)
            items += page.items
            guard all, let next = page.nextCursor else { return (items, all ? nil : page.nextCursor) }
            request.cursor = next
        }
    }

    /// Prints a list and, when more pages follow, the cursor to resume from.
    func show<Item: Tabular & Encodable>(
        _ output: Output, noun: String, _ fetch: (PageRequest) async throws -> Page<Item>
    ) async throws {
        let (items, next) = try await collect(fetch)
        try output.show(items, noun: noun)
        if let next { output.nextCursor(next) }
    }
}

/// `--yes` of the destructive commands.
struct ConfirmationOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "Do not ask for confirmation (required when standard input is not a terminal).")
    var yes = false

    func validate() throws {
        try Self.check(yes: yes, interactive: Terminal.isInteractive)
    }

    static func check(yes: Bool, interactive: Bool) throws {
        if !yes && !interactive {
            throw ValidationError("--yes is required when standard input is not a terminal")
        }
    }

    /// True when the action may go ahead: `--yes`, or the person at the terminal said yes.
    func confirm(_ question: String) async -> Bool {
        if yes { return true }
        return await Terminal.confirm(question)
    }
}

/// Where a password comes from: a prompt without echo, `--password-stdin`, or (with a warning) `--password`.
struct PasswordOptions: ParsableArguments {
    @Flag(help: "Read the password from the first line of standard input.")
    var passwordStdin = false

    @Option(help: ArgumentHelp("The password (visible to other users of this machine; prefer the prompt or --password-stdin).", valueName: "password"))
    var password: String?

    func validate() throws {
        if passwordStdin && password != nil { throw ValidationError("--password and --password-stdin cannot be used together") }
        if !passwordStdin && password == nil && !Terminal.isInteractive {
            throw ValidationError("no terminal to ask for the password; use --password-stdin")
        }
    }

    func read(_ output: Output, confirm: Bool) async throws -> String {
        if let password {
            output.warning("a password on the command line can be seen by other users; use --password-stdin")
            return password
        }
        if passwordStdin { return try await Terminal.readLineFromStandardInput(what: "password") }
        if confirm { return try await Self.readConfirmed(prompt: "Password: ", confirmation: "Confirm password: ") }
        return try await Terminal.readSecret("Password: ")
    }

    static let confirmationAttempts = 3

    /// Asks for a new password twice, and again while the two differ, up to three times.
    static func readConfirmed(prompt: String, confirmation: String) async throws -> String {
        for attempt in 1...confirmationAttempts {
            let password = try await Terminal.readSecret(prompt)
            if try await Terminal.readSecret(confirmation) == password { return password }
            if attempt < confirmationAttempts { Terminal.writeError("The passwords do not match; try again.\n") }
        }
        throw CommandFailure("the passwords did not match \(confirmationAttempts) times; nothing was changed")
    }
}

extension UUID: @retroactive ExpressibleByArgument {
    public init?(argument: String) {
        self.init(uuidString: argument)
    }
}

extension OrderStatus: ExpressibleByArgument {}
extension EventService: ExpressibleByArgument {}
