import ArgumentParser
import EcomAPI
import EcomClient
import Foundation

extension EcomCommand.Admin {
    struct Products: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "products",
            abstract: "Manage the catalog.",
            subcommands: [List.self, Show.self, Create.self, Update.self, Delete.self, Stock.self, Import.self])
    }
}

/// The value of `update --low-stock`: a count of units, or `default` for the store's threshold.
enum LowStockThreshold {
    static func parse(_ text: String) throws -> Clearable<Int> {
        if text == "default" { return .cleared }
        guard let units = Int(text), units >= 0 else {
            throw ValidationError("--low-stock takes a number of units (0 or more) or `default`, got \(text)")
        }
        return .value(units)
    }
}

/// `--active` or `--inactive`: whether a product is on sale.
enum Visibility: String, EnumerableFlag {
    case active, inactive

    static func help(for value: Visibility) -> ArgumentHelp? {
        switch value {
        case .active: "Put the product on sale."
        case .inactive: "Take the product off sale (it stays in the catalog)."
        }
    }
}

extension EcomCommand.Admin.Products {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List every product, including inactive and archived ones.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @OptionGroup var filter: SearchOption
        @OptionGroup(title: "Paging") var page: PageOptions

        func run() async throws {
            let client = try options.client()
            try await page.show(options.output, noun: "products") { request in
                let page = try await client.allProducts(search: filter.search, page: request)
                return Page(items: page.items.map(AdminProduct.init(product:)), nextCursor: page.nextCursor)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show one product, on sale or not, with its stock and state.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The product's id, the start of it (4 characters or more), or its SKU.", valueName: "product-id"), transform: ProductReference.parse) var id: ProductReference

        func run() async throws {
            let output = options.output
            let client = try options.client()
            let product = try await client.adminProduct(try await client.adminProductID(id))
            try output.show(AdminProduct(product: product))
            guard output.isTable else { return }
            if let threshold = product.lowStockThreshold {
                output.write("\nstock.low is announced when its stock falls below \(threshold) (its own threshold).\n")
            }
            if !product.description.isEmpty { output.write("\n\(product.description)\n") }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Add a product to the catalog.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Option(help: ArgumentHelp("The product's name.", valueName: "name")) var name: String
        @Option(parsing: .unconditional, help: ArgumentHelp("The price in dollars, like 19.99.", valueName: "price"), transform: Money.cents)
        var price: Int64
        @Option(help: ArgumentHelp("A unique stock-keeping unit (made from the id when omitted).", valueName: "sku")) var sku: String?
        @Option(help: ArgumentHelp("What the product is.", valueName: "text")) var description: String?
        @Option(parsing: .unconditional, help: ArgumentHelp("Units on hand at first.", valueName: "n")) var stock = 0
        @Option(
            parsing: .unconditional,
            help: ArgumentHelp("Announce stock.low when its available units fall below n (the store's threshold when omitted).", valueName: "n"))
        var lowStock: Int?
        @Flag var visibility: Visibility = .active

        func validate() throws {
            if name.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--name must not be empty") }
            if stock < 0 { throw ValidationError("--stock must be 0 or more, got \(stock)") }
            if let lowStock, lowStock < 0 { throw ValidationError("--low-stock must be 0 or more, got \(lowStock)") }
        }

        func run() async throws {
            let product = try await options.client().createProduct(
                ProductCreate(
                    sku: sku, name: name, description: description, priceCents: price, stock: stock, isActive: visibility == .active,
                    lowStockThreshold: lowStock))
            try options.output.show(AdminProduct(product: product))
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Change a product; what is not given stays as it is.",
            discussion: """
                To add or remove units with a reason in the stock ledger, use `ecom admin products stock`. \
                A deleted (archived) product cannot be put back on sale: --active is refused for it.
                """)

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The product's id, the start of it (4 characters or more), or its SKU.", valueName: "product-id"), completion: ServerValues.product.completion, transform: ProductReference.parse) var id: ProductReference
        @Option(help: ArgumentHelp("A new name.", valueName: "name")) var name: String?
        @Option(parsing: .unconditional, help: ArgumentHelp("A new price in dollars, like 19.99.", valueName: "price"), transform: Money.cents)
        var price: Int64?
        @Option(help: ArgumentHelp("A new SKU.", valueName: "sku")) var sku: String?
        @Option(help: ArgumentHelp("A new description.", valueName: "text")) var description: String?
        @Option(parsing: .unconditional, help: ArgumentHelp("Set the units on hand (not below what orders hold).", valueName: "n")) var stock: Int?
        @Option(
            parsing: .unconditional,
            help: ArgumentHelp(
                "Announce stock.low when its available units fall below n; `default` for the store's threshold.", valueName: "n|default"),
            transform: LowStockThreshold.parse)
        var lowStock: Clearable<Int>?
        @Flag var visibility: Visibility?

        var update: ProductUpdate {
            ProductUpdate(
                sku: sku, name: name, description: description, priceCents: price, stock: stock, isActive: visibility.map { $0 == .active },
                lowStockThreshold: lowStock)
        }

        func validate() throws {
            if update.isEmpty {
                throw ValidationError(
                    "nothing to change; give at least one of --name, --price, --sku, --description, --stock, --low-stock, --active, --inactive")
            }
            if let name, name.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--name must not be empty") }
            if let stock, stock < 0 { throw ValidationError("--stock must be 0 or more, got \(stock)") }
        }

        func run() async throws {
            let client = try options.client()
            try options.output.show(AdminProduct(product: try await client.updateProduct(try await client.adminProductID(id), update)))
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Archive a product: it leaves the catalog; past orders keep it.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The product's id, the start of it (4 characters or more), or its SKU.", valueName: "product-id"), completion: ServerValues.product.completion, transform: ProductReference.parse) var id: ProductReference
        @OptionGroup var confirmation: ConfirmationOptions

        func run() async throws {
            let client = try options.client()
            let id = try await client.adminProductID(id)
            guard await confirmation.confirm("Archive product \(id.lowercased.prefix(8))?") else { throw CommandFailure.cancelled }
            try await client.archiveProduct(id)
            options.output.showNoContent()
            options.output.message("Product \(id.lowercased.prefix(8)) archived.")
        }
    }

    struct Stock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stock",
            abstract: "Add or remove units, with a reason kept in the stock ledger.",
            discussion: "Examples: `--delta 50 --reason restock`, `--delta -2 --reason damaged`.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The product's id, the start of it (4 characters or more), or its SKU.", valueName: "product-id"), completion: ServerValues.product.completion, transform: ProductReference.parse) var id: ProductReference
        @Option(parsing: .unconditional, help: ArgumentHelp("Units to add (negative to remove).", valueName: "n")) var delta: Int
        @Option(help: ArgumentHelp("Why the stock changes.", valueName: "text")) var reason: String

        func validate() throws {
            if delta == 0 { throw ValidationError("--delta must not be 0") }
            if reason.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--reason must not be empty") }
        }

        func run() async throws {
            let client = try options.client()
            let id = try await client.adminProductID(id)
            try options.output.show(AdminProduct(product: try await client.adjustStock(id, StockAdjustment(delta: delta, reason: reason))))
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Create or update products from a catalog file, matched by SKU.",
            discussion: """
                The file holds {"products": [{"sku", "name", "description", "price_cents", \
                "stock", "is_active"}, ...]}, the format of fixtures/catalog.json. Products are \
                matched by sku, so importing the same file twice changes nothing.
                """)

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The catalog file, or - for standard input.", valueName: "file"), completion: .file(extensions: ["json"]))
        var file: String

        func run() async throws {
            let data: Data
            do {
                data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw CommandFailure("cannot read \(file): \(error.localizedDescription)")
            }
            let catalog: CatalogImport
            do {
                catalog = try JSONDecoder.ecom.decode(CatalogImport.self, from: data)
            } catch {
                throw CommandFailure("\(file): \(Self.describe(error)) (see `ecom admin products import --help`)")
            }
            if let index = catalog.products.firstIndex(where: { ($0.sku ?? "").isEmpty }) {
                throw CommandFailure("\(file): product \(index + 1) (\(catalog.products[index].name)) has no sku")
            }
            let output = options.output
            let result = try await options.client().importCatalog(catalog)
            try output.show(result)
            let products = catalog.products.count == 1 ? "1 product" : "\(catalog.products.count) products"
            output.message("Imported \(products): \(result.created) created, \(result.updated) updated, \(result.unchanged) unchanged.")
        }

        /// What is wrong with a catalog file, in the file's terms rather than the decoder's.
        static func describe(_ error: any Error) -> String {
            switch error {
            case DecodingError.keyNotFound(let key, let context) where context.codingPath.isEmpty:
                key.stringValue == "products" ? notACatalog : "missing \"\(key.stringValue)\""
            case DecodingError.typeMismatch(_, let context) where context.codingPath.count <= 1,
                DecodingError.valueNotFound(_, let context) where context.codingPath.count <= 1:
                notACatalog
            case DecodingError.keyNotFound(let key, let context):
                "missing \"\(key.stringValue)\" in \(path(context.codingPath))"
            case DecodingError.typeMismatch(let type, let context), DecodingError.valueNotFound(let type, let context):
                "\(path(context.codingPath)) must be \(kind(type))"
            case DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty:
                "not valid JSON"
            case DecodingError.dataCorrupted(let context):
                "\(path(context.codingPath)) is invalid: \(context.debugDescription)"
            default:
                "\(error.localizedDescription)"
            }
        }

        static let notACatalog = "expected a JSON object with a \"products\" array"

        private static func kind(_ type: Any.Type) -> String {
            switch type {
            case is String.Type: "a string"
            case is Bool.Type: "true or false"
            case is Int.Type, is Int64.Type, is Int32.Type: "a whole number"
            case is Double.Type: "a number"
            default: String(describing: type).hasPrefix("Array") ? "an array" : "an object"
            }
        }

        private static func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "the top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingPrefix(".").description
        }
    }
}
