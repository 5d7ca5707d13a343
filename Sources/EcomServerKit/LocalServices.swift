import EcomAPI
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The services this process runs, by name, so that the gateway and the other services reach them in
/// memory rather than through a socket.
///
/// A request handed over here goes through the service's whole router, as one from its listener does:
/// its access log, token verification, routes and error answers. A service this process does not run
/// is not here, and callers go over HTTP instead.
package final class LocalServices: Sendable {
    private let services = Mutex<[String: InProcessService]>([:])

    package init() {}

    /// Makes `unit` reachable in memory; a unit built without its router is left to HTTP.
    package func register(_ unit: ServiceUnit) {
        guard let service = unit.inProcess else { return }
        services.withLock { $0[unit.name] = service }
    }

    /// `service` when it runs in this process.
    package func service(_ name: String) -> InProcessService? {
        services.withLock { $0[name] }
    }
}

/// A service's router as its listener answers with it, and the logger its requests log with.
package struct InProcessService: Sendable {
    let responder: RouterResponder<EcomRequestContext>
    let logger: Logger

    /// Call once every route and middleware is on `router` (after `makeApplication`).
    package init(router: Router<EcomRequestContext>, logger: Logger) {
        self.responder = router.buildResponder()
        self.logger = logger
    }
}

/// An in-process answer that did not come within its time: the caller answers as for an upstream timeout.
package struct InProcessTimeout: Error {}

extension InProcessService {
    /// A request for `path` with `headers` (and `Content-Length` when there is a body), answered as
    /// `respond(to:timeout:)` answers.
    package func respond(
        _ method: HTTPRequest.Method, _ path: String, headers: HTTPFields, body: ByteBuffer?, timeout: Duration
    ) async throws -> Response {
        var headers = headers
        if let body { headers[.contentLength] = String(body.readableBytes) }
        let head = HTTPRequest(method: method, scheme: nil, authority: nil, path: path, headerFields: headers)
        return try await respond(to: Request(head: head, body: RequestBody(buffer: body ?? ByteBuffer())), timeout: timeout)
    }

    /// Answers `request` as the service's listener would, given at most `timeout`: past it the caller
    /// gets `InProcessTimeout` at once and the work is cancelled, as a timed-out HTTP call closes its
    /// connection. Cancelling the calling task cancels the work too.
    package func respond(to request: Request, timeout: Duration) async throws -> Response {
        var logger = logger
        logger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
        let context = EcomRequestContext(inProcess: logger)
        let race = ResponseRace()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.begin(continuation)
                let work = Task {
                    let result = await Result { try await responder.respond(to: request, context: context) }
                    race.finish(with: result)
                }
                race.arm(work: work, deadline: .now + timeout)
            }
        } onCancel: {
            race.finish(with: .failure(CancellationError()))
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}

/// One in-process request's answer, its deadline and its cancellation, whichever comes first wins.
final class ResponseRace: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Response, any Error>?
        var work: Task<Void, Never>?
        var deadlineID: Int?
        var outcome: Result<Response, any Error>?
    }

    private let state = Mutex(State())

    /// Holds the continuation to resume; resumes it at once if the race ended first (a caller already cancelled).
    func begin(_ continuation: CheckedContinuation<Response, any Error>) {
        let early = state.withLock { state in
            if state.outcome == nil { state.continuation = continuation }
            return state.outcome
        }
        if let early { continuation.resume(with: early) }
    }

    /// Records the work and its deadline, unless the race is already over.
    func arm(work: Task<Void, Never>, deadline: ContinuousClock.Instant) {
        let over = state.withLock { state in
            guard state.outcome == nil else { return true }
            state.work = work
            return false
        }
        if over {
            work.cancel()
            return
        }
        let id = Deadlines.shared.add(deadline) { [self] in finish(with: .failure(InProcessTimeout())) }
        let lateID = state.withLock { state -> Int? in
            guard state.outcome == nil else { return id }
            state.deadlineID = id
            return nil
        }
        if let lateID { Deadlines.shared.remove(lateID) }
    }

    /// Ends the race with `outcome` if it is the first to arrive; a failure cancels the work.
    func finish(with outcome: Result<Response, any Error>) {
        let ended = state.withLock { state -> (CheckedContinuation<Response, any Error>?, Task<Void, Never>?, Int?)? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { state.continuation = nil }
            return (state.continuation, state.work, state.deadlineID)
        }
        guard let (continuation, work, deadlineID) = ended else { return }
        if let deadlineID { Deadlines.shared.remove(deadlineID) }
        if case .failure = outcome { work?.cancel() }
        continuation?.resume(with: outcome)
    }
}

/// The deadlines of in-process requests, swept by one task a few times a second: a request's deadline
/// then costs a lock and a dictionary entry, not a timer of its own.
final class Deadlines: Sendable {
    static let shared = Deadlines(interval: .milliseconds(20))

    private struct State {
        var entries: [Int: (deadline: ContinuousClock.Instant, expire: @Sendable () -> Void)] = [:]
        var nextID = 0
        var sweeping = false
    }

    private let state = Mutex(State())
    private let interval: Duration

    init(interval: Duration) {
        self.interval = interval
    }

    func add(_ deadline: ContinuousClock.Instant, expire: @escaping @Sendable () -> Void) -> Int {
        let (id, startSweeper) = state.withLock { state in
            defer { state.nextID += 1 }
            state.entries[state.nextID] = (deadline, expire)
            let start = !state.sweeping
            state.sweeping = true
            return (state.nextID, start)
        }
        if startSweeper { Task.detached { [self] in await sweep() } }
        return id
    }

    func remove(_ id: Int) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    /// Expires what is due until no deadline is left, then stops; the next `add` starts it again.
    private func sweep() async {
        while true {
            try? await Task.sleep(for: interval)
            let now = ContinuousClock.now
            let (due, done) = state.withLock { state in
                let due = state.entries.filter { $0.value.deadline <= now }
                for id in due.keys { state.entries.removeValue(forKey: id) }
                if state.entries.isEmpty { state.sweeping = false }
                return (due.values.map(\.expire), !state.sweeping)
            }
            for expire in due { expire() }
            if done { return }
        }
    }
}

/// Collects an in-process response's body, as an HTTP client collects one from the wire.
private struct CollectingBodyWriter: ResponseBodyWriter {
    final class Collected {
        let limit: Int
        var buffer = ByteBuffer()

        init(limit: Int) {
            self.limit = limit
        }
    }

    let collected: Collected

    mutating func write(_ part: ByteBuffer) async throws {
        guard collected.buffer.readableBytes + part.readableBytes <= collected.limit else { throw NIOTooManyBytesError(maxBytes: collected.limit) }
        collected.buffer.writeImmutableBuffer(part)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

extension ResponseBody {
    /// The whole body, at most `limit` bytes.
    package consuming func collect(upTo limit: Int) async throws -> ByteBuffer {
        let collected = CollectingBodyWriter.Collected(limit: limit)
        try await write(CollectingBodyWriter(collected: collected))
        return collected.buffer
    }
}
