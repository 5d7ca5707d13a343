import ArgumentParser
import EcomAPI
import EcomClient
import Foundation

extension EcomCommand {
    struct OrderCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "order",
            abstract: "Check out and follow your orders.",
            subcommands: [Create.self, List.self, Show.self, Watch.self, Cancel.self],
            aliases: ["orders"])
    }
}

extension EcomCommand.OrderCommand {
    /// Prints an order: its row, and on a terminal its lines.
    /// Prints an order and, on a terminal, its lines; a rejected order's lines that could not be
    /// reserved follow, and with `explain` a sentence naming them on standard error.
    static func show(_ order: EcomAPI.Order, _ output: Output, explain: Bool = true) throws {
        try output.show(order)
        output.showDetail(Table(order.items))
        output.showDetail(Table(order.rejection?.lines ?? []))
        if explain, order.status == .rejected { output.message("Rejected: \(rejectionSummary(order)).") }
    }

    /// Why an order was rejected, in words: the reason and the products that could not be reserved.
    static func rejectionSummary(_ order: EcomAPI.Order) -> String {
        let reason = order.rejection?.reason ?? order.reason ?? "no reason given"
        let lines = (order.rejection?.lines ?? []).map { line in
            let name = line.name ?? line.productID.lowercased
            return if let available = line.available {
                "\(name) (\(line.requested) wanted, \(available) available)"
            } else {
                "\(name) (\(line.requested) wanted)"
            }
        }
        guard !lines.isEmpty else { return reason }
        let what = reason == "timeout" ? "stock was not reserved in time for" : "could not reserve"
        return "\(reason); \(what) \(lines.joined(separator: ", ")); the order's lines go back to your cart"
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Check out the cart as an order.",
            discussion: """
                The order starts pending while stock is reserved. By default the command waits \
                (at most --wait-timeout seconds) until it is confirmed (exit 0) or rejected \
                (exit 1, with the reason); an order still pending then, or whose status a busy store \
                cannot tell, exits 75. Every run sends \
                an idempotency key (random unless --idempotency-key is given), so a request the \
                network repeats never makes a second order; reuse a key to get the same order back.
                """)

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Flag(help: "Return as soon as the order is placed, while it is still pending.")
        var noWait = false
        @Option(parsing: .unconditional, help: ArgumentHelp("Seconds to wait for the order to leave pending.", valueName: "seconds"))
        var waitTimeout = 30
        @Option(help: ArgumentHelp("A key naming this checkout; repeating it returns the same order.", valueName: "key"))
        var idempotencyKey: String?

        func validate() throws {
            guard (1...3600).contains(waitTimeout) else { throw ValidationError("--wait-timeout must be between 1 and 3600 seconds, got \(waitTimeout)") }
            if let idempotencyKey {
                guard (1...255).contains(idempotencyKey.utf8.count), idempotencyKey.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
                else { throw ValidationError("--idempotency-key must be 1 to 255 visible ASCII characters") }
            }
        }

        func run() async throws {
            let output = options.output
            let client = try options.client()
            let key = idempotencyKey ?? UUID().lowercased
            let placed: (order: EcomAPI.Order, created: Bool)
            let mayStand =
                "the order may still be placed: look for it with `ecom order list`, or run again with "
                + "--idempotency-key \(key) to get it without ordering twice"
            do {
                placed = try await InterruptNotice.during("\nwarning: \(mayStand)\n") {
                    try await client.createOrder(idempotencyKey: key)
                }
            } catch ClientError.unreachable(let server, let reason) {
                output.warning("the order may have been placed; run again with --idempotency-key \(key) to find out without ordering twice")
                throw ClientError.unreachable(server: server, reason: reason)
            } catch is CancellationError {
                output.warning(mayStand)
                throw CancellationError()
            }
            var order = placed.order
            let name = "Order \(order.id.lowercased.prefix(8))"
            if !placed.created {
                output.message("\(name) was already placed by this checkout (same --idempotency-key or unchanged cart); nothing new was ordered.")
            }
            if order.status == .pending && !noWait {
                output.message("\(name) placed; waiting for stock to be reserved…")
                do {
                    order = try await wait(for: order, client: client)
                } catch where Task.isCancelled {
                    // Interrupted (Ctrl-C in the REPL): the order stands; only the wait ends.
                    output.message("Stopped waiting; follow \(name) with `\(Self.follow(order))`.")
                    throw CancellationError()
                } catch let error as ClientError where error.isTransient {
                    output.error(
                        "\(name) is placed, but the store stayed too busy to say how it stands (\(error.localizedDescription)); "
                            + "follow it with `ecom order show \(order.id.lowercased)`")
                    throw ExitCode(75)
                } catch ClientError.unreachable(let server, let reason) {
                    output.warning("\(name) is placed; once the server answers, follow it with `ecom order show \(order.id.lowercased)`")
                    throw ClientError.unreachable(server: server, reason: reason)
                }
            }
            try EcomCommand.OrderCommand.show(order, output, explain: false)
            switch order.status {
            case .pending where noWait:
                output.message("\(name) is pending; follow it with `\(Self.follow(order))`.")
            case .pending:
                output.error("\(name) is still pending after \(waitTimeout)s; follow it with `\(Self.follow(order))`")
                throw ExitCode(75)
            case .rejected:
                output.error("\(name) was rejected: \(EcomCommand.OrderCommand.rejectionSummary(order))")
                throw ExitCode.failure
            case .confirmed:
                output.message("\(name) confirmed: \(Money.format(order.totalCents)).")
            case .cancelled, .shipped, .delivered:
                output.message("\(name) is \(order.status.rawValue).")
            }
        }

