import EcomPostgres
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The newest part of the event log in memory, read once after each commit that logged events
/// and shared by every open stream, so that a thousand streams cost one query per commit, not a
/// thousand.
///
/// It holds the events with seq in `(floor, head]`, up to `capacity` of them. A stream whose
/// cursor is at or past `floor` is served from here; one further back (resuming from an older
/// `Last-Event-ID`, or left behind) reads the log in pages until it catches up.
///
/// While no stream is open it reads nothing and forgets the tail; the first stream to open has it
/// read again, and meanwhile reads the log itself, as a stream left behind does.
///
/// It reads at most once per `readPause`, and wakes the streams once per read: events that commit
/// meanwhile go out together, so that a busy store costs each stream at most one write (two,
/// through the gateway) per pause, not one per event, and one wake-up, not a timer of its own.
final class LiveLog: Service, Sendable {
    /// What a stream's wait ended with.
    enum Wake: Sendable {
        /// The log may have grown.
        case changed
        /// Nothing happened for a heartbeat's time.
        case heartbeat
    }

    private struct State {
        var events: [LoggedEvent] = []
        var floor: Int64 = 0
        var head: Int64 = 0
        var loaded = false
        var closed = false
        var subscribers: [Int: AsyncStream<Wake>.Continuation] = [:]
        var nextID = 0
    }

    let log: EventLog
    let capacity: Int
    /// Page size of a stream's catch-up reads.
    let pageSize = 500
    /// The least time between two reads of the tail, so between two writes of events to a stream.
    let readPause = Duration.milliseconds(20)
    private let state = Mutex(State())
    private let bell: AsyncStream<Void>.Continuation
    private let rings: AsyncStream<Void>
    private let logger: Logger

    init(log: EventLog, capacity: Int = 10_000, logger: Logger) {
        self.log = log
        self.capacity = capacity
        self.logger = logger
        (rings, bell) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Call after a commit that logged events.
    func logChanged() {
        bell.yield()
    }

    // MARK: - The tail

    /// Reads what was logged since the last read, on every ring and once a second (events logged
    /// by another process sharing the database), until graceful shutdown, which ends every stream.
    func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [bell] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        bell.yield()
                    }
                }
                for await _ in rings {
                    do {
                        if try await readNew() {
                            // Rings that come meanwhile wait as one.
                            try? await Task.sleep(for: readPause)
                        }
                    } catch {
                        logger.debug("reading the event log failed; will retry", metadata: ["error": "\(error)"])
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: { [self] in
            close()
        }
    }

    private func close() {
        bell.finish()
        let subscribers = state.withLock { state in
            state.closed = true
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    /// Reads what was logged since the last read; true when it woke the streams.
    private func readNew() async throws -> Bool {
        // Nil while nobody listens: the tail is forgotten rather than read.
        let loaded = state.withLock { state -> Bool? in
            guard state.subscribers.isEmpty else { return state.loaded }
            state.loaded = false
            state.events = []
            return nil
        }
        guard let loaded else { return false }
        if !loaded {
            let head = try await log.head()
            state.withLock { state in
                state.floor = head
                state.head = head
                state.loaded = true
            }
        }
        var grew = false
        while true {
            let head = state.withLock { $0.head }
            let page = try await log.events(after: head, limit: pageSize)
            guard let last = page.last else { break }
            state.withLock { state in
                guard state.head == head else { return }
                state.events.append(contentsOf: page)
                state.head = last.seq
                if state.events.count > capacity {
                    let dropped = state.events.count - capacity
                    state.floor = state.events[dropped - 1].seq
                    state.events.removeFirst(dropped)
                }
            }
            grew = true
            if page.count < pageSize { break }
        }
        guard grew || !loaded else { return false }
        wakeAll(.changed)
        return true
    }

    private func wakeAll(_ wake: Wake) {
        for subscriber in state.withLock({ Array($0.subscribers.values) }) { subscriber.yield(wake) }
    }

    // MARK: - Streams

    /// A stream's wake-ups: `.changed` when the log may have grown, `.heartbeat` after `heartbeat`
    /// without one. Nil once the service is shutting down.
    func subscribe(heartbeat: Duration) -> (id: Int, wakes: AsyncStream<Wake>)? {
        let (wakes, continuation) = AsyncStream.makeStream(of: Wake.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state -> Int? in
            guard !state.closed else { return nil }
            defer { state.nextID += 1 }
            state.subscribers[state.nextID] = continuation
            return state.nextID
        }
        guard let id else { return nil }
        // The tail is not read while nobody listens: have it read now.
        bell.yield()
        let beat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: heartbeat)
                if Task.isCancelled { break }
                continuation.yield(.heartbeat)
            }
        }
        continuation.onTermination = { _ in beat.cancel() }
        return (id, wakes)
    }

    func unsubscribe(_ id: Int) {
        state.withLock { $0.subscribers.removeValue(forKey: id) }?.finish()
    }

    /// Where a new stream that names no earlier event starts: the newest event logged.
    func start() async throws -> Int64 {
        if let head = state.withLock({ $0.loaded ? $0.head : nil }) { return head }
        return try await log.head()
    }

    /// The events after `cursor` that a stream has not had yet, and its cursor past them: from
    /// memory when the cursor is that recent, else a page of the log. `more` is true when that
    /// page was full, so the stream reads on before it waits.
    func events(after cursor: Int64, userID: UUID?, orderID: UUID?) async throws -> (events: [LoggedEvent], cursor: Int64, more: Bool) {
        // Memory's floor as it is before the log is read (nil when the tail is not loaded): the log's
        // end is at least that far by then. A floor read afterwards may have passed events that
        // committed after the read, if the tail was loaded meanwhile.
        var floorBefore: Int64?
        let recent = state.withLock { state -> (events: [LoggedEvent], cursor: Int64, more: Bool)? in
            floorBefore = state.loaded ? state.floor : nil
            guard state.loaded, cursor >= state.floor else { return nil }
            // The first event after the cursor, by binary search.
            var low = 0
            var high = state.events.count
            while low < high {
                let middle = (low + high) / 2
                if state.events[middle].seq <= cursor { low = middle + 1 } else { high = middle }
            }
            // At most a page per write, as from the log: what a slow reader has not taken stays here.
            let page = Array(state.events[low..<min(low + pageSize, state.events.count)])
            guard low + page.count < state.events.count, let last = page.last else { return (page, max(state.head, cursor), false) }
            return (page, last.seq, true)
        }
        if let recent {
            let mine = userID == nil && orderID == nil
                ? recent.events : recent.events.filter { (userID == nil || $0.userID == userID) && (orderID == nil || $0.orderID == orderID) }
            return (mine, recent.cursor, recent.more)
        }
        let page = try await log.events(after: cursor, userID: userID, orderID: orderID, limit: pageSize)
        let last = page.last?.seq ?? cursor
        guard page.count < pageSize else { return (page, last, true) }
        // A short page holds every event after the cursor that the stream may see, up to the
        // log's end, which memory's floor before the read cannot pass: the stream goes on from memory.
        return (page, max(last, floorBefore ?? last), false)
    }
}
