import EcomAPI
import Foundation
import Testing

/// A served store as the CLI tests start it: the admin signed in through `ecom login`, a catalog
/// file of `products` (catalog entries as JSON objects) in the admin's configuration folder, and a
/// shopper's CLI not yet signed up. Both configuration folders are removed afterwards.
struct CLIStoreFixture {
    let admin: CLI
    let shopper: CLI
    let catalog: URL

    static func with<T>(
        _ server: ServerProcess, catalog products: [String], _ body: (CLIStoreFixture) async throws -> T
    ) async throws -> T {
        let admin = try CLI(server: server.gateway)
        let shopper = try CLI(server: server.gateway)
        defer {
            admin.removeConfig()
            shopper.removeConfig()
        }
        try await admin.login("root@example.com", password: "root-password-123")
        let catalog = admin.configHome.appendingPathComponent("catalog.json")
        try Data(#"{"products": [\#(products.joined(separator: ",\n"))]}"#.utf8).write(to: catalog)
        return try await body(CLIStoreFixture(admin: admin, shopper: shopper, catalog: catalog))
    }

    /// Imports the catalog file as the admin, and returns every product on sale.
    func importCatalog() async throws -> [Product] {
        let imported = try await admin.run(["admin", "products", "import", catalog.path])
        try #require(imported.status == 0, "\(imported.stderr)")
        let list = try await admin.run(["products", "list", "--all", "--json"])
        try #require(list.status == 0, "\(list.stderr)")
        return try list.json([Product].self)
    }
}

extension CLIStoreFixture {
    static let mug = #"{"sku": "MUG-1", "name": "Mug", "description": "A stoneware mug", "price_cents": 1250, "stock": 10, "is_active": true}"#
    static let tea = #"{"sku": "TEA-1", "name": "Green tea", "description": "100 g", "price_cents": 399, "stock": 3, "is_active": true}"#
    static let laptop = #"{"sku": "LAP-1", "name": "Gaming Laptop", "description": "Fast", "price_cents": 99900, "stock": 3, "is_active": true}"#
}