        /// The command that follows a pending order as far as the checkout waits: it exits 0 once
        /// the order is confirmed, 1 if it is rejected.
        static func follow(_ order: EcomAPI.Order) -> String {
            "ecom order watch \(order.id.lowercased) --until confirmed"
        }

        /// Waits until the order leaves `pending` or the wait runs out: its events say so at once;
        /// a read of the order every two seconds covers a store that streams no events. The order
        /// stands whatever the wait meets, so a busy answer is read again rather than reported as
        /// a failed checkout; and once its events have said how it stands, a store that stays busy
        /// gets a shorter patience, then the order is shown as those events left it.
        private func wait(for order: EcomAPI.Order, client: GatewayClient) async throws -> EcomAPI.Order {
            let id = order.id
            let admin = try client.isAdmin
            let seconds = waitTimeout
            let settling = try await withThrowingTaskGroup(of: StreamEvent?.self) { group in
                group.addTask {
                    do {
                        // From the start of the order's events: one that came before the stream opened counts too.
                        return try await OrderProgress.follow(id, client: client, admin: admin, from: 0, printer: nil, until: \.isSettled) { _ in }
                    } catch is ClientError {
                        // A store without event streams: the reads below decide.
                        try await Task.sleep(for: .seconds(seconds))
                        return nil
                    }
                }
                group.addTask {
                    // Each read outlasts the wait, so a busy store never ends it: the timer below does.
                    while try await Self.read(id, client: client, within: .seconds(seconds + 2)).status == .pending {
                        try await Task.sleep(for: .seconds(2))
                    }
                    return nil
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(seconds))
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first
            }
            guard let settling, let settled = OrderProgress.order(order, after: settling) else {
                return try await Self.read(id, client: client, within: Self.busyPatience)
            }
            do {
                return try await Self.read(id, client: client, within: Self.settledPatience)
            } catch let error as ClientError where error.isTransient {
                return settled
            }
        }

        /// How long the last read of a placed order keeps asking a busy store.
        static let busyPatience: Duration = .seconds(15)
        /// The same, once the order's events have said how it stands.
        static let settledPatience: Duration = .seconds(3)

        /// The order, asked for again each second while the store answers busy (`isTransient`),
        /// until `patience` has passed; then the busy answer is thrown.
        private static func read(_ id: UUID, client: GatewayClient, within patience: Duration) async throws -> EcomAPI.Order {
            let deadline = ContinuousClock.now + patience
            while true {
                do {
                    return try await client.order(id)
                } catch let error as ClientError where error.isTransient && ContinuousClock.now + .seconds(1) < deadline {
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List your orders, newest first.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Option(help: ArgumentHelp("Only orders in this status.", valueName: "status")) var status: OrderStatus?
        @OptionGroup(title: "Paging") var page: PageOptions

        func run() async throws {
            let client = try options.client()
            try await page.show(options.output, noun: "orders") { try await client.orders(status: status, page: $0) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one of your orders and its lines.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The order's id, or the start of it (4 characters or more).", valueName: "order-id"), completion: ServerValues.order.completion, transform: IDReference.parse) var id: IDReference

        func run() async throws {
            let client = try options.client()
            try EcomCommand.OrderCommand.show(try await client.order(try await client.orderID(id)), options.output)
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel",
            abstract: "Cancel a pending or confirmed order; its stock goes back on sale.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The order's id, or the start of it (4 characters or more).", valueName: "order-id"), completion: ServerValues.order.completion, transform: IDReference.parse) var id: IDReference
        @OptionGroup var confirmation: ConfirmationOptions

        func run() async throws {
            let client = try options.client()
            let id = try await client.orderID(id)
            guard await confirmation.confirm("Cancel order \(id.lowercased.prefix(8))?") else { throw CommandFailure.cancelled }
            let order = try await client.cancelOrder(id)
            try EcomCommand.OrderCommand.show(order, options.output)
            options.output.message("Order \(order.id.lowercased.prefix(8)) cancelled.")
        }
    }
}
