import EcomAPI
import Foundation
import AsyncHTTPClient
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// One entry of the users service's revocation feed: the access tokens of `userID` issued
/// before `issuedBefore` (whole seconds since 1970) are void.
///
/// `issuedBefore` is the second after the one the revocation was recorded in, so a token
/// issued in that same second counts as earlier: a second's tie is settled by refusing.
package struct Revocation: Codable, Sendable, Equatable {
    package var cursor: Int64
    package var userID: UUID
    package var issuedBefore: Int64

    package init(cursor: Int64, userID: UUID, issuedBefore: Int64) {
        self.cursor = cursor
        self.userID = userID
        self.issuedBefore = issuedBefore
    }

    enum CodingKeys: String, CodingKey {
        case cursor
        case userID = "user_id"
        case issuedBefore = "issued_before"
    }
}

/// An answer of `GET /internal/revocations?since=`: entries after `since` in cursor order, and
/// the cursor to ask from next.
package struct RevocationPage: ResponseCodable, Sendable, Equatable {
    package var items: [Revocation]
    package var cursor: Int64
    /// More entries follow at once; ask again without waiting.
    package var more: Bool

    package init(items: [Revocation], cursor: Int64, more: Bool = false) {
        self.items = items
        self.cursor = cursor
        self.more = more
    }

    /// The most entries one answer holds.
    package static let limit = 500
    /// How far back a service starting fresh needs entries: a token lives 15 minutes, and
    /// clocks may disagree by a minute.
    package static let initialWindow: TimeInterval = TokenService.accessTokenLifetime + 60
}

/// A process's in-memory view of the revocation feed: for each account, the earliest issue
/// time its access tokens must have, and when the feed was last read in full.
package final class RevocationTable: Sendable {
    /// How long the feed may go unread before admin routes are refused.
    package let grace: Duration

    private struct State {
        var issuedBefore: [UUID: Int64] = [:]
        var cursor: Int64?
        var refreshedAt: ContinuousClock.Instant?
        /// Reads the feed to its end now; set by the process's poller while it runs.
        var refresher: (@Sendable () async throws -> Void)?
        /// The read under way on behalf of requests, which every request waiting shares.
        var catchUp: Task<Void, Never>?
    }
    private let state = Mutex(State())

    package init(grace: Duration = .seconds(5)) {
        self.grace = grace
    }

    /// Where the next read of the feed continues; nil before the first.
    package var cursor: Int64? { state.withLock { $0.cursor } }

    /// Takes in a page of the feed. Entries only ever tighten the table, so a page read twice,
    /// or pages read concurrently, leave it as one read would.
    package func apply(_ page: RevocationPage, now: Date = Date()) {
        // Tokens issued before this are expired whatever the table says.
        let horizon = Int64((now.timeIntervalSince1970 - RevocationPage.initialWindow).rounded(.down))
        state.withLock { state in
            for entry in page.items where entry.issuedBefore > horizon {
                state.issuedBefore[entry.userID] = max(state.issuedBefore[entry.userID] ?? .min, entry.issuedBefore)
            }
            state.cursor = max(state.cursor ?? .min, page.cursor)
            if state.issuedBefore.count > 1024 || page.items.isEmpty {
                state.issuedBefore = state.issuedBefore.filter { $0.value > horizon }
            }
        }
    }

    /// Records that the feed was read to its end by a read that started at `instant`.
    package func markRefreshed(at instant: ContinuousClock.Instant) {
        state.withLock { state in
            state.refreshedAt = max(state.refreshedAt ?? instant, instant)
        }
    }

    /// Whether an access token of `userID` issued at `issuedAt` (seconds since 1970) is void.
    package func isRevoked(userID: UUID, issuedAt: Int64) -> Bool {
        guard let before = issuedBefore(userID) else { return false }
        return issuedAt < before
    }

    /// The earliest issue time a token of `userID` may carry, if the account has a revocation.
    package func issuedBefore(_ userID: UUID) -> Int64? {
        state.withLock { $0.issuedBefore[userID] }
    }

    /// Whether the feed was read in full within the grace period.
    package func isCurrent(at instant: ContinuousClock.Instant = .now) -> Bool {
        guard let refreshedAt = state.withLock({ $0.refreshedAt }) else { return false }
        return instant - refreshedAt <= grace
    }

    /// Whether the table is current, reading the feed first if it is not: a request must not be
    /// refused only because the poller's last turn came late (a process starved of CPU for a
    /// few seconds). Concurrent callers share one read; a read that fails or takes longer than
    /// `timeout` leaves the table stale. A read that started after the call and reached the
    /// feed's end makes the table current for this caller however long it took (on a starved
    /// process, longer than the grace period).
    package func catchUp(timeout: Duration = .seconds(2)) async -> Bool {
        let called = ContinuousClock.now
        if isCurrent(at: called) { return true }
        let task = state.withLock { current -> Task<Void, Never>? in
            if let running = current.catchUp { return running }
            guard let refresher = current.refresher else { return nil }
            let task = Task { [self] in
                _ = try? await refresher()
                state.withLock { $0.catchUp = nil }
            }
            current.catchUp = task
            return task
        }
        guard let task else { return false }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await task.value }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return isCurrent() || state.withLock { $0.refreshedAt.map { $0 >= called } ?? false }
    }

    /// Names what reads the feed to its end on demand; nil when the poller stops.
    package func setRefresher(_ refresher: (@Sendable () async throws -> Void)?) {
        state.withLock { $0.refresher = refresher }
    }

    package var readinessCheck: ReadinessCheck {
        { [self] in ("revocations", isCurrent()) }
    }
}

