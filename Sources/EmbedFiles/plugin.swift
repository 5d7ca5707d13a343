import Foundation
import PackagePlugin

/// Turns package files into Swift constants at build time, so that the one `ecom` executable
/// carries what it needs with no file beside it (on Linux `Bundle.module` is a folder beside
/// the binary).
///
/// A target that uses the plugin lists its files in `embedded-files.json` in its directory
/// (excluded from its sources): `{"SwiftName": "path/from/the/package/root"}`. Each becomes
/// `package enum SwiftName` with `path` and `text` (the file's UTF-8 text, byte for byte) or
/// `bytes` (any other file), made by `ecom-embed-file` whenever the file changes.
@main
struct EmbedFiles: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        guard let target = target as? any SourceModuleTarget else { return [] }
        let manifest = target.directoryURL.appending(path: "embedded-files.json")
        let entries: [String: String]
        do {
            entries = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: manifest))
        } catch {
            throw EmbedFilesError("\(manifest.path) must be a JSON object of Swift names to package paths: \(error)")
        }
        let tool = try context.tool(named: "ecom-embed-file")
        return entries.sorted { $0.key < $1.key }.map { name, path in
            let input = context.package.directoryURL.appending(path: path)
            let output = context.pluginWorkDirectoryURL.appending(path: "Embedded\(name).swift")
            return .buildCommand(
                displayName: "Embedding \(path) as \(name)",
                executable: tool.url,
                arguments: [input.path, output.path, name, path],
                inputFiles: [input, manifest],
                outputFiles: [output])
        }
    }
}

struct EmbedFilesError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
