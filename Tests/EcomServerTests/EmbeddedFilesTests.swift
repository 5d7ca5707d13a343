import EcomProducts
import EcomServer
import Foundation
import Testing

/// The files the EmbedFiles plugin builds into the binary.
@Suite struct EmbeddedFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    @Test("the embedded sample catalog is fixtures/catalog.json, byte for byte, and the embedded default's seed")
    func sampleCatalog() throws {
        let fixture = try Data(contentsOf: Self.root.appendingPathComponent("fixtures/catalog.json"))
        #expect(SampleCatalog.path == "fixtures/catalog.json")
        #expect(Data(SampleCatalog.text.utf8) == fixture)
        let products = try #require(
            (try JSONSerialization.jsonObject(with: Data(SampleCatalog.text.utf8)) as? [String: Any])?["products"] as? [Any])
        #expect(products.count == 36)
        guard case .embedded(let json, let origin) = CatalogSeed.sample else {
            Issue.record("the sample seed is not the embedded catalog")
            return
        }
        #expect(json == SampleCatalog.text)
        #expect(origin.contains("embedded sample catalog"))
    }
}
