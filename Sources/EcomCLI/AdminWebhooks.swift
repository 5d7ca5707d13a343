import ArgumentParser
import EcomAPI
import EcomClient
import Foundation

extension EcomCommand.Admin {
    struct Webhooks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "webhooks",
            abstract: "Send store events to your endpoints, signed and retried.",
            discussion: """
                Each delivery is a POST of the event's JSON with Ecom-Event-Id, Ecom-Event-Type and \
                Ecom-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the \
                endpoint's secret>. An endpoint answers 2xx within 10 seconds, or the delivery is \
                retried (after 1 minute, doubling up to 6 hours, for 3 days); deliveries to one \
                endpoint go in order, and 20 failed attempts in a row disable it. Endpoints are \
                https:// unless the server allows plain http (ECOM_WEBHOOK_ALLOW_INSECURE=1).
                """,
            subcommands: [Add.self, List.self, Show.self, Disable.self, Enable.self, Delete.self, Test.self, Deliveries.self, RotateSecret.self],
            aliases: ["webhook"])
    }
}

/// The endpoint an argument names: its whole id, or the start of one of the endpoints.
struct WebhookArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The endpoint's id, or the start of it (4 characters or more).", valueName: "endpoint-id"), transform: IDReference.parse)
    var id: IDReference

    func resolve(_ client: GatewayClient) async throws -> UUID {
        try await id.resolve(
            "webhook endpoint",
            find: { match, _ in
                // Endpoints are few, and listed whole: the prefix is matched here.
                let all = try await client.webhooks().items
                return Page(items: all.filter { $0.id.lowercased.filter { $0 != "-" }.hasPrefix(match.idPrefix ?? "") }, nextCursor: nil)
            }, id: \.id, label: \.url)
    }

    /// Disables or enables the endpoint and shows it.
    func switchDeliveries(on enabled: Bool, _ options: GlobalOptions) async throws {
        let client = try options.client()
        try options.output.show(try await client.updateWebhook(try await resolve(client), WebhookUpdate(enabled: enabled)))
    }
}

extension EcomCommand.Admin.Webhooks {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add an endpoint; its signing secret is shown once.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("Where to POST events (https://…).", valueName: "url")) var url: String
        @Option(
            parsing: .upToNextOption,
            help: ArgumentHelp("Only these event types or patterns (order.*, stock.low, #); all by default.", valueName: "pattern"),
            completion: .list(EventTypes.patterns))
        var types: [String] = []

        func validate() throws {
            for pattern in EventTypes.split(types) where !EventTypePattern.isValid(pattern) {
                throw ValidationError("--types: '\(pattern)' is not an event type or pattern, like order.created, order.* or stock.#")
            }
        }

        func run() async throws {
            let endpoint = try await options.client().addWebhook(WebhookCreate(url: url, types: EventTypes.split(types)))
            try options.output.show(endpoint)
            if let secret = endpoint.secret, !options.output.isJSON {
                options.output.notice("Signing secret, shown this once (receivers check deliveries with it): \(secret)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the endpoints.")
        @OptionGroup(title: "Global Options") var options: GlobalOptions

        func run() async throws {
            try options.output.show(try await options.client().webhooks().items, noun: "webhook endpoints")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one endpoint.")
        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @OptionGroup var endpoint: WebhookArgument

        func run() async throws {
            let client = try options.client()
            try options.output.show(try await client.webhook(try await endpoint.resolve(client)))
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disable", abstract: "Stop deliveries to an endpoint; its events wait until it is enabled.")
        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @OptionGroup var endpoint: WebhookArgument

        func run() async throws {
            try await endpoint.switchDeliveries(on: false, options)
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enable", abstract: "Resume deliveries to an endpoint, its failure count cleared.")
        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @OptionGroup var endpoint: WebhookArgument

        func run() async throws {
            try await endpoint.switchDeliveries(on: true, options)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete an endpoint and its delivery log.")
        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @OptionGroup var endpoint: WebhookArgument
        @OptionGroup var confirmation: ConfirmationOptions

        func run() async throws {
            let client = try options.client()
            let id = try await endpoint.resolve(client)
            guard await confirmation.confirm("Delete webhook endpoint \(id.lowercased.prefix(8))?") else { throw CommandFailure.cancelled }
            try await client.deleteWebhook(id)
            options.output.message("Webhook endpoint \(id.lowercased.prefix(8)) deleted.")
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test", abstract: "Send an endpoint a webhook.test event; see it with `deliveries`.")
        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @OptionGroup var endpoint: WebhookArgument

        func run() async throws {
            let client = try options.client()
            let id = try await endpoint.resolve(client)
            try options.output.show(try await client.testWebhook(id))
            options.output.message("Queued; `ecom admin webhooks deliveries \(id.lowercased.prefix(8))` shows how it went.")
        }
    }

    struct Deliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deliveries", abstract: "An endpoint's delivery log, newest first: attempts, status, time.")
        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @OptionGroup var endpoint: WebhookArgument
        @OptionGroup(title: "Paging") var page: PageOptions

        func run() async throws {
            let client = try options.client()
            let id = try await endpoint.resolve(client)
            try await page.show(options.output, noun: "deliveries") { try await client.webhookDeliveries(id, page: $0) }
        }
    }

    struct RotateSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-secret", abstract: "Give an endpoint a new secret; the old one still signs for 24 hours.")
        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @OptionGroup var endpoint: WebhookArgument

        func run() async throws {
            let client = try options.client()
            let rotated = try await client.rotateWebhookSecret(try await endpoint.resolve(client))
            try options.output.show(rotated)
            if let secret = rotated.secret, !options.output.isJSON {
                options.output.notice("New signing secret, shown this once (the old one signs too for 24 hours): \(secret)")
            }
        }
    }
}
