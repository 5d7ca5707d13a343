import ArgumentParser
import EcomAPI
import EcomClient
import Foundation

extension EcomCommand.Admin {
    struct Orders: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "orders",
            abstract: "Follow every customer's orders and move them through shipping.",
            subcommands: [List.self, Ship.self, Deliver.self])
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
            try await page.show(options.output, noun: "orders") { try await client.allOrders(status: status, page: $0) }
        }
    }

    struct Ship: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ship", abstract: "Mark a confirmed order shipped.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The order's id.", valueName: "order-id"), completion: ServerValues.order.completion) var id: UUID

        func run() async throws {
            try options.output.show(try await options.client().shipOrder(id))
        }
    }

    struct Deliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "deliver", abstract: "Mark a shipped order delivered.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The order's id.", valueName: "order-id"), completion: ServerValues.order.completion) var id: UUID

        func run() async throws {
            try options.output.show(try await options.client().deliverOrder(id))
        }
    }
}
