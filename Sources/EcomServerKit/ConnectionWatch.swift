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
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
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

    var isInputClosed: Bool { state.withLock { $0.inputClosed } }

    func markInputClosed() {
        let waiters = state.withLock { state in
            state.inputClosed = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the client has gone, or when the calling task is cancelled.
    func waitUntilInputClosed() async {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let waiting = state.withLock { state in
                    guard !state.inputClosed, !Task.isCancelled else { return false }
                    state.waiters[id] = continuation
                    return true
                }
                if !waiting { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
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
package struct ClientGoneMiddleware: RouterMiddleware {
    package typealias Context = EcomRequestContext

    package init() {}

    package func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let connection = context.connection else { return try await next(request, context) }
        return try await withoutActuallyEscaping(next) { next in
            let work = UncheckedSendable(next)
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask { try await work.value(request, context) }
                group.addTask {
                    await connection.waitUntilInputClosed()
                    return nil
                }
                defer { group.cancelAll() }
                if let response = try await group.next() ?? nil { return response }
                context.logger.debug("client gone, request abandoned")
                return Response(status: .init(code: 499, reasonPhrase: "Client Closed Request"))
            }
        }
    }
}

/// A value that is only used while the scope that made it is alive (`withoutActuallyEscaping`), from one
/// task at a time.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
