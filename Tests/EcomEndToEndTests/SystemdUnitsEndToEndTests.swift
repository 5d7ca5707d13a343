import Foundation
import Testing

/// `ecom serve --write-units`: what an operator installs, checked by systemd's own verifier.
@Suite struct SystemdUnitsEndToEndTests {
    static let analyzer = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("the written units name this binary and pass systemd-analyze verify", .enabled(if: analyzer != nil, "systemd-analyze is not installed"))
    func verified() async throws {
        let cli = try CLI(server: "http://127.0.0.1:1")
        defer { cli.removeConfig() }
        let directory = cli.configHome.appendingPathComponent("units")
        let written = try await cli.run(["serve", "--write-units", directory.path, "--host", "0.0.0.0", "--log-level", "notice"])
        #expect(written.status == 0, "\(written.stderr)")
        let names = ["gateway", "users", "products", "cart", "orders", "notifications"].map { "ecom-\($0).service" } + ["ecom.target"]
        #expect(written.stdout == names.map { directory.appendingPathComponent($0).path + "\n" }.joined())
        #expect(written.stderr.contains("/etc/ecom/ecom.env"))
        let gateway = try String(contentsOf: directory.appendingPathComponent("ecom-gateway.service"), encoding: .utf8)
        let binary = TestEnvironment.binary.resolvingSymlinksInPath().path
        #expect(gateway.contains("\nExecStart=\(binary) serve --only gateway --log-level notice --host 0.0.0.0\n"), "\(gateway)")

        let verify = Process()
        verify.executableURL = URL(fileURLWithPath: Self.analyzer!)
        verify.arguments = ["verify", "--man=no"] + names.map { directory.appendingPathComponent($0).path }
        let output = Pipe()
        verify.standardOutput = output
        verify.standardError = output
        try verify.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        verify.waitUntilExit()
        #expect(verify.terminationStatus == 0, "\(text)")
        // Warnings do not fail verify: none is expected about the units' own lines.
        #expect(!text.contains("ecom-"), "\(text)")
    }

    @Test("--write-units refuses URLs, which would land in files anyone may read, and '-' prints the units")
    func refusalsAndPrinting() async throws {
        let cli = try CLI(server: "http://127.0.0.1:1")
        defer { cli.removeConfig() }
        let refused = try await cli.run(["serve", "--write-units", "-", "--database-url", "postgresql://u:secret@db/ecom"])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("put DB_URL, RABBITMQ_URL and SECRET_KEY in /etc/ecom/ecom.env"), "\(refused.stderr)")
        #expect(refused.stdout.isEmpty)
        let printed = try await cli.run(["serve", "--write-units", "-", "--only", "users,gateway", "--unit-executable", "/usr/bin/ecom"])
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(printed.stdout.hasPrefix("# ecom-gateway.service\n[Unit]\n"))
        #expect(printed.stdout.contains("\n# ecom-users.service\n[Unit]\n"))
        #expect(printed.stdout.contains("\nExecStart=/usr/bin/ecom serve --only users\n"))
        #expect(!printed.stdout.contains("ecom-orders"))
        let relative = try await cli.run(["serve", "--write-units", "-", "--unit-executable", "bin/ecom"])
        #expect(relative.status == 64)
    }
}
