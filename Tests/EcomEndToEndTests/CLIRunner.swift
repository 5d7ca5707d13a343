import EcomAPI
import Foundation
import Testing

/// Runs the built `ecom` binary as a user would: its own config directory, stdin from a string
/// (never a terminal), and stdout/stderr captured.
struct CLI {
    let server: String
    let configHome: URL

    init(server: String) throws {
        self.server = server
        configHome = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-cli-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: configHome, withIntermediateDirectories: true)
    }

    var credentialsFile: URL { configHome.appendingPathComponent("ecom/credentials.json") }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        func json<T: Decodable>(_: T.Type = T.self) throws -> T {
            do {
                return try JSONDecoder.ecom.decode(T.self, from: Data(stdout.utf8))
            } catch {
                throw HarnessError("no \(T.self) on stdout (exit \(status)): \(error)\nstdout: \(stdout)\nstderr: \(stderr)")
            }
        }

        var object: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] }
        var array: [[String: Any]]? { (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [[String: Any]] }
    }

    @discardableResult
    func run(
        _ arguments: [String], stdin: String = "", environment extra: [String: String] = [:], executable: URL = TestEnvironment.binary
    ) async throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CONFIG_HOME"] = configHome.path
        environment["ECOM_SERVER"] = server
        environment.removeValue(forKey: "NO_COLOR")
        environment.merge(extra) { $1 }
        process.environment = environment

        let stdoutFile = configHome.appendingPathComponent("stdout-\(UUID().uuidString)")
        let stderrFile = configHome.appendingPathComponent("stderr-\(UUID().uuidString)")
        for file in [stdoutFile, stderrFile] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        defer { for file in [stdoutFile, stderrFile] { try? FileManager.default.removeItem(at: file) } }
        process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        let input = Pipe()
        process.standardInput = input

        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
                input.fileHandleForWriting.write(Data(stdin.utf8))
                try input.fileHandleForWriting.close()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return Result(
            status: status, stdout: try String(contentsOf: stdoutFile, encoding: .utf8),
            stderr: try String(contentsOf: stderrFile, encoding: .utf8))
    }

    /// Registers an account and signs it in; fails the test if either step fails.
    func signUp(_ email: String, password: String = "password123") async throws {
        let registered = try await run(["register", "--email", email, "--password-stdin"], stdin: password + "\n")
        try #require(registered.status == 0, "register: \(registered.stderr)")
        try await login(email, password: password)
    }

    func login(_ email: String, password: String) async throws {
        let login = try await run(["login", "--email", email, "--password-stdin"], stdin: password + "\n")
        try #require(login.status == 0, "login: \(login.stderr)")
    }

    /// Reads and rewrites this server's entry of the credentials file, as another program might.
    func editSession(_ edit: (inout [String: Any]) -> Void) throws {
        var file = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: credentialsFile)) as? [String: Any])
        var servers = try #require(file["servers"] as? [String: Any])
        var entry = try #require(servers[server] as? [String: Any])
        edit(&entry)
        servers[server] = entry
        file["servers"] = servers
        try JSONSerialization.data(withJSONObject: file).write(to: credentialsFile)
    }

    func session() throws -> [String: Any]? {
        let file = try JSONSerialization.jsonObject(with: Data(contentsOf: credentialsFile)) as? [String: Any]
        return (file?["servers"] as? [String: Any])?[server] as? [String: Any]
    }

    func removeConfig() {
        try? FileManager.default.removeItem(at: configHome)
    }
}

/// Starts `ecom serve` for one test and stops it (and drops its databases) afterwards.
///
/// Every service runs, each on a free port with its own database.
func withCLIServer(environment: [String: String] = [:], _ body: (ServerProcess) async throws -> Void) async throws {
    let server = try await ServerProcess(environment: environment, services: Store.services)
    do {
        try await body(server)
        if !server.process.isRunning && !server.stopped {
            Issue.record("ecom serve exited during the test:\n\(server.log)")
        }
    } catch {
        print(server.log)
        await server.tearDown()
        throw error
    }
    await server.tearDown()
}
