import ArgumentParser
import EcomAPI
import EcomClient
import Foundation

extension EcomCommand {
    struct CartCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cart",
            abstract: "Fill and empty your cart.",
            subcommands: [Show.self, Add.self, Set.self, Remove.self, Clear.self])
    }
}

extension EcomCommand.CartCommand {
    /// Validates a line quantity as the server will.
    static func checkQuantity(_ quantity: Int, named name: String) throws {
        if quantity < 1 { throw ValidationError("\(name) must be at least 1, got \(quantity)") }
        if quantity > CartLimits.maximumQuantity {
            throw ValidationError("\(name) must be at most \(CartLimits.maximumQuantity), got \(quantity)")
        }
    }

    /// Prints a cart: its lines, and on a terminal its total.
    static func show(_ cart: EcomAPI.Cart, _ output: Output) throws {
        if output.isJSON { return output.write(try output.json(cart)) }
        if cart.items.isEmpty {
            if output.isTable { output.message("Your cart is empty.") }
            return
        }
        output.write(output.render(Table(cart.items)))
        if output.isTable {
            let units = cart.itemCount == 1 ? "1 item" : "\(cart.itemCount) items"
            output.write("\nTotal \(Money.format(cart.totalCents)) for \(units)\n")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show the cart's lines and total.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions

        func run() async throws {
            try EcomCommand.CartCommand.show(try await options.client().cart(), options.output)
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Put a product in the cart.",
            discussion: "Adding a product already in the cart adds to its line's quantity.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The product's id, the start of it (4 characters or more), or its SKU.", valueName: "product-id"), completion: ServerValues.product.completion, transform: ProductReference.parse) var productID: ProductReference
        @Option(parsing: .unconditional, help: ArgumentHelp("How many units.", valueName: "n")) var quantity = 1

        func validate() throws {
            try EcomCommand.CartCommand.checkQuantity(quantity, named: "--quantity")
        }

        func run() async throws {
            let client = try options.client()
            let added = try await client.addToCart(productID: try await client.productID(productID), quantity: quantity)
            // JSON readers get `line_id` beside the cart's fields; the table already lists the line.
            if options.output.isJSON { return options.output.write(try options.output.json(added)) }
            try EcomCommand.CartCommand.show(added.cart, options.output)
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Change the quantity of a cart line.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The line's id (LINE in `ecom cart show`), or the start of it.", valueName: "line-id"), completion: ServerValues.cartLine.completion, transform: IDReference.parse) var lineID: IDReference
        @Argument(help: ArgumentHelp("The new quantity.", valueName: "quantity")) var quantity: Int

        func validate() throws {
            try EcomCommand.CartCommand.checkQuantity(quantity, named: "quantity")
        }

        func run() async throws {
            let client = try options.client()
            let cart = try await client.setCartLine(try await client.cartLineID(lineID), quantity: quantity)
            try EcomCommand.CartCommand.show(cart, options.output)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Take a line out of the cart.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The line's id (LINE in `ecom cart show`), or the start of it.", valueName: "line-id"), completion: ServerValues.cartLine.completion, transform: IDReference.parse) var lineID: IDReference

        func run() async throws {
            let client = try options.client()
            let cart = try await client.removeCartLine(try await client.cartLineID(lineID))
            try EcomCommand.CartCommand.show(cart, options.output)
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "clear", abstract: "Empty the cart.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @OptionGroup var confirmation: ConfirmationOptions

        func run() async throws {
            guard await confirmation.confirm("Remove every line from your cart?") else { throw CommandFailure.cancelled }
            try await options.client().clearCart()
            options.output.showNoContent()
            options.output.message("Cart emptied.")
        }
    }
}
