import EcomProducts

extension CatalogSeed {
    /// `fixtures/catalog.json` as it was at build time, inside the binary, so that the embedded
    /// default shows a catalog wherever the binary runs.
    package static let sample = CatalogSeed.embedded(
        json: SampleCatalog.text, origin: "embedded sample catalog (\(SampleCatalog.path), built into this binary)")
}
