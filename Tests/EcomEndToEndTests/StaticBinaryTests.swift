import Foundation
import Testing

/// The release binary `.ci/static` builds, with the Swift runtime and Foundation linked in:
/// it runs where no Swift toolchain is installed.
@Suite(.enabled(if: StaticBinary.url != nil, "set ECOM_STATIC_BINARY to a statically linked ecom (.ci/static does)"))
struct StaticBinaryTests {

    @Test("the static binary needs no Swift shared library, libcurl or OpenSSL: ldd names none, and it runs with an empty environment")
    func noSwiftLibraries() async throws {
        let binary = try #require(StaticBinary.url)
        let libraries = try Self.run("/usr/bin/ldd", [binary.path])
        #expect(libraries.status == 0, "\(libraries.output)")
        for line in libraries.output.split(separator: "\n") {
            #expect(!line.contains("libswift") && !line.contains("libFoundation") && !line.contains("libdispatch"), "\(line)")
            #expect(!line.contains("libcurl") && !line.contains("libssl") && !line.contains("libcrypto"), "\(line)")
            #expect(!line.contains("not found"), "\(line)")
        }
        // No PATH, no LD_LIBRARY_PATH, no HOME: nothing leads to the toolchain's libraries.
        let version = try Self.run(binary.path, ["--version"], environment: [:])
        #expect(version.status == 0, "\(version.output)")
        #expect(version.output.trimmingCharacters(in: .whitespacesAndNewlines).first?.isNumber == true, "\(version.output)")
        let help = try Self.run(binary.path, ["--help"], environment: [:])
        #expect(help.status == 0)
        #expect(help.output.contains("ecom serve"))
    }

    @Test("libpq and librabbitmq are opened when first called, not by --version or --help; a request opens nothing, libcurl being linked in")
    func librariesOpenedWhenCalled() async throws {
        let binary = try #require(StaticBinary.url)
        // LD_DEBUG=files has the dynamic loader name each file it opens, and what for.
        func opened(_ arguments: [String]) throws -> (status: Int32, libraries: Set<String>, output: String) {
            let result = try Self.run(binary.path, arguments, environment: ["LD_DEBUG": "files", "HOME": "/nonexistent"])
            let lazy = ["libcurl.so.4", "libpq.so.5", "librabbitmq.so.4"]
            return (result.status, Set(lazy.filter { result.output.contains("file=\($0)") }), result.output)
        }
        let version = try opened(["--version"])
        #expect(version.status == 0 && version.libraries.isEmpty, "\(version)")
        let help = try opened(["products", "list", "--help"])
        #expect(help.status == 0 && help.libraries.isEmpty, "\(help)")
        // Nothing listens on port 1: the request fails, as libcurl says, and no library was opened for it.
        let request = try opened(["products", "list", "--server", "http://127.0.0.1:1"])
        #expect(request.status == 69 && request.output.contains("cannot reach http://127.0.0.1:1"), "\(request.output.suffix(500))")
        #expect(request.libraries.isEmpty, "\(request.libraries)")
    }

    static func run(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

enum StaticBinary {
    static let url = ProcessInfo.processInfo.environment["ECOM_STATIC_BINARY"].map { URL(fileURLWithPath: $0) }
}
