import EcomAPI
import EcomMessaging
import EcomPostgres
import EcomServerKit
import Foundation

/// A product row, with what the API shows differently.
package struct ProductRecord: Sendable, Equatable {
    package var id: UUID
    package var sku: String
    package var name: String
    package var description: String
    package var priceCents: Int64
    /// Units in the warehouse; absolute stock writes set this.
    package var onHand: Int
    /// Units live reservations hold; only reservations, releases and shipping change it.
    package var held: Int
    package var isActive: Bool
    package var archivedAt: Date?
    package var createdAt: Date
    package var updatedAt: Date
    /// The product's own `stock.low` threshold; nil when the store's applies.
    package var lowStockThreshold: Int? = nil

    /// Units available to reserve.
    package var available: Int { onHand - held }

    /// The product as callers see it. An archived product is never active, so the cart and orders,
    /// which check `is_active`, refuse it while still being able to show it.
    package var api: Product {
        Product(
            id: id, sku: sku, name: name, description: description, priceCents: priceCents, stock: available,
            isActive: isActive && archivedAt == nil, createdAt: createdAt, updatedAt: updatedAt)
    }

    /// The product as admins see it: what is available, and the on-hand and held counts behind it.
    package var adminAPI: Product {
        var product = api
        product.onHand = onHand
        product.held = held
        product.archived = archivedAt != nil
        product.lowStockThreshold = lowStockThreshold
        return product
    }
}

/// Which products a list shows.
package enum ProductScope: Sendable {
    /// Active, non-archived products: what shoppers browse.
    case catalog
    /// Every product, for admins.
    case all
}

/// What narrows a product list; every present part must match.
package struct ProductFilter: Sendable, Equatable {
    /// Matches name or description, case-insensitively.
    package var search: String?
    /// Ids starting with these hex digits: how people name a product from a table's short id.
    package var idPrefix: IDPrefix?
    /// Exactly this sku.
    package var sku: String?

    package init(search: String? = nil, idPrefix: IDPrefix? = nil, sku: String? = nil) {
        self.search = search
        self.idPrefix = idPrefix
        self.sku = sku
    }
}

/// Where a page of a product list ends. Lists are ordered by (name, id).
package struct ProductListKey: Sendable, Equatable {
    package var name: String
    package var id: UUID

    package init(name: String, id: UUID) {
        self.name = name
        self.id = id
    }
}

/// One validated entry of a catalog import, matched to the catalog by `sku`.
package struct CatalogEntry: Sendable, Equatable {
    package var sku: String
    package var product: ProductCreate

    package init(sku: String, product: ProductCreate) {
        self.sku = sku
        self.product = product
    }
}

extension CatalogEntry {
    /// The product the entry makes when no product has its sku.
    func newProduct(at now: Date = Date()) -> ProductRecord {
        ProductRecord(
            id: UUID.random(), sku: sku, name: product.name, description: product.description ?? "", priceCents: product.priceCents,
            onHand: product.stock ?? 0, held: 0, isActive: product.isActive ?? true, archivedAt: nil, createdAt: now, updatedAt: now,
            lowStockThreshold: product.lowStockThreshold)
    }

    /// `current` with the entry applied; absent optional fields keep what the product has, as in a PATCH.
    func applied(to current: ProductRecord) -> ProductRecord {
        var merged = current
        merged.name = product.name
        merged.description = product.description ?? current.description
        merged.priceCents = product.priceCents
        // A warehouse count: units on hand, of which reservations keep holding theirs.
        merged.onHand = product.stock ?? current.onHand
        merged.isActive = product.isActive ?? current.isActive
        merged.lowStockThreshold = product.lowStockThreshold ?? current.lowStockThreshold
        return merged
    }
}

