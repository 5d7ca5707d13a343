import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Shows text taller than the terminal through a pager, as `git` and `psql` do.
///
/// Only for tables on a terminal: pipes, `--json` and `--no-pager` never page.
struct Pager: Equatable {
    static let defaultCommand = "less -FRX"

    /// A shell command line, run with `sh -c`.
    var command: String

    /// `ECOM_PAGER`, else `PAGER`, else `less -FRX`; nil when the one chosen is empty or `cat`
    /// (the way to turn paging off for good).
    static func command(environment: [String: String]) -> String? {
        let chosen = environment["ECOM_PAGER"] ?? environment["PAGER"] ?? defaultCommand
        let trimmed = chosen.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty || trimmed == "cat" ? nil : trimmed
    }

    /// The pager for a command's output, or nil when it must not page.
    static func forOutput(table: Bool, terminal: Bool, disabled: Bool, environment: [String: String]) -> Pager? {
        guard table, terminal, !disabled, environment["TERM"] != "dumb" else { return nil }
        return command(environment: environment).map(Pager.init(command:))
    }

    /// Whether `text` needs more lines than the terminal shows (less `-F` would quit at once otherwise).
    func isNeeded(for text: String) -> Bool {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 else { return false }
        return text.reduce(0) { $1 == "\n" ? $0 + 1 : $0 } >= Int(size.ws_row)
    }

    /// Writes `text` through the pager and waits for it to end; false when it could not start
    /// (the caller then prints the text itself).
    func show(_ text: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let input = Pipe()
        process.standardInput = input
        var environment = ProcessInfo.processInfo.environment
        if environment["LESS"] == nil { environment["LESS"] = "FRX" }
        process.environment = environment
        do {
            try process.run()
        } catch {
            return false
        }
        // Ctrl-C belongs to the pager while it runs (less uses it to stop a search), and a pager
        // quit early must not kill ecom with SIGPIPE.
        var ignore = sigaction()
        #if canImport(Glibc)
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        #else
        ignore.__sigaction_u.__sa_handler = SIG_IGN
        #endif
        var previousInterrupt = sigaction()
        var previousPipe = sigaction()
        sigaction(SIGINT, &ignore, &previousInterrupt)
        sigaction(SIGPIPE, &ignore, &previousPipe)
        defer {
            sigaction(SIGINT, &previousInterrupt, nil)
            sigaction(SIGPIPE, &previousPipe, nil)
        }
        let descriptor = input.fileHandleForWriting.fileDescriptor
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { break }
            bytes = bytes.dropFirst(written)
        }
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        return true
    }
}
