import EcomAPI
import EcomMessaging
import EcomPostgres
import Foundation
import Logging

/// The products side of the checkout saga (DESIGN §6.2, §6.4): reserves an order's stock on
/// `order.created`, releases it on `order.cancelled`, consumes it on `order.shipped`, and answers
/// `stock.reserved` or `stock.rejected`.
///
/// A reservation holds units (`held`) without taking them off hand (`on_hand`); what can be
/// reserved is `on_hand - held`. Releasing gives the held units back; shipping takes them off
/// hand too, with a ledger row, so the ledger always sums to the units on hand.
///
/// Every handler of an order first locks or inserts that order's `reservations` row, so the two
/// events of one order serialize and their arrival order does not matter; products are then locked
/// in id order, so two orders over the same products cannot deadlock. Everything runs in the
/// transaction the event bus opened, which also records the event as processed.
struct StockReservations: Sendable {
    /// What an `order.created` led to.
    enum Outcome: Equatable {
        case reserved
        /// `productID` is the first line that stopped the order, in id order; `lines` names every
        /// line that could not be reserved, with what it asked for and what was available.
        case rejected(reason: String, productID: UUID?, lines: [RejectedLine] = [])
        /// The order already has its answer: a redelivery, or a second event for the same order.
        case alreadyDecided
    }

    /// What an `order.cancelled` led to.
    enum Release: Equatable {
        case released
        /// The cancel came first: a later `order.created` reserves nothing.
        case cancelledBeforeReserved
        case nothingHeld
    }

    /// What an `order.shipped` led to.
    enum Shipment: Equatable {
        case consumed
        /// The ship came first, which only a lost or very late `order.created` allows: the order is
        /// past pending, so that `order.created` then reserves nothing and needs no answer.
        case shippedBeforeReserved
        /// Released, rejected, or shipped already.
        case nothingHeld
    }

    /// An event that cannot be applied however often it is retried; the bus parks it for an admin.
    struct ReservationFailure: Error, CustomStringConvertible {
        var description: String
    }

    static let insufficientStock = "insufficient_stock"
    static let productUnavailable = "product_unavailable"
    static let orderCancelled = "order_cancelled"

    let logger: Logger
    /// Told, once the handler's transaction has committed, which products' stock it changed, and
    /// how a reservation left them.
    var catalog = CatalogUpdates()
    /// The `stock.changed` and `stock.low` events of reservations and releases.
    var events = ProductEvents()

    /// The bus's `EventHandler`.
    func handle(_ delivery: Delivery, on connection: SQLConnection) throws {
        // Every statement below finds its rows by key, most of them through arrays of ids.
        try connection.useGenericPlans()
        var metadata: Logger.Metadata = ["event": "\(delivery.header.type)", "request_id": "\(delivery.header.requestID ?? "-")"]
        switch delivery.header.type {
        case EventType.orderCreated:
            let order = try delivery.decode(OrderCreated.self).data
            metadata["order_id"] = "\(order.orderID.lowercased)"
            let requestID = delivery.header.requestID
            let (outcome, products) = try Self.reserve(order, on: connection) { moves in
                let reserved = try Outbox.encode(
                    Event(type: EventType.stockReserved, requestID: requestID, data: StockReserved(orderID: order.orderID)))
                return [reserved] + (try events.stock(moves, cause: "reservation", orderID: order.orderID, requestID: requestID))
            }
            switch outcome {
            case .reserved:
                // The products' rows stay locked until the commit, hence the ticket now.
                let ticket = catalog.ticket()
                connection.afterCommit { [catalog] in catalog.refilled(products, ticket) }
                metadata["outcome"] = "reserved"
            case .rejected(let reason, let productID, let lines):
                try Outbox.enqueue(
                    Event(
                        type: EventType.stockRejected, requestID: delivery.header.requestID,
                        data: StockRejected(orderID: order.orderID, reason: reason, productID: productID, lines: lines)),
                    on: connection)
                metadata["outcome"] = "rejected"
                metadata["reason"] = "\(reason)"
                if let productID { metadata["product_id"] = "\(productID.lowercased)" }
            case .alreadyDecided:
                metadata["outcome"] = "already decided"
            }
        case EventType.orderCancelled:
            let cancel = try delivery.decode(OrderCancelled.self).data
            metadata["order_id"] = "\(cancel.orderID.lowercased)"
            let (release, moves) = try Self.releaseReporting(orderID: cancel.orderID, on: connection)
            if release == .released {
                stockChanged(Set(moves.map(\.productID)), on: connection)
                try Outbox.enqueue(
                    try events.stock(moves, cause: "release", orderID: cancel.orderID, requestID: delivery.header.requestID), on: connection)
            }
            metadata["outcome"] = switch release {
            case .released: "released"
            case .cancelledBeforeReserved: "cancelled before reserved"
            case .nothingHeld: "nothing held"
            }
        case EventType.orderShipped:
            let shipment = try delivery.decode(OrderShipment.self).data
            metadata["order_id"] = "\(shipment.orderID.lowercased)"
            let shipped = try Self.ship(orderID: shipment.orderID, on: connection)
            if shipped == .consumed { try stockChanged(ofOrder: shipment.orderID, on: connection) }
            metadata["outcome"] = switch shipped {
            case .consumed: "consumed"
            case .shippedBeforeReserved: "shipped before reserved"
            case .nothingHeld: "nothing held"
            }
        default:
            throw ReservationFailure(description: "products does not handle \(delivery.header.type) events")
        }
        logger.info("stock reservation", metadata: metadata)
    }