/// The products service's storage. Inputs are validated before they get here.
package protocol ProductRepository: Sendable {
    /// A page of products by (name, id) after `after`, narrowed by `filter`.
    func list(scope: ProductScope, filter: ProductFilter, after: ProductListKey?, limit: Int) async throws -> [ProductRecord]
    /// Any product, archived or not.
    func find(id: UUID) async throws -> ProductRecord?
    /// The products among `ids` that exist, archived or not, by id.
    func find(ids: [UUID]) async throws -> [ProductRecord]
    /// Inserts a product (and its opening stock in the ledger); throws 409 `sku_taken`.
    func create(_ product: ProductCreate) async throws -> ProductRecord
    /// Applies the present fields; `stock` sets the units on hand, and its change goes to the ledger.
    /// Nil if there is no such product; 409 `stock_below_held` for fewer units than orders hold, and
    /// 409 `product_archived` for `is_active` true on an archived product.
    func update(id: UUID, with changes: ProductUpdate) async throws -> ProductRecord?
    /// Takes the product out of the catalog for good; false if there is no such product.
    func archive(id: UUID) async throws -> Bool
    /// Changes the units on hand by a signed delta and records it in the ledger; throws 409
    /// `insufficient_stock` when it would remove more than is available.
    func adjustStock(id: UUID, by adjustment: StockAdjustment) async throws -> ProductRecord?
    /// Upserts by sku in one transaction, `stock` setting the units on hand; entries equal to the stored
    /// product are left untouched. 409 `stock_below_held` if an entry has fewer units than orders hold.
    func importCatalog(_ entries: [CatalogEntry]) async throws -> ImportResult
    func isEmpty() async throws -> Bool
}

