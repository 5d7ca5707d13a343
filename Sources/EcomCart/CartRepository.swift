import EcomAPI
import EcomPostgres
import EcomServerKit
import Foundation

/// A cart as stored: what and how many, without names or prices, which the products service
/// supplies whenever the cart is shown.
package struct CartSnapshot: Sendable, Equatable {
    package struct Line: Sendable, Equatable {
        package var id: UUID
        package var productID: UUID
        package var quantity: Int
    }

    /// 0 for a user who never edited a cart; versions handed out start at 1.
    package var version: Int64
    /// In the order they were added.
    package var lines: [Line]
}

/// The cart service's storage. Every edit gives the cart a new version in the same transaction.
package protocol CartRepository: Sendable {
    func cart(of userID: UUID) async throws -> CartSnapshot

    /// Adds units of a product, to its existing line if there is one; `lineID` is that line and
    /// `newLine` tells whether it was made now.
    /// Throws `quantity_limit` or `cart_full` (409), with nothing changed, when a bound would be passed.
    func add(productID: UUID, quantity: Int, for userID: UUID) async throws -> (cart: CartSnapshot, lineID: UUID, newLine: Bool)

    /// Sets a line's quantity. Throws `not_found` (404) when the user has no such line.
    func setQuantity(_ quantity: Int, ofLine lineID: UUID, for userID: UUID) async throws -> CartSnapshot

    /// Removes a line. Throws `not_found` (404) when the user has no such line.
    func removeLine(_ lineID: UUID, for userID: UUID) async throws -> CartSnapshot

    func clear(for userID: UUID) async throws

    /// Takes an order's quantities out of the cart, once per order id; false if it was applied before.
    @discardableResult
    func applyOrder(_ order: CartOrderApplied, for userID: UUID) async throws -> Bool

    /// Rejected orders whose lines are waiting to come back, oldest first.
    func ordersToRestore(limit: Int) async throws -> [RejectedOrderLines]

    /// Puts a rejected order's lines back, once: each line as max(current quantity, ordered
    /// quantity), leaving out products not in `forSale`. False if the order was not waiting.
    @discardableResult
    func restore(_ order: RejectedOrderLines, forSale: Set<UUID>) async throws -> Bool
}

/// A rejected order whose lines are to come back to its user's cart.
package struct RejectedOrderLines: Sendable, Equatable {
    package var orderID: UUID
    package var userID: UUID
    package var lines: [OrderedQuantity]
}

