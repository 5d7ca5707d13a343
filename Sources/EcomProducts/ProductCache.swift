import EcomAPI
import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import NIOCore
import Synchronization

/// The encoded answers of the public catalog reads, kept until a change makes them stale, so a read
/// of data that has not changed costs no query and no JSON encoding.
///
/// Two maps: each product's encoded JSON (as the catalog, the product route and the lookup show it,
/// whether or not it is on sale), and each catalog page's list of product ids and its cursor. A page is
/// answered by joining its products' bytes; a stock or price change so drops one product's bytes and no
/// page, and only a change that can move products between pages drops the pages.
///
/// Freshness: whoever commits a change calls `invalidate` before it answers (read-your-writes), or
/// `refill` for a reservation, which keeps its products as it left them, and tells the other processes
/// (`CatalogFreshness`). A read takes a `Ticket` before it queries, and it
/// stores a product only if no invalidation since named that product (or everything), and a page only
/// if no invalidation since dropped the pages, so a read that saw the data before a change cannot store
/// it after that change's invalidation, while a checkout busy on one product keeps no other out. While `isServing` is false (the listener that
/// hears other processes' changes is not connected) nothing is read from or stored in the cache.
/// Entries also expire after `Limits.maximumAge`, a backstop for a change whose notice was lost (a
/// process killed between its commit and its NOTIFY, a write made outside ecom).
///
/// Memory is bounded by `Limits`: entry counts, and bytes counted as encoded bytes plus an estimate of
/// each entry's overhead; the oldest entries are evicted first.
package final class ProductCache: Sendable {
    package struct Limits: Sendable {
        package var maximumProducts = 20_000
        package var maximumPages = 2_000
        /// Across both maps.
        package var maximumBytes = 24 * 1024 * 1024
        package var maximumAge: Duration = .seconds(30)

        package init() {}
    }

    /// What identifies a catalog page: its query, normalized.
    struct PageKey: Hashable, Sendable {
        var limit: Int
        var search: String?
        /// The bounds of an id prefix.
        var idLower: UUID?
        var idUpper: UUID?
        var sku: String?
        var afterName: String?
        var afterID: UUID?

        var cost: Int { 96 + (search?.utf8.count ?? 0) + (sku?.utf8.count ?? 0) + (afterName?.utf8.count ?? 0) }
    }

    /// The state of the cache when a read began; see `store`.
    struct Ticket: Sendable {
        fileprivate var generation: UInt64
    }

    /// One product's encoded JSON, and whether the catalog shows it.
    struct EncodedProduct: Sendable {
        var json: ByteBuffer
        var isOnSale: Bool
    }

    private struct StoredProduct {
        var product: EncodedProduct
        var stored: ContinuousClock.Instant
    }

    private struct StoredPage {
        var ids: [UUID]
        /// What follows the items: `],"next_cursor":…}`.
        var tail: ByteBuffer
        var stored: ContinuousClock.Instant
    }

    private struct State {
        var isServing = false
        /// Bumped by every invalidation; see `Ticket`.
        var generation: UInt64 = 0
        /// The last generations that dropped everything, and the pages.
        var everythingDropped: UInt64 = 0
        var pagesDropped: UInt64 = 0
        /// The latest invalidations of named products, oldest first, at most `remembered`.
        var recent: [(generation: UInt64, ids: Set<UUID>)] = []
        var products: BoundedMap<UUID, StoredProduct>
        var pages: BoundedMap<PageKey, StoredPage>

        static let remembered = 256

        mutating func dropAll() {
            products.removeAll()
            pages.removeAll()
            generation &+= 1
            everythingDropped = generation
            pagesDropped = generation
            recent.removeAll()
        }

        mutating func drop(_ ids: Set<UUID>) {
            generation &+= 1
            for id in ids { products.remove(id) }
            if recent.count == Self.remembered { recent.removeFirst() }
            recent.append((generation, ids))
        }

        /// Whether a read that took `ticket` may store anything: the cache serves and was not emptied since.
        func mayStoreAnything(since ticket: Ticket) -> Bool {
            isServing && everythingDropped <= ticket.generation
        }

        /// Keeps `product`'s encoding as found at `now`.
        mutating func keep(_ product: EncodedProduct, for id: UUID, at now: ContinuousClock.Instant) {
            products.insert(StoredProduct(product: product, stored: now), for: id, cost: 96 + product.json.readableBytes)
        }

        /// Whether a read that took `ticket` may store product `id`: no invalidation since named it.
        func mayStore(_ id: UUID, since ticket: Ticket) -> Bool {
            guard ticket.generation != generation else { return true }
            // Invalidations older than the ones remembered may have named it.
            guard let oldest = recent.first, oldest.generation <= ticket.generation + 1 else { return false }
            return !recent.contains { $0.generation > ticket.generation && $0.ids.contains(id) }
        }
    }

    package let limits: Limits
    private let state: Mutex<State>
    private let hits: [Read: Counter]
    private let misses: [Read: Counter]
    private let invalidations = Counter(label: "ecom_products_cache_invalidations_total")

    /// The reads the cache answers, as its metrics name them.
    enum Read: String, CaseIterable, Sendable {
        case page, product, lookup
    }

    package init(limits: Limits = Limits()) {
        self.limits = limits
        let bytes = Budget(maximum: limits.maximumBytes)
        state = Mutex(
            State(
                products: BoundedMap(maximumCount: limits.maximumProducts, budget: bytes),
                pages: BoundedMap(maximumCount: limits.maximumPages, budget: bytes)))
        hits = Dictionary(uniqueKeysWithValues: Read.allCases.map {
            ($0, Counter(label: "ecom_products_cache_hits_total", dimensions: [("read", $0.rawValue)]))
        })
        misses = Dictionary(uniqueKeysWithValues: Read.allCases.map {
            ($0, Counter(label: "ecom_products_cache_misses_total", dimensions: [("read", $0.rawValue)]))
        })
    }

    // MARK: - Serving

    /// Whether answers are cached: false until the listener listens, and while it is disconnected.
    package var isServing: Bool { state.withLock { $0.isServing } }

    /// Starts serving from an empty cache: anything stored before may have missed changes.
    package func startServing() {
        state.withLock { state in
            state.dropAll()
            state.isServing = true
        }
    }

    /// Stops serving until `startServing`, dropping everything; reads in flight store nothing.
    package func stopServing() {
        state.withLock { state in
            state.dropAll()
            state.isServing = false
        }
    }

    /// Drops whatever `change` made stale.
    package func invalidate(_ change: CatalogChange) {
        invalidations.increment()
        state.withLock { state in
            switch change {
            case .products(let ids):
                state.drop(ids)
            case .listings(let ids):
                state.drop(ids)
                state.pages.removeAll()
                state.pagesDropped = state.generation
            case .everything:
                state.dropAll()
            }
        }
    }

    /// Entries held now: products' encodings and pages.
    package var count: (products: Int, pages: Int) {
        state.withLock { ($0.products.count, $0.pages.count) }
    }

    /// Bytes the entries are counted as, against `Limits.maximumBytes`.
    package var cost: Int {
        state.withLock { $0.products.budget.used }
    }

    // MARK: - Reads

    /// A ticket for a read about to query the database, or nil if the cache is not serving.
    func ticket() -> Ticket? {
        state.withLock { $0.isServing ? Ticket(generation: $0.generation) : nil }
    }

    /// Product `id`'s encoding, if cached and fresh.
    func product(_ id: UUID, for read: Read) -> EncodedProduct? {
        let now = ContinuousClock.now
        let found = state.withLock { state -> EncodedProduct? in
            guard state.isServing, let stored = state.products[id], stored.stored.duration(to: now) < limits.maximumAge else { return nil }
            return stored.product
        }
        (found == nil ? misses : hits)[read]?.increment()
        return found
    }

    /// The encodings of those of `ids` that are cached, by id; a lookup's hit when it has them all.
    func products(_ ids: Set<UUID>) -> [UUID: EncodedProduct] {
        let now = ContinuousClock.now
        let found = state.withLock { state in
            guard state.isServing else { return [UUID: EncodedProduct]() }
            var found: [UUID: EncodedProduct] = [:]
            for id in ids {
                if let stored = state.products[id], stored.stored.duration(to: now) < limits.maximumAge { found[id] = stored.product }
            }
            return found
        }
        (found.count == ids.count ? hits : misses)[.lookup]?.increment()
        return found
    }

    /// The whole body of a cached page, if the page and each of its products are cached and fresh.
    func page(_ key: PageKey) -> ByteBuffer? {
        let now = ContinuousClock.now
        let parts = state.withLock { state -> (fragments: [ByteBuffer], tail: ByteBuffer)? in
            guard state.isServing, let page = state.pages[key], page.stored.duration(to: now) < limits.maximumAge else { return nil }
            var fragments: [ByteBuffer] = []
            fragments.reserveCapacity(page.ids.count)
            for id in page.ids {
                guard let stored = state.products[id], stored.stored.duration(to: now) < limits.maximumAge else { return nil }
                fragments.append(stored.product.json)
            }
            return (fragments, page.tail)
        }
        guard let parts else {
            misses[.page]?.increment()
            return nil
        }
        hits[.page]?.increment()
        return EncodedJSON.page(parts.fragments, tail: parts.tail)
    }

    // MARK: - Stores

    /// What `invalidate(.products(…))` does for a committed change of these products' stock, and
    /// then keeps their encodings as the change left them, so the next read finds them.
    ///
    /// `ticket` was taken while the change held the products' rows locked, before its commit: any
    /// other change of one of them committed either before that (its invalidation, if it comes
    /// after the ticket, keeps this one from storing that product) or after this one's commit (its
    /// invalidation, before or after this call, keeps the product out or drops it). A product is
    /// stored only when no invalidation named it since the ticket; it is dropped either way.
    func refill(_ products: [(id: UUID, product: EncodedProduct)], ticket: Ticket?) {
        invalidations.increment()
        let now = ContinuousClock.now
        state.withLock { state in
            let storable = products.filter { product in
                guard let ticket, state.mayStoreAnything(since: ticket) else { return false }
                return state.mayStore(product.id, since: ticket)
            }
            state.drop(Set(products.map(\.id)))
            for (id, product) in storable { state.keep(product, for: id, at: now) }
        }
    }

    /// Keeps what a read that took `ticket` found, but no product an invalidation named since, no page if
    /// the pages were dropped since, and nothing if the cache stopped serving or was emptied since.
    func store(_ products: [(id: UUID, product: EncodedProduct)], page: (key: PageKey, tail: ByteBuffer)? = nil, ticket: Ticket) {
        let now = ContinuousClock.now
        state.withLock { state in
            guard state.mayStoreAnything(since: ticket) else { return }
            for (id, product) in products where state.mayStore(id, since: ticket) { state.keep(product, for: id, at: now) }
            // A page holds ids only: a change to one of its products leaves it valid, and that product's
            // missing bytes make the next read of the page a miss.
            if let page, state.pagesDropped <= ticket.generation {
                let ids = products.map(\.id)
                state.pages.insert(
                    StoredPage(ids: ids, tail: page.tail, stored: now), for: page.key,
                    cost: page.key.cost + 16 * ids.count + page.tail.readableBytes)
            }
        }
    }
}

