import EcomProducts
import EcomUsers

/// What a start puts into empty databases: an admin, and a catalog.
struct StoreSeeds {
    var admin: DemoAdmin?
    var catalog: CatalogSeed?

    /// The configuration's own seeds; on the embedded database, the demo admin and the sample
    /// catalog where it names none.
    init(_ configuration: ServeConfiguration, embedded: Bool) {
        admin = configuration.seedAdmin.map { DemoAdmin(email: $0.email, password: $0.password) } ?? (embedded ? .standard : nil)
        catalog = configuration.catalogSeed.map(CatalogSeed.file) ?? (embedded ? .sample : nil)
    }
}
