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
/// holds `schema_migrations` and every table the service alone had (a lone table of another application that
/// shares a name stays where it is). The event tables then count as its own, and history rows of versions it
/// does not know are dropped. If `public` also holds another service's tables, or event tables a service
/// without events cannot own, it refuses (`MixedReleaseTablesError`): whose rows `public.schema_migrations`
/// records can no longer be told. Runs under the caller's migration lock.
func adoptReleaseTables(into schema: String, knownVersions: [Int], on connection: SQLConnection, logger: Logger) throws {
    guard let own = releaseTables[schema] else { return }
    let hasHistory = try !connection.query(
        "SELECT 1 FROM pg_tables WHERE schemaname = \(schema) AND tablename = 'schema_migrations'"
    ).isEmpty
    guard !hasHistory else { return }

    let inPublic = Set(try connection.query("""
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S')
        """).map { try $0.decode("relname", as: String.self) })
    let names = releaseTables.mapValues { $0.tables.union($0.sequences) }
    let shared = Set(names.values.flatMap { $0 }.filter { name in names.values.count { $0.contains(name) } > 1 })
    func isPresent(_ service: String) -> Bool { inPublic.isSuperset(of: names[service]!.subtracting(shared)) }
    guard inPublic.contains("schema_migrations"), isPresent(schema) else { return }

    let ownNames = names[schema]!
    let others = names.filter { $0.key != schema && isPresent($0.key) }.values.reduce(shared) { $0.union($1) }
    let foreign = inPublic.intersection(others).subtracting(ownNames)
    let mine = inPublic.intersection(ownNames)
    guard foreign.isEmpty else {
        throw MixedReleaseTablesError(schema: schema, own: mine.sorted(), foreign: foreign.sorted())
    }
    try connection.transaction(isolation: .readCommitted) {
        let target = quotedIdentifier(schema)
        try connection.execute("CREATE SCHEMA IF NOT EXISTS \(unescaped: target)")
        for table in mine.intersection(own.tables).sorted() {
            // Indexes, constraints and owned sequences (serial, identity) move with the table.
            try connection.execute("ALTER TABLE public.\(unescaped: quotedIdentifier(table)) SET SCHEMA \(unescaped: target)")
        }
        for sequence in mine.intersection(own.sequences).sorted() {
            try connection.execute("ALTER SEQUENCE public.\(unescaped: quotedIdentifier(sequence)) SET SCHEMA \(unescaped: target)")
        }
        try connection.execute("ALTER TABLE public.schema_migrations SET SCHEMA \(unescaped: target)")
        try connection.execute("DELETE FROM \(unescaped: target).schema_migrations WHERE version <> ALL(\(SQLArray(knownVersions)))")
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