    /// Tells `catalog` about `ids` once the transaction commits: not before, or another
    /// process could cache the stock this transaction is about to replace.
    private func stockChanged(_ ids: Set<UUID>, on connection: SQLConnection) {
        connection.afterCommit { [catalog] in catalog.changed(.products(ids)) }
    }

    private func stockChanged(ofOrder orderID: UUID, on connection: SQLConnection) throws {
        let rows = try connection.query("SELECT product_id FROM reservation_lines WHERE order_id = \(orderID)")
        stockChanged(Set(try rows.map { try $0.decode("product_id", as: UUID.self) }), on: connection)
    }

    /// Reserves every line of `order` or none.
    static func reserve(_ order: OrderCreated, on connection: SQLConnection) throws -> Outcome {
        try reserve(order, on: connection, announcing: { _ in [] }).outcome
    }

    /// `reserve`, which also writes to the outbox, in the statement that holds the units, the
    /// events `announce` makes of each product's available units before and after, and returns
    /// the products as the reservation left them.
    static func reserve(
        _ order: OrderCreated, on connection: SQLConnection,
        announcing announce: ([ProductEvents.StockMove]) throws -> [OutgoingEvent]
    ) throws -> (outcome: Outcome, products: [ProductRecord]) {
        var wanted: [UUID: Int] = [:]
        for line in order.lines {
            guard line.quantity > 0 else {
                throw ReservationFailure(description: "order \(order.orderID.lowercased) has a line of quantity \(line.quantity)")
            }
            wanted[line.productID, default: 0] += line.quantity
        }
        guard !wanted.isEmpty else {
            throw ReservationFailure(description: "order \(order.orderID.lowercased) has no lines")
        }
        let productIDs = wanted.keys.sorted { $0.lowercased < $1.lowercased }
        guard let products = try claim(order.orderID, locking: productIDs, on: connection) else {
            switch try lockedState(of: order.orderID, on: connection) {
            case "cancelled_before_reserved":
                return (.rejected(reason: orderCancelled, productID: nil), [])
            default:
                return (.alreadyDecided, [])
            }
        }
        // Every line is checked, so the rejection names all that stopped the order, not just the first.
        var short: [(reason: String, line: RejectedLine)] = []
        for id in productIDs {
            if let product = products[id], product.available {
                if product.stock < wanted[id]! {
                    short.append((insufficientStock, RejectedLine(productID: id, requested: wanted[id]!, available: max(0, product.stock))))
                }
            } else {
                short.append((productUnavailable, RejectedLine(productID: id, requested: wanted[id]!, available: 0)))
            }
        }
        if let first = short.first {
            return (.rejected(reason: first.reason, productID: first.line.productID, lines: short.map(\.line)), [])
        }
        // The rows are locked, so what the hold leaves is known before it runs.
        let moves = productIDs.map { id in
            let product = products[id]!
            return ProductEvents.StockMove(productID: id, before: product.stock, after: product.stock - wanted[id]!, threshold: product.threshold)
        }
        let held = try hold(productIDs.map { ($0, wanted[$0]!) }, for: order.orderID, announcing: try announce(moves), on: connection)
        // Every product held, as the events written with it say; a throw rolls those back too.
        for move in moves where held[move.productID]?.available != move.after {
            throw ReservationFailure(description: "order \(order.orderID.lowercased): stock changed under a lock")
        }
        return (.reserved, productIDs.compactMap { held[$0] })
    }

