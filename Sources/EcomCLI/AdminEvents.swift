import ArgumentParser
import EcomAPI
import EcomClient
import Foundation

extension EcomCommand.Admin {
    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "events",
            abstract: "See and retry events a service stopped retrying (parked).",
            subcommands: [List.self, Retry.self])
    }
}

extension EcomCommand.Admin.Events {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List a service's parked events.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The service that parked them.", valueName: "service")) var service: EventService
        @OptionGroup(title: "Paging") var page: PageOptions

        func run() async throws {
            let client = try options.client()
            try await page.show(options.output, noun: "parked events") { try await client.parkedEvents(service, page: $0) }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "retry", abstract: "Deliver a parked event to its service again.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The service that parked it.", valueName: "service")) var service: EventService
        @Argument(help: ArgumentHelp("The event's id.", valueName: "event-id")) var id: UUID

        func run() async throws {
            try await options.client().retryEvent(service, id)
            options.output.message("Event \(id.lowercased.prefix(8)) queued for another attempt.")
        }
    }
}
