import ArgumentParser
import EcomAPI
import EcomClient
import Foundation

extension EcomCommand {
    struct Products: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "products",
            abstract: "Browse the catalog.",
            subcommands: [List.self, Show.self],
            aliases: ["product"])
    }
}

extension EcomCommand.Products {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the products on sale.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @OptionGroup var filter: SearchOption
        @OptionGroup(title: "Paging") var page: PageOptions

        func run() async throws {
            let client = try options.client()
            try await page.show(options.output, noun: "products") { try await client.products(search: filter.search, page: $0) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one product.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The product's id, the start of it (4 characters or more), or its SKU.", valueName: "product-id"), completion: ServerValues.product.completion, transform: ProductReference.parse) var id: ProductReference

        func run() async throws {
            let output = options.output
            let client = try options.client()
            let product = try await client.product(try await client.productID(id))
            try output.show(product)
            if output.isTable, !product.description.isEmpty { output.write("\n\(product.description)\n") }
        }
    }
}