/// The catalog's JSON built from each product's own encoding: the encoder writes an array or an
/// object member by member, without spaces, so joining the members' bytes gives the same bytes as
/// encoding the whole (a test holds the two side by side).
enum EncodedJSON {
    /// A product as `JSONEncoder.ecom` writes it.
    static func product(_ product: Product, with encoder: JSONEncoder) throws -> ByteBuffer {
        ByteBuffer(bytes: try encoder.encode(product))
    }

    /// What follows a page's items, `],"next_cursor":…}`: the encoding of an empty page with that cursor,
    /// past its opening.
    static func pageTail(nextCursor: String?, with encoder: JSONEncoder) throws -> ByteBuffer {
        let empty = try encoder.encode(Page<Product>(items: [], nextCursor: nextCursor))
        guard empty.starts(with: pageHead.readableBytesView) else {
            throw EncodingError.invalidValue(nextCursor as Any, .init(codingPath: [], debugDescription: "a page does not start with its items"))
        }
        return ByteBuffer(bytes: empty.dropFirst(pageHead.readableBytes))
    }

    private static let pageHead = ByteBuffer(string: #"{"items":["#)

    static func page(_ items: [ByteBuffer], tail: ByteBuffer) -> ByteBuffer {
        joined(items, head: pageHead, tail: tail)
    }

    private static let arrayHead = ByteBuffer(string: "[")
    private static let arrayTail = ByteBuffer(string: "]")

    static func array(_ items: [ByteBuffer]) -> ByteBuffer {
        joined(items, head: arrayHead, tail: arrayTail)
    }

    private static func joined(_ items: [ByteBuffer], head: ByteBuffer, tail: ByteBuffer) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(items.reduce(head.readableBytes + tail.readableBytes + items.count) { $0 + $1.readableBytes })
        buffer.writeImmutableBuffer(head)
        for (index, item) in items.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeImmutableBuffer(item)
        }
        buffer.writeImmutableBuffer(tail)
        return buffer
    }

    /// A 200 answer with `body`, and the headers Hummingbird's JSON encoder gives one.
    static func response(_ body: ByteBuffer) -> Response {
        var headers = HTTPFields()
        headers.reserveCapacity(4)
        headers.append(HTTPField(name: .contentType, value: "application/json; charset=utf-8"))
        headers.append(HTTPField(name: .contentLength, value: String(body.readableBytes)))
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
    }
}

