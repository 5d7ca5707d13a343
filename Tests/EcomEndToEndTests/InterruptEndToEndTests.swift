import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C while a request waits on a server that takes the connection and never answers.
@Suite(.serialized)
struct InterruptEndToEndTests {
    @Test("SIGINT ends a one-shot command waiting on a silent server at once, as an interrupted process (130)")
    func oneShot() async throws {
        let server = try SilentServer()
        defer { server.close() }
        let (status, stderr) = try await interrupt(["products", "list", "--server", server.url], server: server)
        #expect(status == 130)
        #expect(stderr.isEmpty)
    }

    @Test("SIGINT during order create says the order may still be placed and how to find it")
    func oneShotOrder() async throws {
        let server = try SilentServer()
        defer { server.close() }
        let (status, stderr) = try await interrupt(
            ["order", "create", "--idempotency-key", "checkout-7", "--server", server.url], server: server, signedIn: true)
        #expect(status == 130)
        #expect(
            stderr
                == "\nwarning: the order may still be placed: look for it with `ecom order list`, or run again with "
                + "--idempotency-key checkout-7 to get it without ordering twice\n")
    }

    /// Runs `ecom arguments`, sends it SIGINT once it has connected to `server`, and returns how it ended.
    private func interrupt(_ arguments: [String], server: SilentServer, signedIn: Bool = false) async throws -> (Int32, String) {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-int-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        if signedIn { try writeSession(configHome: home, server: server.url) }
        let stderrFile = home.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)

        let process = Process()
        process.executableURL = TestEnvironment.binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CONFIG_HOME"] = home.path
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        let ended = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in ended.continuation.yield() }
        try process.run()

        try await server.waitForConnection()
        let interrupted = ContinuousClock.now
        kill(process.processIdentifier, SIGINT)
        for await _ in ended.stream { break }
        // The request's own timeout is 30 s; ending well before it means the signal ended the wait.
        #expect(ContinuousClock.now - interrupted < .seconds(20))
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return (status, try String(contentsOf: stderrFile, encoding: .utf8))
    }

    @Test(
        "Ctrl-C in the REPL abandons a request to a silent server, says it may still complete, and gives the prompt back",
        .enabled(if: Tmux.executable != nil, "tmux is not installed (.ci/deps installs it)"))
    func repl() async throws {
        let server = try SilentServer()
        defer { server.close() }
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-repl-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        let tmux = Tmux(directory: home, server: server.url)
        do {
            try await tmux.start()
            try await tmux.waitForScreen("the prompt") { $0.lastLine.hasSuffix(">") }
            try await tmux.type("products list")
            try await tmux.press("Enter")
            try await server.waitForConnection()
            let interrupted = ContinuousClock.now
            try await tmux.press("C-c")
            try await tmux.waitForScreen("the interruption and the prompt back") {
                $0.contains("ecom: interrupted; a request already sent may still complete on the server") && $0.lastLine.hasSuffix(">")
            }
            #expect(ContinuousClock.now - interrupted < .seconds(20))
            try await tmux.type("prodcuts list")
            try await tmux.press("Enter")
            try await tmux.waitForScreen("the suggestion") {
                $0.contains("ecom: 'prodcuts' is not an ecom command; did you mean 'products'?") && $0.lastLine.hasSuffix(">")
            }
            // Usage errors point at the REPL's help, not the shell's `--help`.
            try await tmux.type("products show")
            try await tmux.press("Enter")
            try await tmux.waitForScreen("the REPL's help named") { $0.contains("'help products show'") && $0.lastLine.hasSuffix(">") }
            // Two different passwords: asked again, not a usage error.
            try await tmux.type("register --email ann@example.com")
            try await tmux.press("Enter")
            try await tmux.waitForScreen("the password question") { $0.lastLine == "Password:" }
            try await tmux.type("password-one")
            try await tmux.press("Enter")
            try await tmux.waitForScreen("the confirmation") { $0.lastLine == "Confirm password:" }
            try await tmux.type("password-two")
            try await tmux.press("Enter")
            try await tmux.waitForScreen("the question asked again") {
                $0.contains("The passwords do not match; try again.") && $0.lastLine == "Password:"
            }
            try await tmux.press("C-c")
            try await tmux.waitForScreen("the prompt back") { $0.lastLine.hasSuffix(">") }
            // The one usage text on the screen is the one of `products show`.
            #expect(try await tmux.screen().text.components(separatedBy: "Usage:").count == 2)
            try await tmux.press("C-d")
            #expect(try await tmux.exitStatus() == 0)
        } catch {
            print((try? await tmux.screen())?.text ?? "")
            await tmux.killServer()
            throw error
        }
        await tmux.killServer()
    }
}

/// Stores a session for `server` as `ecom login` would, so signed-in commands send their request.
func writeSession(configHome: URL, server: String) throws {
    let user: [String: Any] = [
        "id": UUID().uuidString.lowercased(), "email": "ann@example.com", "role": "user", "disabled": false,
        "created_at": "2026-01-01T00:00:00Z",
    ]
    let session: [String: Any] = ["token": "access", "refresh_token": "refresh", "user": user]
    let directory = configHome.appendingPathComponent("ecom")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    let file = directory.appendingPathComponent("credentials.json")
    try JSONSerialization.data(withJSONObject: ["servers": [server: session]]).write(to: file)
    chmod(file.path, 0o600)
}

/// A TCP port on the loopback that accepts connections and never answers on them.
final class SilentServer: Sendable {
    let descriptor: Int32
    let url: String

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 16) == 0, fcntl(descriptor, F_SETFL, O_NONBLOCK) == 0 else {
            throw HarnessError("cannot listen on the loopback")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        url = "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))"
    }

    /// Waits until a client has connected (the connection is kept open, unanswered).
    func waitForConnection() async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if accept(descriptor, nil, nil) >= 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("no client connected")
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}

/// A TCP port on the loopback that answers every connection with the same bytes, then closes it.
final class CannedServer: Sendable {
    let listener: SilentServer
    let response: String
    var url: String { listener.url }

    init(response: String) throws {
        listener = try SilentServer()
        self.response = response
        let descriptor = listener.descriptor
        let thread = Thread {
            var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            while poll(&pollDescriptor, 1, -1) >= 0 {
                let client = accept(descriptor, nil, nil)
                if client < 0 {
                    if errno == EAGAIN || errno == EINTR { continue }
                    return
                }
                var buffer = [UInt8](repeating: 0, count: 65536)
                _ = read(client, &buffer, buffer.count)
                _ = response.withCString { write(client, $0, strlen($0)) }
                _ = Glibc.close(client)
            }
        }
        thread.start()
    }

    func close() {
        listener.close()
    }
}
