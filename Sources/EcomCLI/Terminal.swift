import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the process is attached to, and the few interactive reads the CLI makes.
enum Terminal {
    /// Whether a person can answer prompts: standard input is a terminal.
    static var isInteractive: Bool { isatty(STDIN_FILENO) == 1 }
    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// Writes `prompt` to standard error and reads one line with echo on.
    static func ask(_ prompt: String) throws -> String {
        writeError(prompt)
        guard let line = readLine(strippingNewline: true) else { throw ValidationError("no answer on standard input") }
        return line
    }

    /// Asks a yes/no question; anything but y/yes is no.
    static func confirm(_ question: String) -> Bool {
        guard let answer = try? ask("\(question) [y/N] ") else { return false }
        return ["y", "yes"].contains(answer.trimmingCharacters(in: .whitespaces).lowercased())
    }

    /// Reads a password from the terminal with echo off; echo comes back even on Ctrl-C.
    static func readSecret(_ prompt: String) throws -> String {
        writeError(prompt)
        var original = termios()
        guard tcgetattr(STDIN_FILENO, &original) == 0 else { throw ValidationError("cannot read a password: not a terminal") }
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        SavedTerminal.state = original
        signal(SIGINT) { signal in
            if var state = SavedTerminal.state { tcsetattr(STDIN_FILENO, TCSAFLUSH, &state) }
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
    static func readLineFromStandardInput(what: String) throws -> String {
        guard let line = readLine(strippingNewline: true) else { throw ValidationError("no \(what) on standard input") }
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
