import EcomAPI
import EcomPostgres
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Keeps the `ProductCache` of every products process sharing a database fresh.
///
/// A process that commits a change calls `changed`: its own cache is invalidated at once, before the
/// write answers, and the change goes to the others as a NOTIFY sent after the commit, in a transaction
/// of its own (`PostgresPool.notify`). Changes that arrive while a NOTIFY is in flight are merged and
/// sent together by the next one, so a burst of changes costs a round trip per burst, not per change.
/// Each process LISTENs on a connection of its own; its cache serves only while that connection
/// listens, and starts empty each time it listens again, since notifications sent in between are lost.
package final class CatalogFreshness: Sendable {
    package let cache: ProductCache
    private let pool: PostgresPool
    private let channel: String
    private let logger: Logger
    /// Tells this process's notifications from others': it has applied its own already.
    private let origin: String
    private let pending = Mutex<CatalogChange?>(nil)
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    package let listener: PostgresListener
    /// Round trips that sent notifications, and the changes they carried.
    private let sent = Atomic<Int>(0)
    private let notices = Counter(label: "ecom_products_cache_notify_batches_total")

    /// Ids per NOTIFY: a payload must stay under PostgreSQL's 8000 bytes.
    static let idsPerNotification = 200
    /// Past this many ids in one batch, other processes are told to drop everything instead.
    static let maximumIDsPerBatch = 2_000

    /// `url` is the database's, for the listening connection; `pool` sends the notifications.
    package init(cache: ProductCache, pool: PostgresPool, url: String, logger: Logger) {
        self.cache = cache
        self.pool = pool
        self.logger = logger
        channel = "ecom_catalog_" + (pool.schema ?? "public")
        let origin = String(UUID().uuidString.prefix(8)).lowercased()
        self.origin = origin
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        listener = PostgresListener(url: url, channel: channel, logger: logger) { event in
            switch event {
            case .listening: cache.startServing()
            case .lost: cache.stopServing()
            case .notification(let notification):
                guard let decoded = Self.decode(notification.payload) else {
                    cache.invalidate(.everything)
                    return
                }
                if decoded.origin != origin { cache.invalidate(decoded.change) }
            }
        }
    }

    /// Call once `change` is committed, before answering the request that made it.
    package func changed(_ change: CatalogChange) {
        cache.invalidate(change)
        tellOthers(change)
    }

    /// Call once a stock change that left products as `records` is committed, with a cache ticket
    /// taken while it held their rows (`ProductCache.refill`): like `changed(.products(…))`, but this
    /// process keeps the new encodings, so its next read of them costs no query.
    func changed(_ records: [ProductRecord], ticket: ProductCache.Ticket?) {
        let ids = Set(records.map(\.id))
        do {
            let encoder = JSONEncoder.ecom
            cache.refill(try records.map { (id: $0.id, product: try ProductsController.encoded($0, with: encoder)) }, ticket: ticket)
        } catch {
            cache.invalidate(.products(ids))
        }
        tellOthers(.products(ids))
    }

    /// Has the notifier send `change` to the other processes, with whatever else is pending.
    private func tellOthers(_ change: CatalogChange) {
        pending.withLock { $0 = $0?.merged(with: change) ?? change }
        wake.yield()
    }

    /// Where an event handler's stock changes go.
    var updates: CatalogUpdates {
        CatalogUpdates(
            ticket: { [cache] in cache.ticket() }, changed: { self.changed($0) },
            refilled: { records, ticket in self.changed(records, ticket: ticket) })
    }

    /// The listener and the notifier, to run for as long as the service does.
    package var services: [any Service] {
        [ListenerService(listener: listener), NotifierService(freshness: self)]
    }

    /// Sends what changed since the last NOTIFY, on each wake; a failed NOTIFY is retried after a pause.
    fileprivate func sendNotifications() async {
        var failures = 0
        for await _ in wakes {
            while let change = pending.withLock({ state in defer { state = nil }; return state }) {
                do {
                    try await pool.notify(channel: channel, payloads: payloads(for: change))
                    sent.add(1, ordering: .relaxed)
                    notices.increment()
                    failures = 0
                } catch {
                    pending.withLock { $0 = $0.map { change.merged(with: $0) } ?? change }
                    failures += 1
                    if failures % 20 == 1 {
                        logger.warning(
                            "could not tell other processes about a catalog change; retrying",
                            metadata: ["error": "\(error)", "attempt": "\(failures)"])
                    }
                    try? await Task.sleep(for: .milliseconds(100))
                    if Task.isCancelled { return }
                }
            }
        }
    }

    /// How many round trips have sent notifications so far.
    package var batchesSent: Int { sent.load(ordering: .relaxed) }

    fileprivate func stopNotifier() {
        wake.finish()
    }

    /// `origin kind [id,id,…]`: kind `p` for `.products`, `l` for `.listings`, `a` for `.everything`.
    func payloads(for change: CatalogChange) -> [String] {
        let (kind, ids): (String, Set<UUID>)
        switch change {
        case .products(let changed): (kind, ids) = ("p", changed)
        case .listings(let changed): (kind, ids) = ("l", changed)
        case .everything: (kind, ids) = ("a", [])
        }
        guard kind != "a", ids.count <= Self.maximumIDsPerBatch else { return ["\(origin) a"] }
        let texts = ids.map(\.lowercased)
        return stride(from: 0, to: max(texts.count, 1), by: Self.idsPerNotification).map { start in
            "\(origin) \(kind) " + texts[start..<min(start + Self.idsPerNotification, texts.count)].joined(separator: ",")
        }
    }

    /// The sender and change of a payload; nil if it cannot be read.
    static func decode(_ payload: String) -> (origin: String, change: CatalogChange)? {
        let parts = payload.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return nil }
        var ids = Set<UUID>()
        if parts.count == 3, !parts[2].isEmpty {
            for text in parts[2].split(separator: ",") {
                guard let id = UUID(hyphenated: text) else { return nil }
                ids.insert(id)
            }
        }
        switch (parts[1], parts.count) {
        case ("a", 2): return (String(parts[0]), .everything)
        case ("p", 3): return (String(parts[0]), .products(ids))
        case ("l", 3): return (String(parts[0]), .listings(ids))
        default: return nil
        }
    }
}

