import EcomAPI
import EcomMessaging
import EcomPostgres
import EcomServerKit
import Foundation

/// `OrderRepository` over PostgreSQL. Every status change is a guarded `UPDATE … WHERE status = ANY(…)`
/// whose events go to the outbox in the same transaction.
///
/// The event handler runs in the transaction the event bus opened, which also records the event as
/// processed; the `in transaction:` methods are its, and change the order inside that transaction.
package struct PostgresOrderRepository: OrderRepository {
    let pool: PostgresPool

    package init(pool: PostgresPool) {
        self.pool = pool
    }

    private static let columns =
        "id, user_id, status, reason, rejected_lines::text AS rejected_lines, total_cents, created_at, updated_at, created_at::text AS created_key"

    // MARK: - Reading

    package func find(id: UUID, userID: UUID?) async throws -> Order? {
        try await pool.withConnection { connection in
            try Self.find(id: id, userID: userID, on: connection)
        }
    }

    private static func find(id: UUID, userID: UUID?, on connection: SQLConnection) throws -> Order? {
        let rows =
            if let userID {
                try connection.query("SELECT \(unescaped: columns) FROM orders WHERE id = \(id) AND user_id = \(userID)")
            } else {
                try connection.query("SELECT \(unescaped: columns) FROM orders WHERE id = \(id)")
            }
        return try orders(rows, on: connection).first?.order
    }

    private static func find(userID: UUID, cartVersion: Int64, on connection: SQLConnection) throws -> Order? {
        let rows = try connection.query(
            "SELECT \(unescaped: columns) FROM orders WHERE user_id = \(userID) AND cart_version = \(cartVersion)")
        return try orders(rows, on: connection).first?.order
    }

    package func list(
        userID: UUID?, status: OrderStatus?, idPrefix: IDPrefix?, limit: Int, after: OrderKey?
    ) async throws -> [(order: Order, key: OrderKey)] {
        var conditions: [SQLQuery] = []
        if let userID {
            conditions.append("user_id = \(userID)")
        }
        if let idPrefix {
            // A range on the primary key's index (see `IDPrefix`).
            conditions.append("id BETWEEN \(idPrefix.lower)::uuid AND \(idPrefix.upper)::uuid")
        }
        if let status {
            conditions.append("status = \(status.rawValue)")
        }
        if let after {
            conditions.append("(created_at, id) < (\(after.createdAt)::timestamptz, \(after.id))")
        }
        let query: SQLQuery = """
            SELECT \(unescaped: Self.columns) FROM orders \(SQLQuery.filter(conditions))
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """
        return try await pool.withConnection { connection in
            try Self.orders(try connection.query(query), on: connection)
        }
    }

    /// Orders of `rows` with their lines, in the rows' order.
    private static func orders(_ rows: [SQLRow], on connection: SQLConnection) throws -> [(order: Order, key: OrderKey)] {
        guard !rows.isEmpty else { return [] }
        let ids = try rows.map { try $0.decode("id", as: UUID.self) }
        let lineRows = try connection.query(
            """
            SELECT order_id, product_id, name, unit_price_cents, quantity FROM order_lines
            WHERE order_id = ANY(\(SQLArray(ids))::uuid[]) ORDER BY name, product_id
            """)
        var lines: [UUID: [OrderLine]] = [:]
        for row in lineRows {
            let price: Int64 = try row.decode("unit_price_cents")
            let quantity: Int = try row.decode("quantity")
            lines[try row.decode("order_id"), default: []].append(
                OrderLine(
                    productID: try row.decode("product_id"), name: try row.decode("name"), unitPriceCents: price,
                    quantity: quantity, lineTotalCents: price * Int64(quantity)))
        }
        return try rows.map { row in
            let id: UUID = try row.decode("id")
            let status = OrderStatus(rawValue: try row.decode("status")) ?? .pending
            let reason = try row.decode("reason", as: String?.self)
            var rejection: OrderRejection?
            if status == .rejected {
                let stored = try row.decode("rejected_lines", as: String?.self)
                    .map { try JSONDecoder.ecom.decode([RejectedLine].self, from: Data($0.utf8)) } ?? []
                let names = Dictionary((lines[id] ?? []).map { ($0.productID, $0.name) }, uniquingKeysWith: { first, _ in first })
                rejection = OrderRejection(
                    reason: reason ?? "unknown",
                    lines: stored.map { line in
                        var named = line
                        named.name = named.name ?? names[line.productID]
                        return named
                    })
            }
            let order = Order(
                id: id, userID: try row.decode("user_id"), status: status, reason: reason,
                totalCents: try row.decode("total_cents"), items: lines[id] ?? [], createdAt: try row.decode("created_at"),
                updatedAt: try row.decode("updated_at"), rejection: rejection)
            return (order, OrderKey(createdAt: try row.decode("created_key"), id: id))
        }
    }

    // MARK: - Writing

    /// Inserts the order, its lines and its `order.created`, and records the idempotency key, in
    /// one statement. With a key, the order is inserted only if the key's row is: a second request
    /// with the key waits for the first one's commit there, then inserts nothing.
    package func create(_ draft: OrderDraft, idempotencyKey: String?, requestID: String) async throws -> OrderCreation {
        let event = Event(
            type: EventType.orderCreated, requestID: requestID,
            data: OrderCreated(
                orderID: draft.id, userID: draft.userID, cartVersion: draft.cartVersion,
                lines: draft.lines.map { OrderedQuantity(productID: $0.productID, quantity: $0.quantity) }))
        var statement: SQLQuery = "WITH "
        if let idempotencyKey {
            statement.append(
                """
                k AS (\(Self.recordKey(idempotencyKey, userID: draft.userID, orderID: draft.id, status: 201)) RETURNING 1),
                o AS (
                    INSERT INTO orders (id, user_id, status, total_cents, cart_version)
                    SELECT \(draft.id), \(draft.userID), 'pending', \(draft.totalCents), \(draft.cartVersion) FROM k
                """)
        } else {
            statement.append(
                """
                o AS (
                    INSERT INTO orders (id, user_id, status, total_cents, cart_version)
                    VALUES (\(draft.id), \(draft.userID), 'pending', \(draft.totalCents), \(draft.cartVersion))
                """)
        }
        statement.append(
            """

                RETURNING created_at, updated_at),
            l AS (
                INSERT INTO order_lines (order_id, product_id, name, unit_price_cents, quantity)
                SELECT \(draft.id), u.product_id, u.name, u.unit_price_cents, u.quantity
                FROM o CROSS JOIN unnest(\(SQLArray(draft.lines.map(\.productID)))::uuid[], \(SQLArray(draft.lines.map(\.name)))::text[],
                    \(SQLArray(draft.lines.map(\.unitPriceCents)))::bigint[], \(SQLArray(draft.lines.map(\.quantity)))::integer[])
                    AS u (product_id, name, unit_price_cents, quantity)
                RETURNING product_id, name, unit_price_cents, quantity),
            e AS (\(try Outbox.insert(event, when: "o")))
            SELECT o.created_at, o.updated_at, l.product_id, l.name, l.unit_price_cents, l.quantity
            FROM o CROSS JOIN l ORDER BY l.name, l.product_id
            """)
        let rows: [SQLRow]
        do {
            rows = try await pool.query(statement)
        } catch let error as SQLError where error.kind == .uniqueViolation && error.constraint == "orders_user_cart_version_key" {
            return .cartVersionTaken
        }
        guard let first = rows.first else {
            if idempotencyKey != nil { return .keyTaken }
            throw SQLError(kind: .other, message: "order \(draft.id.lowercased) inserted without lines")
        }
        let items = try rows.map { row in
            let price: Int64 = try row.decode("unit_price_cents")
            let quantity: Int = try row.decode("quantity")
            return OrderLine(
                productID: try row.decode("product_id"), name: try row.decode("name"), unitPriceCents: price, quantity: quantity,
                lineTotalCents: price * Int64(quantity))
        }
        return .created(
            Order(
                id: draft.id, userID: draft.userID, status: .pending, reason: nil, totalCents: draft.totalCents, items: items,
                createdAt: try first.decode("created_at"), updatedAt: try first.decode("updated_at"), rejection: nil))
    }

    package func winner(userID: UUID, cartVersion: Int64, idempotencyKey: String?) async throws -> CartVersionWinner? {
        try await pool.transaction { connection in
            guard let order = try Self.find(userID: userID, cartVersion: cartVersion, on: connection) else { return nil }
            guard let idempotencyKey else { return .order(order) }
            let recorded = try connection.execute(Self.recordKey(idempotencyKey, userID: userID, orderID: order.id, status: 200))
            return recorded == 1 ? .order(order) : .keyTaken
        }
    }

    package func transition(id: UUID, userID: UUID?, _ change: OrderTransition, requestID: String?) async throws -> Order? {
        try await pool.transaction { connection in
            try Self.transition(id: id, userID: userID, change, requestID: requestID, on: connection)
        }
    }

    /// Confirms those of `orders` that are pending, each announced by its own `order.confirmed` (made
    /// with its `requestID`), in the order given, in one statement; an order named twice is confirmed
    /// and announced once. Returns how many it confirmed.
    func confirm(_ orders: [(id: UUID, requestID: String?)], in transaction: SQLConnection) throws -> Int {
        var named = Set<UUID>()
        let unique = orders.filter { named.insert($0.id).inserted }
        let events = try unique.map { order in
            try Outbox.encode(Event(type: EventType.orderConfirmed, requestID: order.requestID, data: OrderConfirmed(orderID: order.id)))
        }
        let change = OrderTransition.confirm
        // Found by key in the plan made once per connection, however many orders the array holds.
        try transaction.useGenericPlans()
        return try transaction.execute(
            """
            WITH changed AS (
                UPDATE orders SET status = \(change.to.rawValue), updated_at = now()
                WHERE id = ANY(\(SQLArray(unique.map(\.id)))::uuid[]) AND status = ANY(\(SQLArray(change.from.map(\.rawValue))))
                RETURNING id)
            INSERT INTO outbox (event_id, routing_key, body)
            SELECT e.event_id, e.routing_key, e.body
            FROM unnest(\(SQLArray(events.map(\.eventID)))::uuid[], \(SQLArray(events.map(\.routingKey)))::text[],
                \(SQLArray(events.map(\.body)))::text[], \(SQLArray(unique.map(\.id)))::uuid[])
                WITH ORDINALITY AS e (event_id, routing_key, body, order_id, position)
            JOIN changed ON changed.id = e.order_id
            ORDER BY e.position
            """)
    }

    /// The `UPDATE` of `change`, guarded by the statuses it may start from.
    private static func guardedUpdate(id: UUID, userID: UUID?, _ change: OrderTransition) -> SQLQuery {
        var query: SQLQuery = """
            UPDATE orders SET status = \(change.to.rawValue), reason = COALESCE(\(change.reason), reason), updated_at = now()
            WHERE id = \(id) AND status = ANY(\(SQLArray(change.from.map(\.rawValue))))
            """
        if let userID {
            query.append(" AND user_id = \(userID)")
        }
        return query
    }

    private static func transition(
        id: UUID, userID: UUID?, _ change: OrderTransition, requestID: String?, on connection: SQLConnection
    ) throws -> Order? {
        guard try connection.execute(guardedUpdate(id: id, userID: userID, change)) == 1 else { return nil }
        guard let order = try find(id: id, userID: nil, on: connection) else { return nil }
        try announce(change, of: order, requestID: requestID, on: connection)
        return order
    }

    /// Writes the event that announces `change`, in the transaction that makes it.
    private static func announce(_ change: OrderTransition, of order: Order, requestID: String?, on connection: SQLConnection) throws {
        let type = change.announces
        switch change {
        case .confirm:
            try Outbox.enqueue(Event(type: type, requestID: requestID, data: OrderConfirmed(orderID: order.id)), on: connection)
        case .cancel:
            try Outbox.enqueue(
                Event(type: type, requestID: requestID, data: OrderCancelled(orderID: order.id, reason: OrderTransition.cancelledByUser)),
                on: connection)
        case .ship, .deliver:
            try Outbox.enqueue(Event(type: type, requestID: requestID, data: OrderShipment(orderID: order.id)), on: connection)
        }
    }

    /// Rejects a pending order for the products service's `reason`, recording the lines it could
    /// not reserve, and announces `order.rejected`, inside the event handler's transaction. Nil
    /// when the order was not pending (cancelled or timed out meanwhile).
    func reject(
        id: UUID, reason: String, lines: [RejectedLine], requestID: String?, in connection: SQLConnection
    ) throws -> Order? {
        let stored = String(decoding: try JSONEncoder.ecom.encode(lines), as: UTF8.self)
        let rows = try connection.query(
            """
            UPDATE orders SET status = 'rejected', reason = \(reason), rejected_lines = \(stored)::jsonb, updated_at = now()
            WHERE id = \(id) AND status = 'pending' RETURNING \(unescaped: Self.columns)
            """)
        guard let order = try Self.orders(rows, on: connection).first?.order else { return nil }
        try Self.announceRejection(of: order, requestID: requestID, on: connection)
        return order
    }

    /// How many units of `productID` the order `orderID` asked for, inside the event handler's transaction.
    func orderedQuantity(of productID: UUID, in orderID: UUID, in connection: SQLConnection) throws -> Int? {
        try connection.query(
            "SELECT quantity FROM order_lines WHERE order_id = \(orderID) AND product_id = \(productID)"
        ).first?.decode("quantity", as: Int.self)
    }

    /// `order.rejected`: what could not be reserved, and every ordered line for the cart to give back.
    private static func announceRejection(of order: Order, requestID: String?, on connection: SQLConnection) throws {
        let rejection = order.rejection ?? OrderRejection(reason: order.reason ?? "unknown", lines: [])
        try Outbox.enqueue(
            Event(
                type: EventType.orderRejected, requestID: requestID,
                data: OrderRejected(
                    orderID: order.id, userID: order.userID, reason: rejection.reason, lines: rejection.lines,
                    ordered: order.items.map { OrderedQuantity(productID: $0.productID, quantity: $0.quantity) })),
            on: connection)
    }

    package func expirePending(olderThan age: Duration, requestID: String) async throws -> Int {
        try await pool.transaction { connection in
            let rows = try connection.query(
                """
                UPDATE orders AS o SET status = 'rejected', reason = 'timeout', updated_at = now(),
                    rejected_lines = (
                        SELECT coalesce(jsonb_agg(jsonb_build_object('product_id', l.product_id, 'requested', l.quantity)
                            ORDER BY l.name, l.product_id), '[]'::jsonb)
                        FROM order_lines AS l WHERE l.order_id = o.id)
                WHERE o.id IN (
                    SELECT id FROM orders WHERE status = 'pending'
                    AND created_at < now() - make_interval(secs => \(String(age.components.seconds))::double precision)
                    ORDER BY created_at LIMIT 500 FOR UPDATE SKIP LOCKED)
                RETURNING \(unescaped: Self.columns)
                """)
            for (order, _) in try Self.orders(rows, on: connection) {
                try Outbox.enqueue(
                    Event(type: EventType.orderCancelled, requestID: requestID, data: OrderCancelled(orderID: order.id, reason: "timeout")),
                    on: connection)
                try Self.announceRejection(of: order, requestID: requestID, on: connection)
            }
            return rows.count
        }
    }

    // MARK: - Idempotency keys

    package func recordedKey(_ key: String, userID: UUID) async throws -> RecordedKey? {
        let rows = try await pool.query(
            """
            SELECT state, order_id, status_code, created_at < now() - interval '2 minutes' AS stale
            FROM idempotency_keys WHERE user_id = \(userID) AND key = \(key)
            """)
        guard let row = rows.first else { return nil }
        if try row.decode("state", as: String.self) == "done", let orderID = try row.decode("order_id", as: UUID?.self) {
            return .done(orderID: orderID, status: try row.decode("status_code", as: Int?.self) ?? 201)
        }
        guard try row.decode("stale", as: Bool.self) else { return .inProgress }
        // Its request died mid-way, or left the key to a release that no longer runs.
        try await pool.execute(
            """
            DELETE FROM idempotency_keys
            WHERE user_id = \(userID) AND key = \(key) AND state = 'in_progress' AND created_at < now() - interval '2 minutes'
            """)
        return nil
    }

    /// Records `key` as having made `orderID`, answered with `status`; nothing if the key is there already.
    private static func recordKey(_ key: String, userID: UUID, orderID: UUID, status: Int) -> SQLQuery {
        """
        INSERT INTO idempotency_keys (user_id, key, state, order_id, status_code)
        VALUES (\(userID), \(key), 'done', \(orderID), \(status)) ON CONFLICT DO NOTHING
        """
    }

    package func purgeKeys() async throws -> Int {
        try await pool.execute("DELETE FROM idempotency_keys WHERE created_at < now() - interval '48 hours'")
    }

    package func pendingSummary() async throws -> (count: Int, oldest: Int) {
        let rows = try await pool.query(
            """
            SELECT count(*) AS count, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::bigint AS oldest
            FROM orders WHERE status = 'pending'
            """)
        return (try rows[0].decode("count"), try rows[0].decode("oldest"))
    }
}
