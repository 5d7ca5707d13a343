import EcomAPI
import EcomMessaging
import EcomPostgres
import EcomTestSupport
import Foundation
import Logging
import Testing

@testable import EcomOrders

/// Test logs at warning and above only.
let quietLogger = {
    var logger = Logger(label: "orders-test")
    logger.logLevel = .warning
    return logger
}()

/// Where a test's orders live: the PostgreSQL repository on a fresh database, or the in-memory one.
/// The tests of the repository's rules run against both, so the in-memory one used by the
/// controller's tests keeps to what the real one does.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case postgres, memory

    /// PostgreSQL only when a server is configured.
    static var available: [Backend] { ThrowawayDatabase.isAvailable ? allCases : [.memory] }

    var testDescription: String { rawValue }

    func run(_ body: (OrderStore) async throws -> Void) async throws {
        switch self {
        case .memory:
            try await body(.memory(InMemoryOrderRepository()))
        case .postgres:
            try await ThrowawayDatabase.withPool(prefix: "ecom_orders_test", size: 2, migrations: ordersMigrations, logger: quietLogger) {
                try await body(.postgres($0))
            }
        }
    }
}

/// A repository under test, with what the tests need beside it: the events it stored, and moving
/// an order's or a key's start into the past.
struct OrderStore: Sendable {
    var repository: any OrderRepository
    /// The events stored so far, oldest first.
    var announced: @Sendable () async throws -> [Announcement]
    var ageOrder: @Sendable (_ id: UUID, _ seconds: Int) async throws -> Void
    var ageKey: @Sendable (_ key: String, _ userID: UUID, _ seconds: Int) async throws -> Void
    /// Claims a key as an earlier release of ecom did before reading the cart: in progress, no order.
    var leaveInProgress: @Sendable (_ key: String, _ userID: UUID) async throws -> Void
    /// The pool of a PostgreSQL store.
    var pool: PostgresPool?

    static func memory(_ repository: InMemoryOrderRepository) -> OrderStore {
        OrderStore(
            repository: repository, announced: { repository.announced },
            ageOrder: { repository.age(order: $0, by: TimeInterval($1)) },
            ageKey: { repository.age(key: $0, of: $1, by: TimeInterval($2)) },
            leaveInProgress: { repository.leaveInProgress(key: $0, of: $1) })
    }

    static func postgres(_ pool: PostgresPool) -> OrderStore {
        OrderStore(
            repository: PostgresOrderRepository(pool: pool),
            announced: {
                try await pool.query("SELECT body FROM outbox ORDER BY seq").map { row in
                    let event = try JSONDecoder.ecom.decode(
                        Event<OrderShipment>.self, from: Data(try row.decode("body", as: String.self).utf8))
                    return Announcement(type: event.type, orderID: event.data.orderID)
                }
            },
            ageOrder: { id, seconds in
                try await pool.execute(
                    "UPDATE orders SET created_at = created_at - make_interval(secs => \(seconds)::double precision) WHERE id = \(id)")
            },
            ageKey: { key, userID, seconds in
                try await pool.execute(
                    "UPDATE idempotency_keys SET created_at = created_at - make_interval(secs => \(seconds)::double precision) WHERE user_id = \(userID) AND key = \(key)")
            },
            leaveInProgress: { key, userID in
                try await pool.execute("INSERT INTO idempotency_keys (user_id, key, state) VALUES (\(userID), \(key), 'in_progress')")
            },
            pool: pool)
    }

    /// The events stored about `orderID`, oldest first.
    func announced(about orderID: UUID) async throws -> [String] {
        try await announced().filter { $0.orderID == orderID }.map(\.type)
    }

    /// A pending order of `userID` (a new user by default) with two lines.
    func placeOrder(for userID: UUID = UUID(), cartVersion: Int64 = 1, key: String? = nil) async throws -> Order {
        let draft = OrderDraft(id: UUID(), userID: userID, cartVersion: cartVersion, lines: Lines.sample)
        return try #require(try await repository.create(draft, idempotencyKey: key, requestID: "test").order)
    }

    /// Moves an order along `changes`, each of which must apply.
    func move(_ order: Order, through changes: [OrderTransition]) async throws {
        for change in changes {
            let moved = try await repository.transition(id: order.id, userID: nil, change, requestID: "test")
            try #require(moved?.status == change.to, "\(change) of a \(order.status) order")
        }
    }
}

enum Lines {
    static let kettle = OrderLine(productID: UUID(), name: "Kettle", unitPriceCents: 2_499, quantity: 2, lineTotalCents: 4_998)
    static let mug = OrderLine(productID: UUID(), name: "Mug", unitPriceCents: 899, quantity: 1, lineTotalCents: 899)
    static let sample = [mug, kettle]
}
