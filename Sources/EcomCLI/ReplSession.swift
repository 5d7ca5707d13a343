import ArgumentParser
import EcomAPI
import EcomClient
import EcomLineEditor
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The REPL: reads lines, runs each as the words after `ecom` with the one command tree, and
/// goes on after a failure.
///
/// On a terminal it reads through the line editor (prompt, history, completion, Ctrl-C);
/// otherwise it reads standard input line by line, as a script.
struct ReplSession {
    var options: GlobalOptions

    /// What a line did.
    enum Outcome: Equatable {
        /// The line ran (or was blank) and would have exited with this status.
        case status(Int32)
        /// `exit` or `quit`.
        case exit
    }

    /// Runs the session to its end and returns the process status.
    func run() async -> Int32 {
        await withSessionDefaults { Terminal.isInteractive ? await runInteractive() : await runScript() }
    }

    /// Runs `body` with `--server` and `--no-color` given to `repl` as the defaults of every command.
    func withSessionDefaults<T>(_ body: () async throws -> T) async rethrows -> T {
        try await GlobalOptions.$sessionDefaults.withValue(.init(server: options.server, noColor: options.noColor), operation: body)
    }

    /// `--json`, `--quiet` and `--no-pager` given to `repl` are added to each command.
    private var sessionFlags: [String] {
        (options.json ? ["--json"] : []) + (options.quiet ? ["--quiet"] : []) + (options.noPager ? ["--no-pager"] : [])
    }

    // MARK: - Terminal

    private func runInteractive() async -> Int32 {
        Interrupts.install()
        let values = ServerValueCache.gateway(server: Result { try options.serverURL() })
        let lookup: ReplCompleter.ServerLookup = { values.candidates($0, admin: $1, matching: $2) }
        // The command tree that completion walks is described after the prompt is up, not before:
        // describing every command takes longer than the rest of the start. A Tab pressed before
        // the description is done waits for it.
        let complete: LineEditor.Completer = { request in
            guard let tree = CommandDescription.root else { return [] }
            return ReplCompleter(tree: tree, serverValues: lookup).candidates(before: request.before, word: request.word)
        }
        let editor = await LineEditor(
            name: "ecom", output: Terminal.stdoutIsTerminal ? .standardOutput : .standardError,
            historyFile: Self.historyFile(), completer: complete)
        let input = EditorInput(editor: editor)
        Terminal.writeError("ecom \(EcomCommand.version): type help for the commands, Tab to complete, Ctrl-D to leave.\n")
        Thread.detachNewThread { _ = CommandDescription.root }
        var historyWarned = false
        while true {
            switch await editor.readLine(prompt: prompt()) {
            case .end:
                return 0
            case .interrupted:
                continue
            case .line(let line):
                if HistoryFilter.mayRecord(line) {
                    do {
                        try await editor.record(line)
                    } catch {
                        if !historyWarned { Terminal.writeError("warning: history not saved: \(error.localizedDescription)\n") }
                        historyWarned = true
                    }
                }
                if await execute(line, input: input, interruptible: true) == .exit { return 0 }
            }
        }
    }

    /// `ecom [server] [email]> `: the server unless it is the default, and the signed-in account.
    func prompt(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        var parts = ["ecom"]
        if let server = try? options.serverURL(environment: environment) {
            let name = CredentialsStore.key(for: server)
            if name != GlobalOptions.defaultServer { parts.append(name.hasPrefix("http://") ? String(name.dropFirst(7)) : name) }
            if let session = try? CredentialsStore.standard(environment: environment).session(for: server) {
                parts.append(session.user.email)
            }
        }
        return parts.joined(separator: " ") + "> "
    }

