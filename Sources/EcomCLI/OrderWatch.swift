import ArgumentParser
import EcomAPI
import EcomClient
import Foundation

extension EcomCommand.OrderCommand {
    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "watch",
            abstract: "Follow an order until it is delivered, rejected or cancelled.",
            discussion: """
                Prints the order's events so far, then each one as it happens: on a terminal one \
                line each, as `ecom listen` shows them, then the order; otherwise (or with --json) \
                the events' JSON, one per line. Exits 0 once the order is delivered or cancelled (or \
                has reached --until), 1 if it is rejected. An order that has already ended is shown \
                as `ecom order show` shows it. An admin may watch any order; anyone else their own.
                """)

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(
            help: ArgumentHelp("The order's id, or the start of it (4 characters or more).", valueName: "order-id"),
            completion: ServerValues.order.completion, transform: IDReference.parse)
        var id: IDReference
        @Option(help: ArgumentHelp("Stop once the order is confirmed, shipped or delivered, as named, or anything after it.", valueName: "status"))
        var until: OrderStatus?

        func validate() throws {
            if let until, !OrderProgress.chain.contains(until) || until == .pending {
                throw ValidationError("--until takes confirmed, shipped or delivered; an order ends rejected or cancelled on its own")
            }
        }

        func run() async throws {
            let client = try options.client()
            let output = options.output
            let printer = try EventPrinter(output: output, jq: options.jq)
            let id = try await client.orderID(id)
            let admin = try client.isAdmin
            let done = { (status: OrderStatus) in OrderProgress.isDone(status, until: until) }
            var order = try await admin ? client.adminOrder(id) : client.order(id)
            let followed = !done(order.status)
            if followed {
                StandardOutput.exitWhenReaderLeaves()
                _ = try await OrderProgress.follow(id, client: client, admin: admin, from: 0, printer: printer, until: done) { reason in
                    output.warning("event stream interrupted (\(reason)); reconnecting")
                }
                order = try await admin ? client.adminOrder(id) : client.order(id)
            }
            // The events said it all to a script; an order that had already ended is shown as it is.
            if !printer.asJSON || !followed { try EcomCommand.OrderCommand.show(order, output, explain: false) }
            if order.status == .rejected {
                output.error("Order \(order.id.lowercased.prefix(8)) was rejected: \(EcomCommand.OrderCommand.rejectionSummary(order))")
                throw ExitCode.failure
            }
        }
    }
}

/// Where an order stands in its life, and following it there through the event stream.
enum OrderProgress {
    /// The statuses an order goes through when all goes well, in order.
    static let chain: [OrderStatus] = [.pending, .confirmed, .shipped, .delivered]

    /// Whether an order in `status` has nothing more to wait for: it ended (delivered, rejected,
    /// cancelled), or reached `until` or a status after it.
    static func isDone(_ status: OrderStatus, until: OrderStatus?) -> Bool {
        switch status {
        case .rejected, .cancelled, .delivered: return true
        default:
            guard let until, let reached = chain.firstIndex(of: status), let wanted = chain.firstIndex(of: until) else { return false }
            return reached >= wanted
        }
    }

    /// The status an order event moves its order to.
    static func status(after type: String) -> OrderStatus? {
        switch type {
        case EventType.orderCreated: .pending
        case EventType.orderConfirmed: .confirmed
        case EventType.orderRejected: .rejected
        case EventType.orderCancelled: .cancelled
        case EventType.orderShipped: .shipped
        case EventType.orderDelivered: .delivered
        default: nil
        }
    }

    /// Reads the order's events from `from` (0: all the store keeps) until one brings it to a
    /// status `done` accepts, printing each with `printer`; returns that event.
    static func follow(
        _ id: UUID, client: GatewayClient, admin: Bool, from: Int64?, printer: EventPrinter?, until done: (OrderStatus) -> Bool,
        onReconnect: @escaping @Sendable (String) -> Void
    ) async throws -> StreamEvent? {
        let query = [URLQueryItem(name: "types", value: "order.*"), URLQueryItem(name: "order", value: id.lowercased)]
        let events = client.events(
            path: admin ? "/admin/events/stream" : "/api/events/stream", query: query, after: from, onReconnect: onReconnect)
        for try await event in events {
            try printer?.print(event)
            if let status = status(after: event.type), done(status) { return event }
        }
        return nil
    }

    /// `order` as `event`, one of its events, leaves it: its status and the time it changed, and
    /// for a rejection the reason and lines the event names. Nil for an event that changes no status.
    static func order(_ order: EcomAPI.Order, after event: StreamEvent) -> EcomAPI.Order? {
        struct Envelope<Payload: Decodable>: Decodable {
            var occurredAt: Date
            var data: Payload
            enum CodingKeys: String, CodingKey {
                case data
                case occurredAt = "occurred_at"
            }
        }
        struct Reason: Decodable {
            var reason: String?
        }
        guard let status = status(after: event.type) else { return nil }
        let json = Data(event.json.utf8)
        var order = order
        order.status = status
        if status == .rejected, let rejected = try? JSONDecoder.ecom.decode(Envelope<OrderRejected>.self, from: json) {
            order.updatedAt = rejected.occurredAt
            order.reason = rejected.data.reason
            order.rejection = OrderRejection(reason: rejected.data.reason, lines: rejected.data.lines)
        } else if let changed = try? JSONDecoder.ecom.decode(Envelope<Reason>.self, from: json) {
            order.updatedAt = changed.occurredAt
            if let reason = changed.data.reason { order.reason = reason }
        }
        return order
    }
}