private struct ListenerService: Service {
    let listener: PostgresListener

    func run() async throws {
        await withGracefulShutdownHandler {
            await listener.run()
        } onGracefulShutdown: {
            listener.stop()
        }
    }
}

private struct NotifierService: Service {
    let freshness: CatalogFreshness

    func run() async throws {
        // Changes still pending at shutdown are sent before the stream ends.
        await withGracefulShutdownHandler {
            await freshness.sendNotifications()
        } onGracefulShutdown: {
            freshness.stopNotifier()
        }
    }
}

/// Where an event handler tells of the stock changes it commits: a process's `CatalogFreshness`
/// (`updates`), or, by default, nowhere.
struct CatalogUpdates: Sendable {
    /// A ticket for `refilled`, taken while the handler holds the changed products' rows.
    var ticket: @Sendable () -> ProductCache.Ticket? = { nil }
    /// Called once the change is committed.
    var changed: @Sendable (CatalogChange) -> Void = { _ in }
    /// Called once a change that left products as these records is committed, with the ticket.
    var refilled: @Sendable ([ProductRecord], ProductCache.Ticket?) -> Void = { _, _ in }
}

/// What a committed write changed, as far as the catalog's cached answers are concerned.
package enum CatalogChange: Sendable, Equatable {
    /// Fields of these products that no list filters or sorts by (stock, price): their own encoded
    /// bytes are stale, but every cached page still holds the same products in the same order.
    case products(Set<UUID>)
    /// These products, and possibly which products a page holds or their order: a product created,
    /// renamed, re-described, given another sku, taken off or put on sale, archived.
    case listings(Set<UUID>)
    /// Anything: an import, or changes this process may have missed.
    case everything

    /// One change that covers both.
    func merged(with other: CatalogChange) -> CatalogChange {
        switch (self, other) {
        case (.everything, _), (_, .everything): .everything
        case (.products(let a), .products(let b)): .products(a.union(b))
        case (.products(let a), .listings(let b)), (.listings(let a), .products(let b)), (.listings(let a), .listings(let b)):
            .listings(a.union(b))
        }
    }
}