/// `CartRepository` over PostgreSQL.
package struct PostgresCartRepository: CartRepository {
    let pool: PostgresPool
    /// The orders whose removal `applyOrder` committed in this process.
    package let appliedHere = AppliedOrders()

    package init(pool: PostgresPool) {
        self.pool = pool
    }

    package func cart(of userID: UUID) async throws -> CartSnapshot {
        try await pool.withConnection { try Self.snapshot(of: userID, on: $0) }
    }

    package func add(productID: UUID, quantity: Int, for userID: UUID) async throws -> (cart: CartSnapshot, lineID: UUID, newLine: Bool) {
        try await pool.transaction { connection in
            // The version first, as in every edit: cart row, then line rows, so edits cannot deadlock.
            // The line's statement needs nothing from the version's answer: both go in one round trip.
            // The line is one statement, so concurrent adds of one product each land on the line exactly once;
            // the WHERE leaves the line as it was when the sum would pass the bound. It also reads
            // the cart: its snapshot, taken with the cart row locked, has every other edit, and the
            // line it writes comes from its RETURNING (a statement does not see its own writes).
            let rows = try connection.queries([
                Self.newVersion(for: userID),
                """
                WITH line AS (
                    INSERT INTO cart_items (id, user_id, product_id, quantity) VALUES (\(UUID.random()), \(userID), \(productID), \(quantity))
                    ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = cart_items.quantity + EXCLUDED.quantity
                    WHERE cart_items.quantity + EXCLUDED.quantity <= \(CartLimits.maximumQuantity)
                    RETURNING id, product_id, quantity, added_at, (xmax = 0) AS inserted)
                SELECT c.version, i.id, i.product_id, i.quantity, i.inserted
                \(Self.cart(of: userID, lines: """
                    SELECT id, product_id, quantity, added_at, NULL::boolean AS inserted FROM cart_items
                    WHERE user_id = \(userID) AND product_id <> \(productID)
                    UNION ALL
                    SELECT id, product_id, quantity, added_at, inserted FROM line
                    """))
                """])[1]
            // No line written: the WHERE kept the sum within the bound.
            guard let written = try rows.first(where: { try $0.decode("inserted", as: Bool?.self) != nil }) else {
                throw CartError.quantityLimit
            }
            let lineID: UUID = try written.decode("id")
            let inserted: Bool = try written.decode("inserted")
            let cart = try Self.snapshot(from: rows)
            // Exact because the cart row is locked: no other edit of this cart is in flight.
            if inserted, cart.lines.count > CartLimits.maximumLines { throw CartError.cartFull }
            return (cart, lineID, inserted)
        }
    }

    package func setQuantity(_ quantity: Int, ofLine lineID: UUID, for userID: UUID) async throws -> CartSnapshot {
        try await editLine(lineID, for: userID, "UPDATE cart_items SET quantity = \(quantity)", keepsLine: true)
    }

    package func removeLine(_ lineID: UUID, for userID: UUID) async throws -> CartSnapshot {
        try await editLine(lineID, for: userID, "DELETE FROM cart_items", keepsLine: false)
    }

    /// Runs `statement` (an UPDATE or DELETE of cart_items, to which the line's and the user's
    /// condition is added) as a new version of the cart, and reads the cart in the same statement,
    /// as `add` does: the other lines from its snapshot, taken with the cart row locked, and the
    /// edited line, when it `keepsLine`, from its `RETURNING`. When it touches no line, the version
    /// taken is rolled back with everything else: another user's line is as absent as a line that
    /// never was.
    private func editLine(_ lineID: UUID, for userID: UUID, _ statement: SQLQuery, keepsLine: Bool) async throws -> CartSnapshot {
        let edited: SQLQuery = keepsLine ? " UNION ALL SELECT id, product_id, quantity, added_at FROM edited" : ""
        let query: SQLQuery = """
            WITH edited AS (\(statement) WHERE id = \(lineID) AND user_id = \(userID) RETURNING id, product_id, quantity, added_at)
            SELECT c.version, (SELECT count(*) FROM edited) AS edited, i.id, i.product_id, i.quantity
            \(Self.cart(of: userID, lines: "SELECT id, product_id, quantity, added_at FROM cart_items WHERE user_id = \(userID) AND id <> \(lineID)\(edited)"))
            """
        return try await pool.transaction { connection in
            // The version first, as in every edit: cart row, then line rows, so edits cannot deadlock.
            try Self.newVersion(for: userID, on: connection)
            let rows = try connection.query(query)
            guard try rows.first?.decode("edited", as: Int64.self) == 1 else { throw CartError.lineNotFound }
            return try Self.snapshot(from: rows)
        }
    }

    package func clear(for userID: UUID) async throws {
        try await pool.transaction { connection in
            try Self.newVersion(for: userID, on: connection)
            try connection.execute("DELETE FROM cart_items WHERE user_id = \(userID)")
        }
    }

    package func applyOrder(_ order: CartOrderApplied, for userID: UUID) async throws -> Bool {
        let applied = try await pool.transaction { connection in
            try Self.applyOrder(order, for: userID, on: connection, committing: true)
        }
        // Either way the removal is committed now: by this call, or by an earlier one.
        appliedHere.insert(order.orderID)
        return applied
    }

    package func ordersToRestore(limit: Int) async throws -> [RejectedOrderLines] {
        try await pool.withConnection { connection in
            try connection.query(
                """
                SELECT order_id, user_id, restore_lines::text AS lines FROM applied_orders
                WHERE state = 'restoring' ORDER BY updated_at LIMIT \(limit)
                """
            ).map { row in
                RejectedOrderLines(
                    orderID: try row.decode("order_id"), userID: try row.decode("user_id"),
                    lines: try JSONDecoder.ecom.decode([OrderedQuantity].self, from: Data(try row.decode("lines", as: String.self).utf8)))
            }
        }
    }

    package func restore(_ order: RejectedOrderLines, forSale: Set<UUID>) async throws -> Bool {
        try await pool.transaction { connection in
            // The cart row first, as every edit locks it, then the order's row: a second restorer
            // finds the state changed and puts nothing back twice.
            try Self.newVersion(for: order.userID, on: connection)
            let claimed = try connection.execute(
                "UPDATE applied_orders SET state = 'restored', updated_at = now() WHERE order_id = \(order.orderID) AND state = 'restoring'")
            guard claimed == 1 else { return false }
            let ordered = Dictionary(order.lines.map { ($0.productID, $0.quantity) }, uniquingKeysWith: +)
            var count: Int = try connection.query(
                "SELECT count(*) AS lines FROM cart_items WHERE user_id = \(order.userID)")[0].decode("lines")
            for line in order.lines where forSale.contains(line.productID) {
                guard let quantity = ordered[line.productID], quantity > 0 else { continue }
                let wanted = min(quantity, CartLimits.maximumQuantity)
                let grown = try connection.execute(
                    "UPDATE cart_items SET quantity = GREATEST(quantity, \(wanted)) WHERE user_id = \(order.userID) AND product_id = \(line.productID)")
                // A full cart keeps what it holds; the order still lists what did not fit.
                if grown == 0, count < CartLimits.maximumLines {
                    try connection.execute(
                        "INSERT INTO cart_items (id, user_id, product_id, quantity) VALUES (\(UUID.random()), \(order.userID), \(line.productID), \(wanted))")
                    count += 1
                }
            }
            return true
        }
    }

    // MARK: - Statements shared with the event handler

    /// The removal of DESIGN §6.1, inside the caller's transaction: records the order id and, the
    /// first time only, subtracts each ordered quantity from the matching line, deleting lines that
    /// reach zero. Units added after the checkout, and lines of other products, stay.
    /// With `committing`, the transaction commits with the removal, its last statement.
    @discardableResult
    static func applyOrder(
        _ order: CartOrderApplied, for userID: UUID, on connection: SQLConnection, committing: Bool = false
    ) throws -> Bool {
        // A second caller with the same order id waits here for the first to commit, then inserts
        // nothing; the first also gives the cart a new version, locking its row as every edit does.
        let recorded = try connection.execute(
            """
            WITH recorded AS (
                INSERT INTO applied_orders (order_id, user_id) VALUES (\(order.orderID), \(userID))
                ON CONFLICT (order_id) DO NOTHING RETURNING order_id)
            INSERT INTO carts (user_id, version) SELECT \(userID), nextval('cart_versions') FROM recorded
            ON CONFLICT (user_id) DO UPDATE SET version = EXCLUDED.version, updated_at = now()
            """)
        guard recorded == 1 else { return false }
        let ordered = Dictionary(order.lines.map { ($0.productID, $0.quantity) }, uniquingKeysWith: +)
            // A quantity below 1 would put units back; no order has one, and none is trusted.
            .filter { $0.value > 0 }
        guard !ordered.isEmpty else { return true }
        // Lines that reach zero go, the others shrink: both sides see the lines as they were.
        let removal: SQLQuery = """
            WITH ordered AS (
                SELECT * FROM unnest(\(SQLArray(Array(ordered.keys)))::uuid[], \(SQLArray(Array(ordered.values)))::integer[])
                    AS o (product_id, quantity)),
            emptied AS (
                DELETE FROM cart_items AS c USING ordered AS o
                WHERE c.user_id = \(userID) AND c.product_id = o.product_id AND c.quantity <= o.quantity)
            UPDATE cart_items AS c SET quantity = c.quantity - o.quantity FROM ordered AS o
            WHERE c.user_id = \(userID) AND c.product_id = o.product_id AND c.quantity > o.quantity
            """
        if committing {
            _ = try connection.queryCommitting(removal)
        } else {
            try connection.execute(removal)
        }
        return true
    }

    /// Gives the cart a version no cart has had, creating its row if needed, and locks that row
    /// until the transaction ends. The orders service records the version an order was made from,
    /// so two checkouts of one unchanged cart collide on it, while any edit in between makes them differ.
    static func newVersion(for userID: UUID, on connection: SQLConnection) throws {
        try connection.execute(newVersion(for: userID))
    }

    /// The statement of `newVersion(for:on:)`.
    static func newVersion(for userID: UUID) -> SQLQuery {
        """
        INSERT INTO carts (user_id, version) VALUES (\(userID), nextval('cart_versions'))
        ON CONFLICT (user_id) DO UPDATE SET version = EXCLUDED.version, updated_at = now()
        """
    }

    /// Records that `order` was rejected, in the caller's transaction: its lines are to come back
    /// (`restoring`) unless they already have. Inserting the row when the removal never ran keeps
    /// a late `order.created` from removing anything. False if the order was seen rejected before.
    @discardableResult
    static func markRejected(_ order: CartOrderApplied, for userID: UUID, on connection: SQLConnection) throws -> Bool {
        let lines = String(decoding: try JSONEncoder.ecom.encode(order.lines), as: UTF8.self)
        return try connection.execute(
            """
            INSERT INTO applied_orders (order_id, user_id, state, restore_lines) VALUES (\(order.orderID), \(userID), 'restoring', \(lines)::jsonb)
            ON CONFLICT (order_id) DO UPDATE SET state = 'restoring', restore_lines = EXCLUDED.restore_lines, updated_at = now()
            WHERE applied_orders.state = 'removed'
            """) == 1
    }

    /// Lines and version as one statement sees them, so they always belong together.
    static func snapshot(of userID: UUID, on connection: SQLConnection) throws -> CartSnapshot {
        let rows = try connection.query(
            """
            SELECT c.version, i.id, i.product_id, i.quantity
            \(cart(of: userID, lines: "SELECT id, product_id, quantity, added_at FROM cart_items WHERE user_id = \(userID)"))
            """)
        return try snapshot(from: rows)
    }

    /// The `FROM … ORDER BY` of a statement that reads the cart: its row (`c`), with `lines` (`i`:
    /// `id`, `product_id`, `quantity` and `added_at` of each) in the order of the cart's lines; a
    /// cart without lines is one row of nulls for them, and no cart no row (`snapshot(from:)`).
    private static func cart(of userID: UUID, lines: SQLQuery) -> SQLQuery {
        "FROM carts c LEFT JOIN (\(lines)) AS i ON true WHERE c.user_id = \(userID) ORDER BY i.added_at, i.id"
    }

    /// The cart of rows of its version and lines (`version`, and `id`, `product_id`, `quantity`,
    /// null when it has none), in the order of its lines.
    private static func snapshot(from rows: [SQLRow]) throws -> CartSnapshot {
        guard let first = rows.first else { return CartSnapshot(version: 0, lines: []) }
        let lines = try rows.compactMap { row -> CartSnapshot.Line? in
            guard let id = try row.decode("id", as: UUID?.self) else { return nil }
            return CartSnapshot.Line(id: id, productID: try row.decode("product_id"), quantity: try row.decode("quantity"))
        }
        return CartSnapshot(version: try first.decode("version"), lines: lines)
    }
}