/// Where a process reads the revocation feed from: the users service over HTTP, or, in the
/// users service itself, its database.
package protocol RevocationSource: Sendable {
    /// Entries after `cursor`; without one, those a service starting now needs.
    func revocations(since cursor: Int64?) async throws -> RevocationPage
}

/// The feed of a users service in another process, read with a service token.
package struct ServiceRevocationSource: RevocationSource {
    let client: ServiceClient

    package init(client: ServiceClient) {
        self.client = client
    }

    package func revocations(since cursor: Int64?) async throws -> RevocationPage {
        try await client.send(.GET, InternalPath.revocations + (cursor.map { "?since=\($0)" } ?? ""), requestID: nil)
    }
}

/// Reads the revocation feed into a table about once a second.
///
/// While the source fails it backs off (up to 2 s between attempts) and logs once
/// per outage; the table then goes stale after its grace period, and admin routes are refused
/// until a read succeeds again.
package struct RevocationPoller: Service {
    let table: RevocationTable
    let source: any RevocationSource
    let interval: Duration
    let logger: Logger
    let onStop: @Sendable () async -> Void

    package init(
        table: RevocationTable, source: any RevocationSource, interval: Duration = .seconds(1), logger: Logger,
        onStop: @escaping @Sendable () async -> Void = {}
    ) {
        self.table = table
        self.source = source
        self.interval = interval
        self.logger = logger
        self.onStop = onStop
    }

    /// A poller of the users service's feed at `usersURL`, with an HTTP client of its own that
    /// it closes when it stops.
    package static func polling(
        usersURL: String, caller: String, tokens: TokenService, into table: RevocationTable, logger: Logger
    ) -> RevocationPoller {
        let client = ServiceClient.makeHTTPClient()
        let source = ServiceRevocationSource(
            client: ServiceClient(baseURL: usersURL, caller: caller, tokens: tokens, client: client, timeout: .seconds(2)))
        return RevocationPoller(table: table, source: source, logger: logger, onStop: { try? await client.shutdown() })
    }

    /// Reads the feed to its end now.
    package func refresh() async throws {
        let started = ContinuousClock.now
        var page: RevocationPage
        repeat {
            page = try await source.revocations(since: table.cursor)
            table.apply(page)
        } while page.more && !page.items.isEmpty
        table.markRefreshed(at: started)
    }

    package func run() async throws {
        let started = ContinuousClock.now
        table.setRefresher { [self] in try await refresh() }
        defer { table.setRefresher(nil) }
        var failures = 0
        var warned = false
        var succeeded = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await refresh()
                if warned {
                    logger.notice("revocation feed readable again", metadata: ["failed_reads": "\(failures)"])
                }
                failures = 0
                warned = false
                succeeded = true
            } catch {
                failures += 1
                // Once per outage; at start, only if the feed stays unreadable past the grace
                // period (the users service may still be migrating).
                if !warned && (succeeded || ContinuousClock.now - started > table.grace) {
                    warned = true
                    logger.warning(
                        "cannot read the revocation feed; admin routes are refused while it stays unreadable",
                        metadata: ["error": "\(error)", "grace": "\(table.grace)"])
                }
            }
            let wait = failures == 0 ? interval : min(interval * (1 << min(failures - 1, 1)), .seconds(2))
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                break
            }
        }
        await onStop()
    }
}

extension APIError {
    /// An admin route while the revocation feed is stale: a revoked admin token could not be told apart.
    package static let revocationsUnavailable = Self(
        .serviceUnavailable, code: ErrorCode.revocationsUnavailable,
        message: "admin routes are unavailable while token revocations cannot be checked; try again shortly",
        retryAfter: 2)
}
