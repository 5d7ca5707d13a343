import ArgumentParser

extension EcomCommand {
    struct Admin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "admin",
            abstract: "Run the store: catalog, orders, accounts and parked events (admins only).",
            subcommands: [Products.self, Orders.self, Users.self, Events.self, DeadLetters.self, Webhooks.self])
    }
}
