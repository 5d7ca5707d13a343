import Logging

/// What the releases before service schemas created in `public`, by the schema each service now uses: every
/// service's tables sat in `public` beside one `public.schema_migrations`. Frozen: no database of those
/// releases can hold anything else, so migrations added since never belong here.
private let releaseTables: [String: (tables: Set<String>, sequences: Set<String>)] = [
    "users": (["users", "refresh_families", "refresh_tokens", "login_failures"], []),
    "products": (["products", "stock_ledger", "reservations", "reservation_lines", "outbox", "inbox"], []),
    "cart": (["carts", "cart_items", "applied_orders", "outbox", "inbox"], ["cart_versions"]),
    "orders": (["orders", "order_lines", "idempotency_keys", "outbox", "inbox"], []),
]

/// Moves the tables an earlier release left in `public` for the service of `schema` into that schema, with
/// their migration history, once: only while `schema` has no history of its own, and only when `public`
/// holds tables the service alone owns. Tables it shares names with (the event tables) then count as its
/// own; if `public` also holds tables of other services, it refuses (`MixedReleaseTablesError`), since whose
/// rows `public.schema_migrations` records can no longer be told. Runs under the caller's migration lock.
func adoptReleaseTables(into schema: String, on connection: PostgresConnection, logger: Logger) throws {
    guard let own = releaseTables[schema] else { return }
    let hasHistory = try !connection.query(
        "SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_migrations'", [schema]
    ).isEmpty
    guard !hasHistory else { return }

    let inPublic = Set(try connection.query("""
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S')
        """).map { try $0.decode("relname", as: String.self) })
    let others = releaseTables.filter { $0.key != schema }.values
    let othersNames = others.reduce(into: Set<String>()) { $0.formUnion($1.tables.union($1.sequences)) }
    let ownNames = own.tables.union(own.sequences)
    guard !inPublic.isDisjoint(with: ownNames.subtracting(othersNames)) else { return }

    let mine = inPublic.intersection(ownNames)
    let foreign = inPublic.intersection(othersNames).subtracting(ownNames)
    guard foreign.isEmpty else {
        throw MixedReleaseTablesError(schema: schema, own: mine.sorted(), foreign: foreign.sorted())
    }
    let history = inPublic.contains("schema_migrations")
    try connection.transaction(isolation: .readCommitted) {
        let target = quotedIdentifier(schema)
        try connection.execute("CREATE SCHEMA IF NOT EXISTS \(target)")
        for table in mine.intersection(own.tables).sorted() {
            // Indexes, constraints and owned sequences (serial, identity) move with the table.
            try connection.execute("ALTER TABLE public.\(quotedIdentifier(table)) SET SCHEMA \(target)")
        }
        for sequence in mine.intersection(own.sequences).sorted() {
            try connection.execute("ALTER SEQUENCE public.\(quotedIdentifier(sequence)) SET SCHEMA \(target)")
        }
        if history {
            try connection.execute("ALTER TABLE public.schema_migrations SET SCHEMA \(target)")
        }
    }
    logger.notice(
        "moved this service's tables from the public schema into its own",
        metadata: ["schema": "\(schema)", "tables": "\(mine.sorted().joined(separator: ", "))"])
}

/// A database whose `public` schema holds the tables of several services, as an earlier release left it when
/// services shared one database: no service takes its tables from it until someone sorts them out.
package struct MixedReleaseTablesError: Error, CustomStringConvertible, Sendable {
    package var schema: String
    package var own: [String]
    package var foreign: [String]

    package var description: String {
        "the database's public schema mixes the tables of several ecom services, as an earlier release left them "
            + "when services shared one database: the \(schema) service's (\(own.joined(separator: ", "))) and "
            + "other services' (\(foreign.joined(separator: ", "))); nothing was changed. Give each service a copy of "
            + "this database with the other services' tables dropped, or move each service's tables into a schema "
            + "named after it (users, products, cart, orders) with the versions they came from in its own "
            + "schema_migrations: see \"Upgrading a database\" in the README"
    }
}
