import EcomLineEditor
import Foundation
import Testing

@Suite struct HistoryTests {
    @Test("the history file is private, bounded, skips repeats and is read back")
    func history() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-history-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("state/ecom/history")

        let editor = await LineEditor(name: "ecom-test", historyFile: file, historyLimit: 3, completer: nil)
        for line in ["whoami", "products list", "products list", "cart show", #"admin products create --name "Gaming Laptop""#] {
            try await editor.record(line)
        }
        let kept = ["products list", "cart show", #"admin products create --name "Gaming Laptop""#]
        #expect(await editor.history() == kept)

        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let folder = try FileManager.default.attributesOfItem(atPath: file.deletingLastPathComponent().path)
        #expect((folder[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(!text.contains("whoami"))

        let again = await LineEditor(name: "ecom-test", historyFile: file, historyLimit: 3, completer: nil)
        #expect(await again.history() == kept)
    }
}
