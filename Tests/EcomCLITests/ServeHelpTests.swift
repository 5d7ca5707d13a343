import ArgumentParser
import Foundation
import Testing

@testable import EcomCLI

/// `ecom serve --help` against the server's sources: a variable read anywhere in the modules that
/// `ecom serve` runs, and not listed by the help, fails here.
@Suite struct ServeHelpTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources").standardized

    /// The modules of the client side (the store commands, the REPL), whose variables the manual's
    /// ENVIRONMENT section lists, and the build's own tools.
    static let clientModules: Set<String> = [
        "EcomCLI", "EcomClient", "EcomLineEditor", "EcomJQ", "EmbedFiles", "ecom", "ecom-bench-ceiling", "ecom-embed-file",
    ]
    /// The command-line files `ecom serve` runs through.
    static let serverCommandFiles = ["EcomCLI/ServeCommand.swift", "EcomCLI/EcomCommand.swift"]

    /// Every name a server source reads or spells as a variable: `"ECOM_…"` literals, and the
    /// literal keys of environment lookups.
    static func variablesInSources() throws -> Set<String> {
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }
            .filter { $0.pathExtension == "swift" }
            .filter { file in
                let relative = String(file.standardized.path.dropFirst(sources.path.count + 1))
                let module = String(relative.prefix { $0 != "/" })
                return !clientModules.contains(module) || serverCommandFiles.contains(relative)
            } ?? []
        var names: Set<String> = []
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: #/"(ECOM_[A-Z0-9_<>]+)"/#) { names.insert(String(match.output.1)) }
            for match in text.matches(of: #/environment\[\s*"([A-Za-z_][A-Za-z0-9_]*)"\s*\]/#) { names.insert(String(match.output.1)) }
            for match in text.matches(of: #/getenv\(\s*"([A-Za-z_][A-Za-z0-9_]*)"\s*\)/#) { names.insert(String(match.output.1)) }
        }
        return names
    }

    @Test("ecom serve --help names every environment variable the server reads")
    func listsEveryVariable() throws {
        let help = EcomCommand.helpMessage(for: EcomCommand.ServeCommand.self, columns: 10_000)
        let names = try Self.variablesInSources()
        // The table of variables itself is among the sources: a scan that finds it finds these.
        #expect(names.isSuperset(of: ["ECOM_DATABASE_URL", "ECOM_<SERVICE>_PORT", "ECOM_MAX_CONNECTIONS_PER_CLIENT", "ECOM_HOLD_EVENTS"]))
        for name in names.sorted() {
            #expect(help.contains(name), "ecom serve --help does not mention \(name)")
        }
        for name in ["DB_URL", "DATABASE_URL", "SECRET_KEY", "RABBITMQ_URL", "PORT", "HOST", "LOG_LEVEL", "XDG_DATA_HOME", "MALLOC_ARENA_MAX"] {
            #expect(help.contains(name), "ecom serve --help does not mention \(name)")
        }
    }

    @Test("each variable of the help comes with what it does and its default")
    func eachWithDefault() throws {
        let help = EcomCommand.helpMessage(for: EcomCommand.ServeCommand.self, columns: 80)
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.hasPrefix("Environment (") })
        let entries = Array(lines[(start + 1)...].prefix { $0.hasPrefix("  ") })
        #expect(entries.count >= 60 && entries.count % 3 == 0)
        for index in stride(from: 0, to: entries.count - 2, by: 3) {
            let (names, meaning, fallback) = (entries[index], entries[index + 1], entries[index + 2])
            #expect(!names.hasPrefix("   ") && !names.contains(" ("), "\(names)")
            #expect(meaning.hasPrefix("      ") && !meaning.hasPrefix("      default: "), "\(names): \(meaning)")
            #expect(fallback.hasPrefix("      default: "), "\(names): \(fallback)")
        }
    }
}