    /// `$XDG_STATE_HOME/ecom/history`, else `~/.local/state/ecom/history`.
    static func historyFile(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        let stateHome: URL
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") {
            stateHome = URL(fileURLWithPath: xdg, isDirectory: true)
        } else {
            let home = environment["HOME"] ?? NSHomeDirectory()
            stateHome = URL(fileURLWithPath: home, isDirectory: true).appendingPathComponent(".local/state", isDirectory: true)
        }
        return stateHome.appendingPathComponent("ecom", isDirectory: true).appendingPathComponent("history")
    }

    // MARK: - Script

    private func runScript() async -> Int32 {
        let input = ScriptInput(thread: BlockingThread(name: "ecom script reader"))
        var status: Int32 = 0
        while let line = await input.readLine() {
            switch await execute(line, input: input, interruptible: false) {
            case .exit: return status
            case .status(let lineStatus): if lineStatus != 0 { status = lineStatus }
            }
        }
        return status
    }

    // MARK: - Lines

    /// Runs one line: a builtin (`help`, `exit`, `quit`) or a command of the tree.
    func execute(_ line: String, input: any TerminalInput, interruptible: Bool) async -> Outcome {
        var words: [String]
        do {
            words = try ShellWords.split(line)
        } catch {
            Terminal.writeError("ecom: \(error.localizedDescription)\n")
            return .status(ExitCode.validationFailure.rawValue)
        }
        // A command pasted from a shell keeps its `ecom` prefix.
        if words.first == "ecom" { words.removeFirst() }
        guard let command = words.first else { return .status(0) }
        switch command {
        case "exit", "quit":
            guard words.count == 1 else {
                Terminal.writeError("ecom: `\(command)` takes no arguments\n")
                return .status(ExitCode.validationFailure.rawValue)
            }
            return .exit
        case "help":
            return .status(await help(Array(words.dropFirst())))
        case "serve", "repl":
            return .status(unavailable(command))
        default:
            let flags = sessionFlags.filter { !words.contains($0) }
            return .status(await run(words + flags, input: input, interruptible: interruptible))
        }
    }

    /// Runs a command with the questions it asks answered by `input`; with `interruptible`,
    /// Ctrl-C cancels it.
    private func run(_ words: [String], input: any TerminalInput, interruptible: Bool) async -> Int32 {
        let interruptsBefore = Interrupts.count
        do {
            try await Terminal.$input.withValue(input) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await EcomCommand.run(words) }
                    if interruptible {
                        group.addTask {
                            try await Interrupts.wait(beyond: interruptsBefore)
                            throw CancellationError()
                        }
                    }
                    _ = try await group.next()
                    group.cancelAll()
                }
            }
            return 0
        } catch {
            if interruptible && Interrupts.count != interruptsBefore {
                // The request was abandoned, not called back: the server may still carry it out.
                Terminal.writeError("ecom: interrupted; a request already sent may still complete on the server\n")
                return 130
            }
            return EcomCommand.report(error, repl: true)
        }
    }

    private func unavailable(_ command: String) -> Int32 {
        let hint = command == "serve" ? "; run `ecom serve` in another terminal" : ""
        Terminal.writeError("ecom: `\(command)` is not available in the REPL\(hint)\n")
        return ExitCode.validationFailure.rawValue
    }

    /// `help`: the REPL's commands; `help COMMAND…`: that command's help, as `--help` prints it.
    private func help(_ topic: [String]) async -> Int32 {
        guard let tree = CommandDescription.root.map({ ReplCompleter(tree: $0, serverValues: { _, _, _ in [] }).root }) else {
            return EcomCommand.report(CleanExit.helpRequest())
        }
        if topic.isEmpty {
            FileHandle.standardOutput.write(Data(Self.overview(tree).utf8))
            return 0
        }
        if let first = topic.first, first == "serve" || first == "repl" { return unavailable(first) }
        var command = tree
        for word in topic {
            guard let subcommand = command.subcommand(word) else {
                if let unknown = CommandSuggestion.unknownCommand(in: topic) {
                    return EcomCommand.report(unknown, repl: true)
                }
                Terminal.writeError("ecom: no command `\(topic.joined(separator: " "))`; type help for the list\n")
                return ExitCode.validationFailure.rawValue
            }
            command = subcommand
        }
        guard let text = await Self.helpText(topic) else { return ExitCode.validationFailure.rawValue }
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
        return 0
    }

    /// What `COMMAND… --help` prints.
    static func helpText(_ topic: [String]) async -> String? {
        do {
            // `--help` parses as argument-parser's help command, which throws the help when run.
            try await EcomCommand.run(topic + ["--help"])
        } catch where EcomCommand.exitCode(for: error) == .success {
            return EcomCommand.fullMessage(for: error)
        } catch {}
        return nil
    }

    /// The list `help` prints: each command with its summary, then the REPL's own.
    static func overview(_ tree: CommandDescription) -> String {
        var rows = (tree.subcommands ?? []).filter { $0.shouldDisplay != false }.map { ($0.commandName, $0.abstract ?? "") }
        rows += [
            ("help [COMMAND]", "Show this list, or the help of a command (as `COMMAND --help` does)."),
            ("exit, quit", "Leave the shell (as does Ctrl-D on an empty line)."),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        let lines = rows.map { "  " + $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
        return """
            Commands (the words after `ecom`; Tab completes them and their options):
            \(lines.joined(separator: "\n"))

            """
    }
}

// MARK: - Answers to questions

/// Questions asked through the line editor: answers are edited like commands but never kept in
/// the history, passwords are read without echo, and Ctrl-C cancels the command.
struct EditorInput: TerminalInput {
    let editor: LineEditor

    func ask(_ prompt: String) async throws -> String {
        try Self.answer(await editor.readLine(prompt: prompt, completing: false))
    }

    func readSecret(_ prompt: String) async throws -> String {
        try Self.answer(await editor.readSecret(prompt: prompt))
    }

    func nextLine() async throws -> String? {
        switch await editor.readLine(prompt: "", completing: false) {
        case .line(let line): return line
        case .interrupted: throw CancellationError()
        case .end: return nil
        }
    }

    private static func answer(_ input: LineEditor.Input) throws -> String {
        switch input {
        case .line(let line): return line
        case .interrupted: throw CancellationError()
        case .end: throw ValidationError("no answer on standard input")
        }
    }
}

/// A script on standard input: its commands and the answers to their questions (a password
/// for `--password-stdin`) are its successive lines, read off the concurrency pool.
struct ScriptInput: TerminalInput {
    let thread: BlockingThread

    func readLine() async -> String? {
        await thread.run { Swift.readLine(strippingNewline: true) }
    }

    func ask(_ prompt: String) async throws -> String {
        Terminal.writeError(prompt)
        guard let line = await readLine() else { throw ValidationError("no answer on standard input") }
        return line
    }

    func readSecret(_ prompt: String) async throws -> String {
        try await ask(prompt)
    }

    func nextLine() async throws -> String? {
        await readLine()
    }
}
