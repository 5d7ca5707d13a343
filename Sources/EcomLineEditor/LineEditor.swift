@preconcurrency import CEditLine
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads lines from the terminal with libedit: a prompt, emacs keys (or what `~/.editrc` binds),
/// a persistent history and tab completion answered by Swift.
///
/// libedit keeps its state in globals, so a process uses one editor at a time, and every call
/// into libedit runs on the editor's own thread, never on the Swift concurrency pool.
package final class LineEditor: Sendable {
    /// What a read produced.
    package enum Input: Equatable, Sendable {
        case line(String)
        /// Ctrl-C: the line typed so far is dropped.
        case interrupted
        /// Ctrl-D on an empty line, or the terminal went away.
        case end
    }

    /// Where the prompt and the edited line are drawn.
    package enum Output: Sendable {
        case standardOutput, standardError
    }

    /// The word being completed and what precedes it on the line.
    package struct CompletionRequest: Equatable, Sendable {
        /// The line before the word, as typed (quotes included).
        package var before: String
        /// The partial word (possibly empty).
        package var word: String

        package init(before: String, word: String) {
            self.before = before
            self.word = word
        }
    }

    /// Answers a Tab with the candidates for the word; runs on the editor's thread.
    package typealias Completer = @Sendable (CompletionRequest) -> [String]

    package let historyFile: URL?
    package let historyLimit: Int
    private let thread: BlockingThread
    private let lastRecorded = Mutex<String?>(nil)

    /// Sets up libedit and loads the history file, if any.
    ///
    /// - Parameters:
    ///   - name: the application name `~/.editrc` lines can be scoped to (`ecom:bind -v`).
    ///   - output: where the prompt and the edited line are drawn.
    ///   - historyFile: read now and rewritten (mode 0600, directory 0700) after each recorded line.
    ///   - historyLimit: the most lines kept, in memory and in the file.
    package init(
        name: String, output: Output = .standardOutput, historyFile: URL?, historyLimit: Int = 1000,
        completer: Completer?
    ) async {
        self.historyFile = historyFile
        self.historyLimit = historyLimit
        thread = BlockingThread(name: "\(name) line editor")
        await thread.run { [historyFile] in
            // Multibyte input (é, ü) is decoded by the C library according to LC_CTYPE.
            setlocale(LC_CTYPE, "")
            rl_readline_name = UnsafePointer(strdup(name))
            if output == .standardError { rl_outstream = fdopen(STDERR_FILENO, "w") }
            // SIGINT belongs to `Interrupts`; libedit's own handler would re-raise it at the process group.
            rl_catch_signals = 0
            rl_initialize()
            using_history()
            clear_history()
            stifle_history(Int32(historyLimit))
            if let historyFile { _ = read_history(historyFile.path) }
            Completion.completer = completer
            rl_attempted_completion_function = attemptCompletion
        }
    }

    /// Shows `prompt` and reads one edited line; Up and Down walk the history, Tab completes
    /// (unless `completing` is false, as for the answer to a question).
    package func readLine(prompt: String, completing: Bool = true) async -> Input {
        await thread.run {
            Completion.enabled = completing
            let before = Interrupts.count
            errno = 0
            let line = Interrupts.interruptible { readline(prompt) }
            let interrupted = errno == EINTR || Interrupts.count != before
            guard let line else {
                // Leave the abandoned line on screen, marked, and start the next prompt below it.
                Self.draw(interrupted ? "^C\n" : "\n")
                return interrupted ? .interrupted : .end
            }
            defer { free(line) }
            // A Ctrl-C that came while the editor was busy rather than waiting for a key ends no
            // read; the line it was meant to abandon is still never run.
            if interrupted {
                Self.draw("^C\n")
                return .interrupted
            }
            return .line(String(cString: line))
        }
    }

    /// Shows `prompt` and reads a line without echo (a password); no editing, no history.
    package func readSecret(prompt: String) async -> Input {
        await thread.run {
            Self.draw(prompt)
            var original = termios()
            let isTerminal = tcgetattr(STDIN_FILENO, &original) == 0
            if isTerminal {
                var silent = original
                silent.c_lflag &= ~tcflag_t(ECHO)
                silent.c_lflag |= tcflag_t(ICANON)
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
            }
            defer {
                if isTerminal { tcsetattr(STDIN_FILENO, TCSAFLUSH, &original) }
                Self.draw("\n")
            }
            return Interrupts.interruptible { Self.readRawLine() }
        }
    }

    /// Writes to where libedit draws.
    private static func draw(_ text: String) {
        guard let output = rl_outstream else { return }
        fputs(text, output)
        fflush(output)
    }

    /// Reads bytes from standard input up to a newline; a signal ends the read as `.interrupted`.
    private static func readRawLine() -> Input {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(STDIN_FILENO, &byte, 1)
            if count < 0 {
                return errno == EINTR ? .interrupted : .end
            }
            if count == 0 { return bytes.isEmpty ? .end : .line(String(decoding: bytes, as: UTF8.self)) }
            if byte == UInt8(ascii: "\n") { return .line(String(decoding: bytes, as: UTF8.self)) }
            bytes.append(byte)
        }
    }

    /// Adds a line to the history (unless it repeats the previous one) and rewrites the history file.
    package func record(_ line: String) async throws {
        let isRepeat = lastRecorded.withLock { last in
            defer { last = line }
            return last == line
        }
        guard !isRepeat else { return }
        let historyFile = historyFile
        try await thread.run { () -> Result<Void, HistoryError> in
            add_history(line)
            guard let historyFile else { return .success(()) }
            return Result { try Self.save(to: historyFile) }.mapError { $0 as? HistoryError ?? HistoryError("\($0)") }
        }.get()
    }

    /// Writes the history with mode 0600 in a 0700 directory.
    private static func save(to file: URL) throws {
        let directory = file.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw HistoryError("cannot create \(directory.path): \(error.localizedDescription)")
        }
        // Create the file private before libedit opens it, and tighten a file made by someone else.
        let descriptor = open(file.path, O_WRONLY | O_CREAT, 0o600)
        guard descriptor >= 0 else { throw HistoryError(errno: errno, "cannot open \(file.path)") }
        let changed = fchmod(descriptor, 0o600)
        close(descriptor)
        guard changed == 0 else { throw HistoryError(errno: errno, "cannot set the mode of \(file.path)") }
        let status = write_history(file.path)
        guard status == 0 else { throw HistoryError(errno: status, "cannot write \(file.path)") }
    }

    /// The lines in the history, oldest first.
    package func history() async -> [String] {
        await thread.run {
            guard let list = history_list() else { return [] }
            var lines: [String] = []
            var index = 0
            while let entry = list[index] {
                if let text = entry.pointee.line { lines.append(String(cString: text)) }
                index += 1
            }
            return lines
        }
    }
}