/// `ProductRepository` over PostgreSQL.
package struct PostgresProductRepository: ProductRepository {
    let pool: PostgresPool
    /// The events each change writes to the outbox in its transaction.
    let events: ProductEvents
    /// Called after a change that wrote events has committed, so they go out at once.
    let outboxChanged: @Sendable () -> Void

    package init(pool: PostgresPool, events: ProductEvents = ProductEvents(), outboxChanged: @escaping @Sendable () -> Void = {}) {
        self.pool = pool
        self.events = events
        self.outboxChanged = outboxChanged
    }

    /// Writes `events` in the open transaction, and rings the relay once it has committed.
    private func announce(_ events: [OutgoingEvent], on connection: SQLConnection) throws {
        guard !events.isEmpty else { return }
        try Outbox.enqueue(events, on: connection)
        connection.afterCommit(outboxChanged)
    }

    private static let columnNames = [
        "id", "sku", "name", "description", "price_cents", "on_hand", "held", "is_active", "archived_at", "created_at",
        "updated_at", "low_stock_threshold",
    ]
    private static let columns = columnNames.joined(separator: ", ")

    /// The columns `record` reads, each named through `table` (an alias of `products`).
    static func columns(of table: String) -> String {
        columnNames.map { "\(table).\($0)" }.joined(separator: ", ")
    }

    static func record(_ row: SQLRow) throws -> ProductRecord {
        ProductRecord(
            id: try row.decode("id"), sku: try row.decode("sku"), name: try row.decode("name"),
            description: try row.decode("description"), priceCents: try row.decode("price_cents"),
            onHand: try row.decode("on_hand"), held: try row.decode("held"), isActive: try row.decode("is_active"),
            archivedAt: try row.decode("archived_at", as: Date?.self),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
            lowStockThreshold: try row.decode("low_stock_threshold", as: Int?.self))
    }

    package func list(scope: ProductScope, filter: ProductFilter, after: ProductListKey?, limit: Int) async throws -> [ProductRecord] {
        var conditions: [SQLQuery] = []
        if scope == .catalog {
            // Spelled as the partial index's predicate, so the planner can use it.
            conditions.append("is_active AND archived_at IS NULL")
        }
        if let prefix = filter.idPrefix {
            // A range on the primary key's index (see `IDPrefix`).
            conditions.append("id BETWEEN \(prefix.lower)::uuid AND \(prefix.upper)::uuid")
        }
        if let sku = filter.sku {
            conditions.append("sku = \(sku)")
        }
        if let search = filter.search {
            let pattern = "%\(Self.escapedForLike(search))%"
            conditions.append("(name ILIKE \(pattern) OR description ILIKE \(pattern))")
        }
        if let after {
            conditions.append("(name, id) > (\(after.name)::text, \(after.id)::uuid)")
        }
        let rows = try await pool.query(
            "SELECT \(unescaped: Self.columns) FROM products \(SQLQuery.filter(conditions)) ORDER BY name, id LIMIT \(limit)")
        return try rows.map(Self.record)
    }

    /// `text` matched literally inside a LIKE pattern: `\`, `%` and `_` lose their meaning.
    static func escapedForLike(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    package func find(id: UUID) async throws -> ProductRecord? {
        try await pool.query("SELECT \(unescaped: Self.columns) FROM products WHERE id = \(id)").first.map(Self.record)
    }

    /// The products of `ids` that exist, in id order. One id (a cart's new line, a one-line
    /// checkout) is looked up as `find(id:)` is: PostgreSQL keeps one plan for that statement,
    /// while it plans `= ANY` of an array anew at each call, since a plan made for the array at
    /// hand always looks cheaper to it than one for an array of unknown length.
    package func find(ids: [UUID]) async throws -> [ProductRecord] {
        if ids.count == 1 { return try await find(id: ids[0]).map { [$0] } ?? [] }
        guard !ids.isEmpty else { return [] }
        return try await pool.query(
            "SELECT \(unescaped: Self.columns) FROM products WHERE id = ANY(\(SQLArray(ids))::uuid[]) ORDER BY id"
        ).map(Self.record)
    }

    package func create(_ product: ProductCreate) async throws -> ProductRecord {
        let id = UUID.random()
        let stock = product.stock ?? 0
        return try await Self.mappingSKUConflict {
            try await pool.transaction { connection in
                let rows = try connection.query(
                    """
                    INSERT INTO products (id, sku, name, description, price_cents, on_hand, is_active, low_stock_threshold)
                    VALUES (\(id), \(product.sku ?? Self.generatedSKU(for: id)), \(product.name), \(product.description ?? ""), \(product.priceCents), \(stock), \(product.isActive ?? true), \(product.lowStockThreshold)::integer) RETURNING \(unescaped: Self.columns)
                    """)
                if stock != 0 {
                    try Self.recordInLedger(connection, productID: id, delta: stock, reason: "opening stock")
                }
                let created = try Self.record(rows[0])
                try announce([try ProductEvents.product(created, EventType.productCreated)], on: connection)
                return created
            }
        }
    }

    /// A sku for a product created without one: unique because the id is.
    static func generatedSKU(for id: UUID) -> String {
        "P-" + id.uuidString.replacingOccurrences(of: "-", with: "")
    }

    package func update(id: UUID, with changes: ProductUpdate) async throws -> ProductRecord? {
        try await Self.mappingSKUConflict {
            try await pool.transaction { connection in
                // Locked, so the ledger's delta is taken against the units this update replaces, and
                // no reservation slips in between the check against what is held and the write.
                guard
                    let row = try connection.query(
                        "SELECT on_hand, held, archived_at IS NOT NULL AS archived FROM products WHERE id = \(id) FOR UPDATE"
                    ).first
                else {
                    return nil
                }
                // Deleting is for good: past orders keep the product, but it never goes back on sale.
                if changes.isActive == true, try row.decode("archived", as: Bool.self) {
                    throw APIError.conflict(
                        "product_archived", "the product was deleted (archived) and cannot be put back on sale; create a new one",
                        field: "is_active")
                }
                let previousOnHand: Int = try row.decode("on_hand")
                if let stock = changes.stock { try Self.checkNotBelowHeld(stock, held: try row.decode("held"), field: "stock") }
                let rows = try connection.query(
                    """
                    UPDATE products SET
                        sku = COALESCE(\(changes.sku), sku), name = COALESCE(\(changes.name), name), description = COALESCE(\(changes.description), description),
                        price_cents = COALESCE(\(changes.priceCents)::bigint, price_cents), on_hand = COALESCE(\(changes.stock)::integer, on_hand),
                        is_active = COALESCE(\(changes.isActive)::boolean, is_active),
                        low_stock_threshold = CASE WHEN \(changes.lowStockThreshold == .cleared) THEN NULL
                            ELSE COALESCE(\(changes.lowStockThreshold?.value)::integer, low_stock_threshold) END,
                        updated_at = now()
                    WHERE id = \(id) RETURNING \(unescaped: Self.columns)
                    """)
                if let stock = changes.stock, stock != previousOnHand {
                    try Self.recordInLedger(connection, productID: id, delta: stock - previousOnHand, reason: "stock set by update")
                }
                let updated = try Self.record(rows[0])
                let move = ProductEvents.StockMove(
                    productID: id, before: previousOnHand - updated.held, after: updated.available, threshold: updated.lowStockThreshold)
                try announce(
                    [try ProductEvents.product(updated, EventType.productChanged)] + (try events.stock([move], cause: "update")),
                    on: connection)
                return updated
            }
        }
    }

    package func archive(id: UUID) async throws -> Bool {
        try await pool.transaction { connection in
            let archived = try connection.query(
                """
                UPDATE products SET archived_at = now(), updated_at = now() WHERE id = \(id) AND archived_at IS NULL
                RETURNING \(unescaped: Self.columns)
                """)
            guard let row = archived.first else {
                // Archived before, which changes nothing and announces nothing; or no such product.
                return !(try connection.query("SELECT 1 FROM products WHERE id = \(id)").isEmpty)
            }
            try announce([try ProductEvents.product(try Self.record(row), EventType.productArchived)], on: connection)
            return true
        }
    }

    package func adjustStock(id: UUID, by adjustment: StockAdjustment) async throws -> ProductRecord? {
        try await pool.transaction { connection in
            guard let row = try connection.query("SELECT on_hand, held FROM products WHERE id = \(id) FOR UPDATE").first else {
                return nil
            }
            let (onHand, held): (Int, Int) = (try row.decode("on_hand"), try row.decode("held"))
            let newOnHand = onHand + adjustment.delta
            // Units that orders hold cannot be taken away: only what is available can.
            guard newOnHand >= held else {
                throw APIError.conflict(ErrorCode.insufficientStock, "only \(onHand - held) available", field: "delta")
            }
            guard newOnHand <= ProductRules.stock.upperBound else {
                throw APIError.conflict(
                    ErrorCode.stockLimit, "stock on hand would exceed \(ProductRules.stock.upperBound)", field: "delta")
            }
            let rows = try connection.query(
                "UPDATE products SET on_hand = \(newOnHand), updated_at = now() WHERE id = \(id) RETURNING \(unescaped: Self.columns)")
            try Self.recordInLedger(connection, productID: id, delta: adjustment.delta, reason: adjustment.reason)
            let adjusted = try Self.record(rows[0])
            try announce(
                try events.stock(
                    [ProductEvents.StockMove(productID: id, before: onHand - held, after: adjusted.available, threshold: adjusted.lowStockThreshold)],
                    cause: "adjustment"),
                on: connection)
            return adjusted
        }
    }

    package func importCatalog(_ entries: [CatalogEntry]) async throws -> ImportResult {
        try await Self.mappingSKUConflict {
            try await pool.transaction { connection in
                // Locked in id order, as reservations lock products, so an import and a checkout cannot deadlock.
                let existing = try connection.query(
                    "SELECT \(unescaped: Self.columns) FROM products WHERE sku = ANY(\(SQLArray(entries.map(\.sku)))::text[]) ORDER BY id FOR UPDATE"
                ).map(Self.record)
                let bySKU = Dictionary(uniqueKeysWithValues: existing.map { ($0.sku, $0) })

                var created: [ProductRecord] = []
                var updated: [ProductRecord] = []
                var ledger: [(id: UUID, delta: Int)] = []
                for (index, entry) in entries.enumerated() {
                    guard let current = bySKU[entry.sku] else {
                        let new = entry.newProduct()
                        created.append(new)
                        if new.onHand != 0 { ledger.append((new.id, new.onHand)) }
                        continue
                    }
                    let merged = entry.applied(to: current)
                    guard merged != current else { continue }
                    try Self.checkNotBelowHeld(merged.onHand, held: current.held, field: "products.\(index).stock")
                    updated.append(merged)
                    if merged.onHand != current.onHand { ledger.append((current.id, merged.onHand - current.onHand)) }
                }

                if !created.isEmpty {
                    try connection.execute(
                        """
                        INSERT INTO products (id, sku, name, description, price_cents, on_hand, is_active, low_stock_threshold)
                        SELECT * FROM unnest(\(Self.columnArrays(created, sku: true)))
                        """)
                }
                if !updated.isEmpty {
                    try connection.execute(
                        """
                        UPDATE products AS p SET
                            name = u.name, description = u.description, price_cents = u.price_cents,
                            on_hand = u.on_hand, is_active = u.is_active, low_stock_threshold = u.low_stock_threshold, updated_at = now()
                        FROM unnest(\(Self.columnArrays(updated, sku: false)))
                            AS u (id, name, description, price_cents, on_hand, is_active, low_stock_threshold)
                        WHERE p.id = u.id
                        """)
                }
                if !ledger.isEmpty {
                    try connection.execute(
                        """
                        INSERT INTO stock_ledger (product_id, delta, reason)
                        SELECT id, delta, 'catalog import' FROM unnest(\(SQLArray(ledger.map(\.id)))::uuid[], \(SQLArray(ledger.map(\.delta)))::integer[]) AS l (id, delta)
                        """)
                }
                let moves = updated.compactMap { merged in
                    bySKU[merged.sku].map {
                        ProductEvents.StockMove(
                            productID: merged.id, before: $0.available, after: merged.available, threshold: merged.lowStockThreshold)
                    }
                }
                try announce(
                    try created.map { try ProductEvents.product($0, EventType.productCreated) }
                        + updated.map { try ProductEvents.product($0, EventType.productChanged) }
                        + events.stock(moves, cause: "import"),
                    on: connection)
                return ImportResult(
                    created: created.count, updated: updated.count,
                    unchanged: entries.count - created.count - updated.count)
            }
        }
    }

    /// The columns of `products` as parallel arrays, one parameter each, for `unnest`.
    /// The products' columns as typed array parameters for `unnest`, in table order.
    private static func columnArrays(_ products: [ProductRecord], sku: Bool) -> SQLQuery {
        let skus: SQLQuery = sku ? "\(SQLArray(products.map(\.sku)))::text[], " : ""
        return """
            \(SQLArray(products.map(\.id)))::uuid[], \(skus)\(SQLArray(products.map(\.name)))::text[], \
            \(SQLArray(products.map(\.description)))::text[], \(SQLArray(products.map(\.priceCents)))::bigint[], \
            \(SQLArray(products.map(\.onHand)))::integer[], \(SQLArray(products.map(\.isActive)))::boolean[], \
            \(SQLArray(products.map(\.lowStockThreshold)))::integer[]
            """
    }

    package func isEmpty() async throws -> Bool {
        try await pool.query("SELECT NOT EXISTS (SELECT 1 FROM products) AS empty")[0].decode("empty")
    }

    /// 409 `stock_below_held` for an absolute count of units on hand below what orders hold: those
    /// units are sold, and cannot be shipped from a warehouse that does not have them.
    private static func checkNotBelowHeld(_ onHand: Int, held: Int, field: String) throws {
        guard onHand >= held else {
            throw APIError.conflict(
                ErrorCode.stockBelowHeld, "orders hold \(held) units; stock on hand cannot be set below that", field: field)
        }
    }

    private static func recordInLedger(_ connection: SQLConnection, productID: UUID, delta: Int, reason: String) throws {
        try connection.execute(
            "INSERT INTO stock_ledger (product_id, delta, reason) VALUES (\(productID), \(delta), \(reason))")
    }

    /// Turns a duplicate sku into 409 `sku_taken`; the unique index decides, so racing writers cannot both win.
    private static func mappingSKUConflict<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as SQLError where error.kind == .uniqueViolation && error.constraint == "products_sku_key" {
            throw APIError.conflict(ErrorCode.skuTaken, "another product has this sku", field: "sku")
        }
    }
}
