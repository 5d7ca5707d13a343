import ArgumentParser
import EcomAPI
import EcomClient
import Foundation

extension EcomCommand.Admin {
    struct Orders: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "orders",
            abstract: "Follow every customer's orders and move them through shipping.",
            subcommands: [List.self, Show.self, Ship.self, Deliver.self])
    }
}

/// An order as admins see it: whose it is, beside what a customer sees of their own.
struct AdminOrder: Tabular, Codable, Sendable {
    var order: Order

    init(_ order: Order) {
        self.order = order
    }

    init(from decoder: any Decoder) throws {
        order = try Order(from: decoder)
    }

    static let headers = ["ID", "CUSTOMER", "STATUS", "TOTAL", "ITEMS", "CREATED", "REASON"]
    var cells: [Cell] {
        var cells = order.cells
        cells.insert(.id(order.userID), at: 1)
        return cells
    }

    func encode(to encoder: any Encoder) throws {
        try order.encode(to: encoder)
    }
}

extension EcomCommand.Admin.Orders {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List all orders, newest first.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Option(help: ArgumentHelp("Only orders in this status.", valueName: "status")) var status: OrderStatus?
        @OptionGroup(title: "Paging") var page: PageOptions

        func run() async throws {
            let client = try options.client()
            try await page.show(options.output, noun: "orders") { request in
                let page = try await client.allOrders(status: status, page: request)
                return Page(items: page.items.map(AdminOrder.init), nextCursor: page.nextCursor)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show any customer's order, its lines and the customer's account.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The order's id, or the start of it (4 characters or more).", valueName: "order-id"), transform: IDReference.parse)
        var id: IDReference

        func run() async throws {
            let output = options.output
            let client = try options.client()
            let order = try await client.adminOrder(try await client.adminOrderID(id))
            try output.show(AdminOrder(order))
            output.showDetail(Table(order.items))
            guard output.isTable else { return }
            // The orders service knows only the account's id; the users service has its email.
            let customer = (try? await client.adminUser(order.userID)).map { "\($0.email) (\($0.id.lowercased))" } ?? order.userID.lowercased
            output.write("\nCustomer: \(customer)\n")
        }
    }

    struct Ship: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ship", abstract: "Mark a confirmed order shipped.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The order's id, or the start of it (4 characters or more).", valueName: "order-id"), completion: ServerValues.order.completion, transform: IDReference.parse)
        var id: IDReference

        func run() async throws {
            let client = try options.client()
            try options.output.show(AdminOrder(try await client.shipOrder(try await client.adminOrderID(id))))
        }
    }

    struct Deliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "deliver", abstract: "Mark a shipped order delivered.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The order's id, or the start of it (4 characters or more).", valueName: "order-id"), completion: ServerValues.order.completion, transform: IDReference.parse)
        var id: IDReference

        func run() async throws {
            let client = try options.client()
            try options.output.show(AdminOrder(try await client.deliverOrder(try await client.adminOrderID(id))))
        }
    }
}
