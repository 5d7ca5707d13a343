import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One private tmux server (its own socket, `-S`) running `ecom repl` with HOME and the XDG
/// directories in a temporary directory.
struct Tmux {
    static let executable: URL? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("tmux") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }

    let directory: URL
    let server: String
    /// The server's socket, inside the test's directory so it goes away with it.
    var socket: URL { directory.appendingPathComponent("tmux.socket") }
    var statusFile: URL { directory.appendingPathComponent("status") }

    init(directory: URL, server: String) {
        self.directory = directory
        self.server = server
    }

    /// Starts `ecom repl` in a new session `columns` wide and 50 high, with `environment` exported;
    /// its exit status goes to `statusFile`. With `script`, runs those shell lines instead (`$ECOM`
    /// is the binary).
    func start(environment: [String: String] = [:], script lines: String? = nil, columns: Int = 200) async throws {
        try? FileManager.default.removeItem(at: statusFile)
        let script = directory.appendingPathComponent("repl.sh")
        let quoted = { (text: String) in "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        try """
            #!/bin/bash
            # Job control puts ecom in a process group of its own, as an interactive shell does, so
            # Ctrl-C reaches ecom and not this script.
            set -m
            unset NO_COLOR ECOM_SERVER
            export HOME=\(quoted(directory.path))
            export XDG_CONFIG_HOME=\(quoted(directory.appendingPathComponent("config").path))
            export XDG_STATE_HOME=\(quoted(directory.appendingPathComponent("state").path))
            export ECOM_SERVER=\(quoted(server))
            export LANG=C.UTF-8
            \(environment.sorted { $0.key < $1.key }.map { "export \($0.key)=\(quoted($0.value))\n" }.joined())\
            ECOM=\(quoted(TestEnvironment.binary.path))
            \(lines ?? "\"$ECOM\" repl")
            echo $? > \(quoted(statusFile.path))

            """.write(to: script, atomically: true, encoding: .utf8)
        // Read by bash rather than executed: a process another test spawned while the script was
        // open for writing may still hold it so, and executing it would then fail (ETXTBSY), ending
        // the session and its server at once.
        try await tmux(["new-session", "-d", "-x", String(columns), "-y", "50", "-s", "repl", "/bin/bash " + quoted(script.path)])
    }

    func type(_ text: String) async throws {
        try await tmux(["send-keys", "-t", "repl", "-l", text])
    }

    func press(_ key: String) async throws {
        try await tmux(["send-keys", "-t", "repl", key])
    }

    func screen() async throws -> Screen {
        Screen(text: try await tmux(["capture-pane", "-p", "-t", "repl"]))
    }

    /// Polls the screen until `condition` holds, for up to a minute.
    func waitForScreen(_ what: String, _ condition: (Screen) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        var last = Screen(text: "")
        var failure: (any Error)?
        while ContinuousClock.now < deadline {
            do {
                last = try await screen()
                failure = nil
            } catch {
                failure = error
            }
            if condition(last) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("the terminal never showed \(what)\(failure.map { " (\($0))" } ?? ""); the screen:\n\(last.text)")
    }

    /// Waits for `ecom repl` to end and returns its exit status.
    func exitStatus() async throws -> Int32? {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOf: statusFile, encoding: .utf8), text.hasSuffix("\n") {
                return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("ecom repl did not exit; the screen:\n\((try? await screen())?.text ?? "")")
    }

    /// Closes every descriptor above 2 in the child (glibc's `posix_spawn_file_actions_addclosefrom_np`,
    /// which Swift's Glibc module does not export), so the tmux server holds no pipe of another test.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) throws {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            throw HarnessError("this C library cannot close inherited descriptors in a spawned process")
        }
        guard unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3) == 0 else { throw HarnessError("posix_spawn_file_actions_addclosefrom_np failed") }
    }

    func killServer() async {
        _ = try? await tmux(["kill-server"])
    }

    /// Runs one tmux command on the private server and returns its standard output.
    ///
    /// Spawned directly rather than with `Process`: the tmux server that the first command
    /// starts keeps every descriptor it inherits, and `Process` sees its child end only once
    /// the descriptor it watches is closed by all holders. Here the child inherits no
    /// descriptor but /dev/null and its output file, and a shell writes tmux's status to a
    /// file once it ends (the test process may reap children itself, so `waitpid` cannot tell).
    @discardableResult
    private func tmux(_ arguments: [String]) async throws -> String {
        guard let executable = Self.executable else { throw HarnessError("no tmux") }
        let name = "tmux-\(UUID().uuidString)"
        let output = directory.appendingPathComponent(name + ".out")
        let done = directory.appendingPathComponent(name + ".status")
        defer {
            try? FileManager.default.removeItem(at: output)
            try? FileManager.default.removeItem(at: done)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["TMUX"] = nil
        environment["TERM"] = "xterm-256color"

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        try Self.closeInheritedDescriptors(&actions)

        let command = [executable.path, "-S", socket.path, "-f", "/dev/null"] + arguments
        let script = #""$@"; echo $? > "$DONE.tmp" && mv "$DONE.tmp" "$DONE""#
        let argv = (["/bin/sh", "-c", script, "sh"] + command).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [strdup("DONE=\(done.path)"), nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, nil, argv, envp)
        guard spawned == 0 else { throw HarnessError("cannot run tmux: \(String(cString: strerror(spawned)))") }

        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            if let text = try? String(contentsOf: done, encoding: .utf8) {
                let status = text.trimmingCharacters(in: .whitespacesAndNewlines)
                let printed = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
                guard status == "0" else { throw HarnessError("tmux \(arguments.joined(separator: " ")) failed (\(status)): \(printed)") }
                return printed
            }
            guard ContinuousClock.now < deadline else { throw HarnessError("tmux \(arguments.joined(separator: " ")) did not finish") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// What `capture-pane` showed.
struct Screen {
    var text: String

    func contains(_ part: String) -> Bool { text.contains(part) }

    /// The last line with anything on it, without trailing blanks: where the cursor's line usually is.
    var lastLine: String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.reversed().drop { $0 == " " }.reversed()) }
        return lines.last { !$0.isEmpty } ?? ""
    }
}
