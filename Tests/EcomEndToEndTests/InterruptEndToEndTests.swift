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
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-int-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }

        let process = Process()
        process.executableURL = TestEnvironment.binary
        process.arguments = ["products", "list", "--server", server.url]
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CONFIG_HOME"] = home.path
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
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
        #expect(status == 130)
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
