import EcomAPI
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What one HTTP listener tolerates from its clients, so slow or numerous connections cannot take the
/// process's descriptors from its database, broker and upstream connections.
package struct ListenerLimits: Sendable, Equatable {
    /// Connections open at once; the next one is answered 503 `service_busy` and closed.
    package var maxConnections: Int
    /// Connections open at once from one client address; nil for no such cap (services, whose clients are
    /// the gateway and the other services).
    package var maxConnectionsPerClient: Int?
    /// How long a new connection may take to send a complete request head.
    package var headerTimeout: Duration
    /// How long a connection may stay without a request (or between parts of one) before it is closed.
    /// Longer than the connection pools' own idle timeout (60 s), so a pooled connection is closed by its
    /// client, never under a request it is about to send.
    package var idleTimeout: Duration
    /// How long a connection may hold answers its client does not read (the socket full, NIO's
    /// buffer past its high-water mark) before it is closed: an event stream to a reader that stopped
    /// reading ends, rather than growing without bound.
    package var writeStallTimeout: Duration

    package init(
        maxConnections: Int, maxConnectionsPerClient: Int?, headerTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(75),
        writeStallTimeout: Duration = .seconds(30)
    ) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerClient = maxConnectionsPerClient
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.writeStallTimeout = writeStallTimeout
    }

    /// The gateway, which faces clients.
    package static let gateway = ListenerLimits(maxConnections: 4096, maxConnectionsPerClient: 256)
    /// A service behind the gateway.
    package static let service = ListenerLimits(maxConnections: 1024, maxConnectionsPerClient: nil)
}

/// The process's open-file limit, shared between its listeners and its own outbound connections.
package enum DescriptorBudget {
    /// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the soft limit now in force
    /// (nil where it cannot be read).
    @discardableResult
    package static func raiseOpenFileLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }

    /// Connection caps that fit `limit` descriptors with `reserve` kept for the process's own use: `caps`
    /// as they are when they fit, otherwise each scaled down in proportion (never below 8).
    package static func fit(_ caps: [Int], limit: Int, reserve: Int) -> [Int] {
        let total = caps.reduce(0, +)
        let available = max(0, limit - reserve)
        guard total > available, total > 0 else { return caps }
        return caps.map { max(8, $0 * available / total) }
    }
}

/// The connections a listener holds now, overall and per client address.
final class ConnectionSlots: Sendable {
    private struct State {
        var open = 0
        var byClient: [String: Int] = [:]
        /// Refused connections still being answered.
        var refusing = 0
    }

    enum Admission {
        case admitted
        /// Over a cap: answer 503 and close; `linger` when there is room to read the client's request
        /// first, so that the answer is not lost to a reset.
        case refused(linger: Bool)
    }

    /// Refused connections answered gracefully at once; past this they are answered and closed at once.
    static let lingeringRefusals = 64

    private let limits: ListenerLimits
    private let state = Mutex(State())

    init(limits: ListenerLimits) {
        self.limits = limits
    }

    func admit(client: String?) -> Admission {
        state.withLock { state in
            let fromClient = client.map { state.byClient[$0, default: 0] } ?? 0
            if state.open < limits.maxConnections, limits.maxConnectionsPerClient.map({ fromClient < $0 }) ?? true {
                state.open += 1
                if let client { state.byClient[client] = fromClient + 1 }
                return .admitted
            }
            guard state.refusing < Self.lingeringRefusals else { return .refused(linger: false) }
            state.refusing += 1
            return .refused(linger: true)
        }
    }

    func closed(client: String?) {
        state.withLock { state in
            state.open -= 1
            guard let client, let count = state.byClient[client] else { return }
            state.byClient[client] = count > 1 ? count - 1 : nil
        }
    }

    func refusalEnded() {
        state.withLock { $0.refusing -= 1 }
    }
}

/// HTTP/1 as Hummingbird serves it, with the listener's limits: a cap on open connections (overall and per
/// client) answered with 503, a header timeout for new connections and an idle timeout for all.
struct LimitedHTTP1Channel: ServerChildChannel {
    enum Value: ServerChildChannelValue {
        case http(HTTP1Channel.Value)
        case refused(any Channel)

        var channel: any Channel {
            switch self {
            case .http(let value): value.channel
            case .refused(let channel): channel
            }
        }
    }

    let http1: HTTP1Channel
    let slots: ConnectionSlots
    let service: String
    let writeStallTimeout: TimeAmount