/// Bytes shared by the maps of one cache.
private final class Budget: @unchecked Sendable {
    // Only touched under the cache's lock.
    let maximum: Int
    var used = 0

    init(maximum: Int) {
        self.maximum = maximum
    }
}

/// A dictionary that holds at most `maximumCount` entries and keeps the shared `budget` within its
/// maximum, evicting the oldest insertions first.
private struct BoundedMap<Key: Hashable, Value> {
    private var entries: [Key: (value: Value, cost: Int)] = [:]
    /// Keys in insertion order from `head` on; a key removed or inserted again may appear more than once.
    private var arrivals: [Key] = []
    private var head = 0
    let maximumCount: Int
    let budget: Budget

    init(maximumCount: Int, budget: Budget) {
        self.maximumCount = maximumCount
        self.budget = budget
    }

    var count: Int { entries.count }

    subscript(key: Key) -> Value? { entries[key]?.value }

    mutating func insert(_ value: Value, for key: Key, cost: Int) {
        if let old = entries.updateValue((value, cost), forKey: key) {
            budget.used -= old.cost
        } else {
            arrivals.append(key)
        }
        budget.used += cost
        while (entries.count > maximumCount || budget.used > budget.maximum) && head < arrivals.count {
            let oldest = arrivals[head]
            head += 1
            remove(oldest)
        }
        // Keys of removed entries pile up in `arrivals`; rebuilt once they outnumber the live ones.
        if arrivals.count - head > 2 * entries.count + 64 {
            var seen = Set<Key>()
            arrivals = arrivals[head...].filter { entries[$0] != nil && seen.insert($0).inserted }
            head = 0
        }
    }

    mutating func remove(_ key: Key) {
        if let old = entries.removeValue(forKey: key) { budget.used -= old.cost }
    }

    mutating func removeAll() {
        for entry in entries.values { budget.used -= entry.cost }
        entries = [:]
        arrivals = []
        head = 0
    }
}
