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
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List parked events: of one service, or of every service.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The service that parked them (default: every service).", valueName: "service"))
        var service: EventService?
        @OptionGroup(title: "Paging") var page: PageOptions

        func validate() throws {
            // A cursor belongs to one service's list.
            if service == nil, page.cursor != nil { throw ValidationError("--cursor needs the service whose list it continues") }
        }

        func run() async throws {
            let output = options.output
            let client = try options.client()
            var events: [ParkedEvent] = []
            var more: [(EventService, String)] = []
            for service in service.map({ [$0] }) ?? EventService.allCases {
                let (items, next) = try await page.collect { try await client.parkedEvents(service, page: $0) }
                events += items
                if let next { more.append((service, next)) }
            }
            try output.show(events, noun: "parked events")
            if self.service != nil, let (_, next) = more.first { return output.nextCursor(next) }
            for (service, next) in more {
                output.message("More parked events in \(service.rawValue): ecom admin events list \(service.rawValue) --cursor \(next)")
            }
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