    init(responder: @escaping HTTPChannelHandler.Responder, limits: ListenerLimits, service: String) {
        let headerTimeout = TimeAmount(limits.headerTimeout)
        http1 = HTTP1Channel(
            responder: responder,
            configuration: .init(
                additionalChannelHandlers: [HeaderTimeoutHandler(timeout: headerTimeout)], idleTimeout: TimeAmount(limits.idleTimeout)))
        slots = ConnectionSlots(limits: limits)
        self.service = service
        writeStallTimeout = TimeAmount(limits.writeStallTimeout)
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let client = channel.remoteAddress?.ipAddress
        switch slots.admit(client: client) {
        case .admitted:
            channel.closeFuture.whenComplete { [slots] _ in slots.closed(client: client) }
            let watch = ConnectionWatch()
            ConnectionWatch.register(watch, for: channel)
            return channel.eventLoop.makeCompletedFuture { [writeStallTimeout] in
                try channel.pipeline.syncOperations.addHandler(ConnectionWatchHandler(watch: watch))
                try channel.pipeline.syncOperations.addHandler(WriteStallHandler(timeout: writeStallTimeout))
            }.flatMap { [http1] in
                http1.setup(channel: channel, logger: logger).map { Value.http($0) }
            }
        case .refused(let linger):
            Counter(label: "ecom_http_connections_refused_total", dimensions: [("service", service)]).increment()
            logger.debug("connection refused: listener full", metadata: ["client": "\(client ?? "?")"])
            if linger { channel.closeFuture.whenComplete { [slots] _ in slots.refusalEnded() } }
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(HTTPResponseEncoder())
                try channel.pipeline.syncOperations.addHandler(BusyResponder(linger: linger))
                return .refused(channel)
            }
        }
    }

    func handle(value: Value, logger: Logger) async {
        guard case .http(let channel) = value else { return }
        await http1.handle(value: channel, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 within `limits` (see `ListenerLimits`), inside TLS when `tls` is given.
    static func limitedHTTP1(_ limits: ListenerLimits, service: String, tls: ListenerTLS? = nil) -> HTTPServerBuilder {
        guard let tls else {
            return .init { responder in LimitedHTTP1Channel(responder: responder, limits: limits, service: service) }
        }
        return .init { responder in
            try TLSChannel(LimitedHTTP1Channel(responder: responder, limits: limits, service: service), tlsConfiguration: tls.configuration)
        }
    }
}

/// Closes a connection that has stayed unwritable (its client reads nothing of what it is sent) for
/// `timeout`, so that what waits for a reader that stopped reading stays bounded: the pending writes
/// fail, and the response that made them (an event stream) ends.
package final class WriteStallHandler: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = NIOAny

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    package init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            timer?.cancel()
            timer = nil
        } else if timer == nil {
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                context.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }
}

/// Closes a connection that has not sent a complete request head within the timeout of opening. Later
/// requests on the connection fall under the idle timeout.
final class HeaderTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var headReceived = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startTimer(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        startTimer(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !headReceived, case .head = unwrapInboundIn(data) {
            headReceived = true
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    private func startTimer(_ context: ChannelHandlerContext) {
        guard timer == nil, !headReceived else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            context.close(promise: nil)
        }
    }
}

/// Answers a connection over the listener's cap with 503 `service_busy` and closes it. Lingering, it
/// half-closes after the answer and reads what the client sends until it closes too (or 2 seconds pass),
/// so that the client reads the answer rather than a reset.
final class BusyResponder: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Never
    typealias OutboundOut = HTTPServerResponsePart

    private static let body: ByteBuffer = {
        let data = (try? JSONEncoder.ecom.encode(APIError.busy.body)) ?? Data()
        return ByteBuffer(bytes: data)
    }()

    private let linger: Bool
    private var answered = false
    private var timer: Scheduled<Void>?

    init(linger: Bool) {
        self.linger = linger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { answer(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelActive(context: ChannelHandlerContext) {
        answer(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The request is not read: it is drained so that closing does not reset the connection.
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func answer(_ context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Content-Length", value: String(Self.body.readableBytes))
        headers.add(name: "Retry-After", value: String(APIError.busy.retryAfter ?? 1))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .serviceUnavailable, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(Self.body))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let linger = self.linger
        written.futureResult.whenComplete { _ in
            let context = loopBound.value
            if linger {
                context.close(mode: .output, promise: nil)
            } else {
                context.close(promise: nil)
            }
        }
        if linger {
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) {
                context.close(promise: nil)
            }
        }
    }
}