    /// Inserts the order's reservation row as `rejected`, the answer when nothing gets reserved
    /// (no other transaction sees it before this one ends), and locks the products in id order,
    /// reading what each has free, in one statement. Nil when the order already had a row.
    private static func claim(
        _ orderID: UUID, locking productIDs: [UUID], on connection: SQLConnection
    ) throws -> [UUID: (stock: Int, available: Bool, threshold: Int?)]? {
        // The outer join keeps one row when none of the products exists.
        let rows = try connection.query(
            """
            WITH inserted AS (
                INSERT INTO reservations (order_id, state) VALUES (\(orderID), 'rejected')
                ON CONFLICT (order_id) DO NOTHING RETURNING order_id)
            SELECT (SELECT count(*) FROM inserted) AS inserted, p.id, p.free, p.available, p.low_stock_threshold
            FROM (VALUES (1)) AS one
            LEFT JOIN (
                SELECT id, on_hand - held AS free, is_active AND archived_at IS NULL AS available, low_stock_threshold FROM products
                WHERE id = ANY(\(SQLArray(productIDs))::uuid[]) ORDER BY id FOR UPDATE) AS p ON true
            """)
        guard try rows[0].decode("inserted", as: Int.self) == 1 else { return nil }
        var products: [UUID: (stock: Int, available: Bool, threshold: Int?)] = [:]
        for row in rows {
            guard let id = try row.decode("id", as: UUID?.self) else { continue }
            products[id] = (try row.decode("free"), try row.decode("available"), try row.decode("low_stock_threshold", as: Int?.self))
        }
        return products
    }

    /// What the hold returns of each product: what `PostgresProductRepository.record` reads.
    private static let productColumns = PostgresProductRepository.columns(of: "p")

    /// Holds the units, records the lines, marks the reservation `reserved` and writes `events` to
    /// the outbox, in one statement; returns each product it held, as it leaves it. The rows are
    /// locked and checked by now; the guard keeps the rule where the write is, and `reserve` checks
    /// that every product came back.
    /// The `= ANY` finds the products through their key in the generic plan the handlers run on,
    /// which would otherwise join the array to a scan of the whole catalog (it cannot know the
    /// array's length).
    private static func hold(
        _ lines: [(productID: UUID, quantity: Int)], for orderID: UUID, announcing events: [OutgoingEvent],
        on connection: SQLConnection
    ) throws -> [UUID: ProductRecord] {
        let ids = SQLArray(lines.map(\.productID))
        let quantities = SQLArray(lines.map(\.quantity))
        let announced: SQLQuery = events.isEmpty ? "" : ", announced AS (\(Outbox.insert(events)))"
        let rows = try connection.query(
            """
            WITH held AS (
                UPDATE products AS p SET held = p.held + l.quantity
                FROM unnest(\(ids)::uuid[], \(quantities)::integer[]) AS l (id, quantity)
                WHERE p.id = ANY(\(ids)::uuid[]) AND p.id = l.id AND p.on_hand - p.held >= l.quantity
                RETURNING \(unescaped: productColumns)),
            lines AS (
                INSERT INTO reservation_lines (order_id, product_id, quantity)
                SELECT \(orderID), id, quantity FROM unnest(\(ids)::uuid[], \(quantities)::integer[]) AS l (id, quantity)),
            reserved AS (
                UPDATE reservations SET state = 'reserved', updated_at = now() WHERE order_id = \(orderID))
            \(announced)
            SELECT * FROM held
            """)
        return Dictionary(uniqueKeysWithValues: try rows.map { row in
            let product = try PostgresProductRepository.record(row)
            return (product.id, product)
        })
    }

    /// What an event that ends a reservation (a cancel, a shipment) finds for its order.
    private enum LiveReservation {
        /// No row yet: the event came before `order.created`, and its state is now recorded instead.
        case recorded
        /// A row in another state: nothing is held.
        case notHeld
        /// A live reservation, its row and its products locked (in id order).
        case held
    }

    /// Records `placeholder` as the order's state when it has no reservation row yet, so a late
    /// `order.created` reserves nothing; otherwise locks the row and, when it is a live reservation,
    /// the products it holds.
    private static func lockLiveReservation(
        of orderID: UUID, orRecord placeholder: String, on connection: SQLConnection
    ) throws -> LiveReservation {
        let inserted = try connection.query(
            """
            INSERT INTO reservations (order_id, state) VALUES (\(orderID), \(placeholder))
            ON CONFLICT (order_id) DO NOTHING RETURNING order_id
            """)
        guard inserted.isEmpty else { return .recorded }
        guard try lockedState(of: orderID, on: connection) == "reserved" else { return .notHeld }
        try lockProducts(of: orderID, on: connection)
        return .held
    }

    /// Gives back what the order holds, if and only if it holds a reservation.
    static func release(orderID: UUID, on connection: SQLConnection) throws -> Release {
        try releaseReporting(orderID: orderID, on: connection).release
    }