/// The history file could not be written.
package struct HistoryError: Error, LocalizedError, Equatable {
    package var errorDescription: String?

    init(_ message: String) {
        errorDescription = message
    }

    init(errno code: Int32, _ message: String) {
        errorDescription = "\(message): \(String(cString: strerror(code)))"
    }
}

/// The state of the completion in progress, touched only on the editor's thread (inside `readline`).
private enum Completion {
    nonisolated(unsafe) static var completer: LineEditor.Completer?
    nonisolated(unsafe) static var enabled = true
    nonisolated(unsafe) static var candidates: [String] = []
    nonisolated(unsafe) static var next = 0
}

/// libedit's `rl_attempted_completion_function`: asks the completer, then lets
/// `rl_completion_matches` build the list (with the common prefix first).
private func attemptCompletion(
    _ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32
) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    // Never fall back to completing file names.
    rl_attempted_completion_over = 1
    guard Completion.enabled, let completer = Completion.completer else { return nil }
    let line = rl_line_buffer.map { String(cString: $0) } ?? ""
    let word = text.map { String(cString: $0) } ?? ""
    let before = String(String.UnicodeScalarView(line.unicodeScalars.prefix(max(0, Int(start)))))
    Completion.candidates = completer(LineEditor.CompletionRequest(before: before, word: word))
    Completion.next = 0
    guard !Completion.candidates.isEmpty else { return nil }
    return rl_completion_matches(text, nextCandidate)
}

/// libedit's generator: one `strdup`ed candidate per call (libedit frees them), nil at the end.
private func nextCandidate(_: UnsafePointer<CChar>?, _ state: Int32) -> UnsafeMutablePointer<CChar>? {
    if state == 0 { Completion.next = 0 }
    guard Completion.next < Completion.candidates.count else { return nil }
    defer { Completion.next += 1 }
    return strdup(Completion.candidates[Completion.next])
}
