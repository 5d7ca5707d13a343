import ArgumentParser
import EcomMessaging
import EcomServer
import Foundation

extension EcomCommand.Admin {
    struct DeadLetters: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dead-letters",
            abstract: "See, replay or discard what RabbitMQ's dead-letter queue holds.",
            discussion: """
                These talk to the broker, not to the gateway: give its URL with --amqp-url or \
                RABBITMQ_URL (ECOM_AMQP_URL), as to 'ecom serve'; for an amqps:// broker whose \
                certificate a private authority signed, ECOM_TLS_CA names its PEM file. The queue ecom.dead-letter holds \
                messages a service refused as not being events, and, with quorum queues, messages \
                delivered more often than the delivery limit allows. Replaying publishes a message \
                again to the events exchange with its routing key and id; services that already \
                applied that event drop the copy.
                """,
            subcommands: [List.self, Replay.self, Discard.self])
    }
}

/// `--amqp-url` of the dead-letter commands.
struct BrokerOptions: ParsableArguments {
    @Option(
        name: .customLong("amqp-url"),
        help: ArgumentHelp("The broker's URL, a cluster's nodes as URL,URL… (default: $RABBITMQ_URL).", valueName: "url"))
    var amqpURL: String?

    private var url: String? { amqpURL ?? EnvironmentVariable.amqpURL.value(in: ProcessInfo.processInfo.environment) }
    private var authorities: String? { EnvironmentVariable.tlsAuthority.value(in: ProcessInfo.processInfo.environment) }

    func validate() throws {
        guard let url else { throw ValidationError("no broker: give --amqp-url or set RABBITMQ_URL") }
        do {
            _ = try DeadLetterQueue(urls: url, authorities: authorities)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func queue() throws -> DeadLetterQueue { try DeadLetterQueue(urls: url ?? "", authorities: authorities) }

    /// Runs `decide` over the queue's messages; a broker failure becomes `BrokerFailure`.
    func process(limit: Int, _ decide: @escaping @Sendable (DeadLetter) -> DeadLetterQueue.Action) async throws -> [(DeadLetter, DeadLetterQueue.Action)] {
        let queue = try queue()
        do {
            return try await queue.process(limit: limit, decide)
        } catch {
            throw BrokerFailure(message: "\(error)")
        }
    }
}

/// The broker could not be reached or refused what was asked (exit status 69, as an unreachable
/// store), or a message asked for is not in the queue (1).
struct BrokerFailure: LocalizedError {
    var message: String
    var exitStatus: Int32 = 69
    var errorDescription: String? { message }
}

extension EcomCommand.Admin.DeadLetters {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the dead letters, oldest first; they stay in the queue.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @OptionGroup(title: "Broker") var broker: BrokerOptions
        @Option(help: ArgumentHelp("List at most this many (default: 100).", valueName: "n")) var limit = 100

        func validate() throws {
            guard (1...65_535).contains(limit) else { throw ValidationError("--limit must be 1 to 65535") }
        }

        func run() async throws {
            let letters = try await broker.process(limit: limit) { _ in .keep }
            try options.output.show(letters.map(\.0), noun: "dead letters")
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay", abstract: "Publish dead letters again to the events exchange, then take them out of the queue.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @OptionGroup(title: "Broker") var broker: BrokerOptions
        @OptionGroup var selection: DeadLetterSelection

        func run() async throws { try await selection.run(.replay, verb: "Replayed", options: options, broker: broker) }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "discard", abstract: "Take dead letters out of the queue for good.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @OptionGroup(title: "Broker") var broker: BrokerOptions
        @OptionGroup var selection: DeadLetterSelection

        func run() async throws { try await selection.run(.discard, verb: "Discarded", options: options, broker: broker) }
    }
}

/// The messages a replay or a discard acts on: those of the ids given, or all.
struct DeadLetterSelection: ParsableArguments {
    @Argument(help: ArgumentHelp("The ids of the messages (as 'list' shows them).", valueName: "id")) var ids: [String] = []
    @Flag(help: "Every dead letter.") var all = false

    func validate() throws {
        if ids.isEmpty != all { throw ValidationError(all ? "give ids or --all, not both" : "give the ids of the messages, or --all") }
    }

    func run(_ action: DeadLetterQueue.Action, verb: String, options: GlobalOptions, broker: BrokerOptions) async throws {
        let wanted = Set(ids)
        let processed = try await broker.process(limit: 65_535) { [all] letter in all || wanted.contains(letter.id) ? action : .keep }
        let done = processed.filter { $0.1 == action }.map(\.0)
        let output = options.output
        try output.show(done, noun: "dead letters")
        output.message("\(verb) \(done.count) dead letter\(done.count == 1 ? "" : "s").")
        let missing = wanted.subtracting(done.map(\.id))
        if !missing.isEmpty {
            throw BrokerFailure(message: "no dead letter with id \(missing.sorted().joined(separator: ", "))", exitStatus: 1)
        }
    }
}

extension DeadLetter: Tabular {
    static let headers = ["ID", "ROUTING KEY", "QUEUE", "REASON", "BODY"]
    var cells: [Cell] {
        [.text(id), .text(routingKey), .text(queue ?? ""), .text(reason ?? ""), .text(body.replacingOccurrences(of: "\n", with: " "))]
    }
}