    /// `release`, with each product's available units before and after when it released.
    static func releaseReporting(
        orderID: UUID, on connection: SQLConnection
    ) throws -> (release: Release, moves: [ProductEvents.StockMove]) {
        switch try lockLiveReservation(of: orderID, orRecord: "cancelled_before_reserved", on: connection) {
        case .recorded: return (.cancelledBeforeReserved, [])
        case .notHeld: return (.nothingHeld, [])
        case .held: break
        }
        let rows = try connection.query(
            """
            UPDATE products AS p SET held = p.held - l.quantity
            FROM reservation_lines AS l WHERE l.order_id = \(orderID) AND p.id = l.product_id
            RETURNING p.id, p.on_hand - p.held AS available, l.quantity, p.low_stock_threshold
            """)
        try connection.execute(
            "UPDATE reservations SET state = 'released', updated_at = now() WHERE order_id = \(orderID)")
        let moves = try rows.map { row in
            let available: Int = try row.decode("available")
            return ProductEvents.StockMove(
                productID: try row.decode("id"), before: available - (try row.decode("quantity") as Int), after: available,
                threshold: try row.decode("low_stock_threshold", as: Int?.self))
        }
        return (.released, moves)
    }

    /// Takes what the order holds off hand, if and only if it holds a reservation: the units left
    /// the warehouse. Each product's ledger gets the units as a negative delta.
    static func ship(orderID: UUID, on connection: SQLConnection) throws -> Shipment {
        switch try lockLiveReservation(of: orderID, orRecord: "shipped_before_reserved", on: connection) {
        case .recorded: return .shippedBeforeReserved
        case .notHeld: return .nothingHeld
        case .held: break
        }
        try connection.execute(
            """
            UPDATE products AS p SET on_hand = p.on_hand - l.quantity, held = p.held - l.quantity, updated_at = now()
            FROM reservation_lines AS l WHERE l.order_id = \(orderID) AND p.id = l.product_id
            """)
        try connection.execute(
            """
            INSERT INTO stock_ledger (product_id, delta, reason)
            SELECT product_id, -quantity, 'shipped order ' || order_id FROM reservation_lines WHERE order_id = \(orderID)
            """)
        try connection.execute(
            "UPDATE reservations SET state = 'shipped', updated_at = now() WHERE order_id = \(orderID)")
        return .consumed
    }

    /// Locks, in id order, every product a batch of events will change: the lines of each
    /// `order.created`, and what the orders of the other events hold. Each event then locks its
    /// own products in id order too, which no longer waits; without this, two processes applying
    /// batches over the same products could each hold one the other needs.
    static func lockProducts(of deliveries: [Delivery], on connection: SQLConnection) throws {
        var created: Set<UUID> = []
        var ending: [UUID] = []
        for delivery in deliveries {
            switch delivery.header.type {
            case EventType.orderCreated:
                // An event that cannot be read locks nothing here; its handler reports it.
                guard let order = try? delivery.decode(OrderCreated.self).data else { continue }
                created.formUnion(order.lines.map(\.productID))
            case EventType.orderCancelled:
                if let cancel = try? delivery.decode(OrderCancelled.self).data { ending.append(cancel.orderID) }
            case EventType.orderShipped:
                if let shipment = try? delivery.decode(OrderShipment.self).data { ending.append(shipment.orderID) }
            default:
                continue
            }
        }
        var products = created
        if !ending.isEmpty {
            let held = try connection.query(
                "SELECT DISTINCT product_id FROM reservation_lines WHERE order_id = ANY(\(SQLArray(ending))::uuid[])")
            products.formUnion(try held.map { try $0.decode("product_id", as: UUID.self) })
        }
        guard !products.isEmpty else { return }
        // One list of keys: joined to the reservations' lines instead, the handlers' generic plan
        // would scan the whole catalog to find them.
        try connection.execute(
            "SELECT id FROM products WHERE id = ANY(\(SQLArray(Array(products)))::uuid[]) ORDER BY id FOR UPDATE")
    }

    /// Locks the products of an order's reservation in id order, as `reserve` does, rather than in
    /// whatever order an UPDATE's join visits them.
    private static func lockProducts(of orderID: UUID, on connection: SQLConnection) throws {
        try connection.execute(
            """
            SELECT id FROM products WHERE id IN (SELECT product_id FROM reservation_lines WHERE order_id = \(orderID))
            ORDER BY id FOR UPDATE
            """)
    }

    /// The state of an order's existing reservation row, locked until the transaction ends.
    private static func lockedState(of orderID: UUID, on connection: SQLConnection) throws -> String {
        guard let row = try connection.query(
            "SELECT state FROM reservations WHERE order_id = \(orderID) FOR UPDATE").first
        else {
            throw ReservationFailure(description: "reservation of order \(orderID.lowercased) vanished")
        }
        return try row.decode("state")
    }
}
