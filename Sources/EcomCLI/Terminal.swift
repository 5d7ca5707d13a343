import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a command's questions are answered when not straight from the process's terminal:
/// in the REPL, by its line editor, or by the next lines of its script.
protocol TerminalInput: Sendable {
    /// Shows `prompt` and reads a line with echo.
    func ask(_ prompt: String) async throws -> String
    /// Shows `prompt` and reads a line without echo.
    func readSecret(_ prompt: String) async throws -> String
    /// The next line of standard input, or nil at its end.
    func nextLine() async throws -> String?
}

/// What the process is attached to, and the few interactive reads the CLI makes.
enum Terminal {
    /// Answers questions instead of the terminal, for the commands the REPL runs.
    @TaskLocal static var input: (any TerminalInput)?

    /// Whether a person can answer prompts: standard input is a terminal.
    static var isInteractive: Bool { isatty(STDIN_FILENO) == 1 }
    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// The width of the terminal on standard output, else `COLUMNS`, else nil.
    static func columns(environment: [String: String]) -> Int? {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return environment["COLUMNS"].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil }
    }

    /// Writes `prompt` to standard error and reads one line with echo on.
    static func ask(_ prompt: String) async throws -> String {
        if let input { return try await input.ask(prompt) }
        writeError(prompt)
        guard let line = readLine(strippingNewline: true) else { throw ValidationError("no answer on standard input") }
        return line
    }

    /// Asks a yes/no question; anything but y/yes is no.
    static func confirm(_ question: String) async -> Bool {
        guard let answer = try? await ask("\(question) [y/N] ") else { return false }
        return ["y", "yes"].contains(answer.trimmingCharacters(in: .whitespaces).lowercased())
    }

    /// Reads a password from the terminal with echo off; echo comes back even on Ctrl-C.
    static func readSecret(_ prompt: String) async throws -> String {
        if let input { return try await input.readSecret(prompt) }
        writeError(prompt)
        var original = termios()
        guard tcgetattr(STDIN_FILENO, &original) == 0 else { throw ValidationError("cannot read a password: not a terminal") }
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        SavedTerminal.state = original
        signal(SIGINT) { signal in
            if var state = SavedTerminal.state { tcsetattr(STDIN_FILENO, TCSAFLUSH, &state) }
            // The terminal does not echo the newline the user never typed; the shell's prompt would follow on this line.
            _ = write(STDERR_FILENO, "\n", 1)
            _exit(128 + signal)
        }
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &original)
            signal(SIGINT, SIG_DFL)
            SavedTerminal.state = nil
            writeError("\n")
        }
        guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password given") }
        return line
    }

    /// The first line of standard input, for `--password-stdin`.
    static func readLineFromStandardInput(what: String) async throws -> String {
        let line = if let input { try await input.nextLine() } else { readLine(strippingNewline: true) }
        guard let line else { throw ValidationError("no \(what) on standard input") }
        return line
    }

    static func writeError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// The terminal settings to restore if Ctrl-C arrives while echo is off.
private enum SavedTerminal {
    nonisolated(unsafe) static var state: termios?
}

/// A message for Ctrl-C in a one-shot command, where SIGINT otherwise ends the process silently.
///
/// The REPL cancels the command instead and the command says it itself; here the signal handler
/// can only write bytes prepared beforehand and exit as interrupted.
enum InterruptNotice {
    nonisolated(unsafe) private static var message: UnsafeMutableBufferPointer<UInt8>?

    /// Runs `body` with `text` written to standard error should SIGINT arrive meanwhile.
    static func during<T>(_ text: String, _ body: () async throws -> T) async rethrows -> T {
        guard Terminal.input == nil else { return try await body() }
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: text.utf8.count)
        _ = buffer.initialize(from: text.utf8)
        message = buffer
        signal(SIGINT) { signal in
            if let message = InterruptNotice.message { _ = write(STDERR_FILENO, message.baseAddress, message.count) }
            _exit(128 + signal)
        }
        defer {
            signal(SIGINT, SIG_DFL)
            message = nil
            buffer.deallocate()
        }
        return try await body()
    }
}
