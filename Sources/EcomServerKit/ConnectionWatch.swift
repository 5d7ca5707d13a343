import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// Tells a connection's requests that its client has gone (closed its side or the whole connection), so
/// that their work, a wait for a database connection included, is cancelled rather than finished for
/// nobody.
package final class ConnectionWatch: Sendable {
    private struct State {
        var inputClosed = false
        var waiters: [Int: @Sendable () -> Void] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// The watches of the open connections of every listener in the process, by channel.
    private static let registry = Mutex<[ObjectIdentifier: ConnectionWatch]>([:])

    /// The watch of `channel`, if it was accepted by a limited listener.
    package static func registered(for channel: any Channel) -> ConnectionWatch? {
        registry.withLock { $0[ObjectIdentifier(channel)] }
    }

    static func register(_ watch: ConnectionWatch, for channel: any Channel) {
        let key = ObjectIdentifier(channel)
        registry.withLock { $0[key] = watch }
        channel.closeFuture.whenComplete { _ in
            _ = registry.withLock { $0.removeValue(forKey: key) }
            watch.markInputClosed()
        }
    }


    func markInputClosed() {
        let waiters = state.withLock { state in
            state.inputClosed = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter() }
    }

    /// Calls `action` once the client has gone (at once if it already has), unless `forget` is called with the
    /// returned id first.
    func whenInputClosed(_ action: @escaping @Sendable () -> Void) -> Int? {
        let id = state.withLock { state -> Int? in
            guard !state.inputClosed else { return nil }
            defer { state.nextID += 1 }
            state.waiters[state.nextID] = action
            return state.nextID
        }
        if id == nil { action() }
        return id
    }

    func forget(_ id: Int) {
        _ = state.withLock { $0.waiters.removeValue(forKey: id) }
    }
}

/// The first handler of a limited listener's connections: it sees the client close its side (or the whole
/// connection) before anything else does.
final class ConnectionWatchHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let watch: ConnectionWatch

    init(watch: ConnectionWatch) {
        self.watch = watch
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { watch.markInputClosed() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        watch.markInputClosed()
        context.fireChannelInactive()
    }
}

/// Cancels a request's work when its client goes away before the answer, and logs it as 499 (the client
/// closed the request); a request on a connection that is not watched runs as it is.
///
/// The work runs in a child task started at once on the caller's thread: a request that never waits (such as
/// `/health`) finishes before the child first suspends, and costs neither a hop to another thread nor a
/// registration with the connection's watch.
package struct ClientGoneMiddleware: RouterMiddleware {
    package typealias Context = EcomRequestContext

    package init() {}

    package func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let connection = context.connection else { return try await next(request, context) }
        return try await withoutActuallyEscaping(next) { next in
            let work = UncheckedSendable(next)
            let race = WorkOrClientGone()
            return try await withThrowingTaskGroup(of: Response.self) { group in
                let run: @Sendable () async throws -> Response = {
                    defer { race.settle(.workFinished) }
                    return try await work.value(request, context)
                }
                if #available(macOS 26, *) {
                    group.addImmediateTask(operation: run)
                } else {
                    group.addTask(operation: run)
                }
                if await race.wait(watching: connection) == .workFinished, let response = try await group.next() {
                    return response
                }
                // The group waits for the cancelled work before it returns, and drops its error.
                group.cancelAll()
                context.logger.debug("client gone, request abandoned")
                return Response(status: .init(code: 499, reasonPhrase: "Client Closed Request"))
            }
        }
    }
}

/// Which came first: a request's work finishing, or its client going away (or the request being cancelled).
private final class WorkOrClientGone: Sendable {
    enum Outcome: Sendable {
        case workFinished
        case clientGone
    }

    private struct State {
        var outcome: Outcome?
        var waiter: CheckedContinuation<Outcome, Never>?
    }

    private let state = Mutex(State())

    func settle(_ outcome: Outcome) {
        let waiter = state.withLock { state -> CheckedContinuation<Outcome, Never>? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: outcome)
    }

    /// The outcome, waiting for it (and watching `connection`) only when the work has not already finished.
    func wait(watching connection: ConnectionWatch) async -> Outcome {
        if let outcome = state.withLock({ $0.outcome }) { return outcome }
        let watching = connection.whenInputClosed { [self] in settle(.clientGone) }
        defer { if let watching { connection.forget(watching) } }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let outcome = state.withLock { state -> Outcome? in
                    if state.outcome == nil { state.waiter = continuation }
                    return state.outcome
                }
                if let outcome { continuation.resume(returning: outcome) }
            }
        } onCancel: {
            settle(.clientGone)
        }
    }
}

/// A value that is only used while the scope that made it is alive (`withoutActuallyEscaping`), from one
/// task at a time.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
