@preconcurrency import CRabbitMQ
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where a RabbitMQ broker is reached: an `amqp://user:password@host:port/vhost` URL, or
/// `amqps://…` for TLS (port 5671 unless given).
package struct AMQPEndpoint: Sendable, Equatable, CustomStringConvertible {
    package var host: String
    package var port: Int
    package var user: String
    package var password: String
    package var virtualHost: String
    /// Whether the connection is TLS, the broker's certificate checked against the trusted
    /// authorities and the URL's host name.
    package var tls: Bool

    /// Parses an AMQP URL as RabbitMQ does: the vhost is the URL-decoded path, `/` when empty.
    package init(url: String) throws {
        guard url.hasPrefix("amqp://") || url.hasPrefix("amqps://") else {
            throw AMQPError("not an amqp:// or amqps:// URL: \(AMQPEndpoint.redacted(url))")
        }
        guard let buffer = strdup(url) else { throw AMQPError("out of memory") }
        defer { free(buffer) }
        var info = amqp_connection_info()
        amqp_default_connection_info(&info)
        guard amqp_parse_url(buffer, &info) == AMQP_STATUS_OK.rawValue else {
            throw AMQPError("invalid AMQP URL: \(AMQPEndpoint.redacted(url))")
        }
        host = String(cString: info.host)
        port = Int(info.port)
        user = String(cString: info.user)
        password = String(cString: info.password)
        virtualHost = String(cString: info.vhost)
        tls = info.ssl != 0
    }

    /// The URL without its password, for logs and messages.
    package var description: String {
        let vhost = virtualHost == "/" ? "" : virtualHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? virtualHost
        return "\(tls ? "amqps" : "amqp")://\(user)@\(host):\(port)/\(vhost)"
    }

    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "amqp://…"
    }
}

/// The addresses of one broker, or of the nodes of a cluster: `amqp://…` or `amqps://…` URLs
/// separated by commas, tried in turn when connecting.
package struct AMQPEndpoints: Sendable, Equatable, CustomStringConvertible {
    package let all: [AMQPEndpoint]
    /// The PEM files of the authorities an `amqps://` broker's certificate may chain to.
    let authorities: [String]

    /// The system's authorities, as Debian keeps them.
    static let systemAuthorities = "/etc/ssl/certs/ca-certificates.crt"

    /// `authorities`: a PEM file of authorities trusted besides the system's (`ECOM_TLS_CA`).
    package init(urls: String, authorities extra: String? = nil) throws {
        let urls = urls.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !urls.isEmpty else { throw AMQPError("no AMQP URL given") }
        all = try urls.map(AMQPEndpoint.init(url:))
        authorities = (FileManager.default.fileExists(atPath: Self.systemAuthorities) ? [Self.systemAuthorities] : [])
            + (extra.map { [$0] } ?? [])
    }

    package var description: String { all.map(\.description).joined(separator: ",") }

    /// Connects to the first of the endpoints that answers, beginning with the one at `start` (the
    /// last that worked) and going round; returns the connection and its endpoint's index.
    func connect(from start: Int, heartbeat: Int, timeout: Duration) throws -> (AMQPConnection, index: Int) {
        var failures: [String] = []
        for offset in all.indices {
            let index = (start + offset) % all.count
            do {
                return (try AMQPConnection(all[index], authorities: authorities, heartbeat: heartbeat, timeout: timeout), index)
            } catch {
                failures.append("\(error)")
            }
        }
        throw AMQPError(failures.joined(separator: "; "))
    }
}

/// A failure talking to the broker; the connection it happened on is no longer usable.
package struct AMQPError: Error, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}

/// One message taken from a queue, not yet acknowledged.
struct AMQPMessage: Sendable {
    var deliveryTag: UInt64
    var routingKey: String
    var messageID: String?
    var body: Data
    var redelivered: Bool
    /// For a dead-lettered message: the queue that dead-lettered it first, and why (`rejected`,
    /// `delivery_limit`, `expired`), from the headers the broker adds.
    var firstDeathQueue: String? = nil
    var firstDeathReason: String? = nil
}

/// A blocking rabbitmq-c connection with one channel.
///
/// rabbitmq-c connections are not thread-safe, and every call may block: an instance belongs to
/// one single-thread pool (its publisher's or consumer's) and is only used from there.
final class AMQPConnection: @unchecked Sendable {
    private var state: amqp_connection_state_t?
    private let channel: amqp_channel_t = 1
    /// Delivery tags of the publishes not yet confirmed (in confirm mode).
    private var nextPublishTag: UInt64 = 0

    /// Opens a TCP connection (TLS for an `amqps://` endpoint, the broker's certificate
    /// verified against `authorities`, PEM files, and its name), logs in, and opens the channel.
    ///
    /// `heartbeat` (seconds) makes either side notice a dead peer after about two missed beats;
    /// the library only beats while one of its calls runs, so users must call into it at least
    /// that often (`poll`).
    init(_ endpoint: AMQPEndpoint, authorities: [String] = [], heartbeat: Int, timeout: Duration) throws {
        guard let state = amqp_new_connection() else { throw AMQPError("out of memory") }
        self.state = state
        do {
            let socket: OpaquePointer
            if endpoint.tls {
                guard let tlsSocket = amqp_ssl_socket_new(state) else { throw AMQPError("cannot create a TLS socket") }
                amqp_ssl_socket_set_verify_peer(tlsSocket, 1)
                amqp_ssl_socket_set_verify_hostname(tlsSocket, 1)
                for file in authorities where amqp_ssl_socket_set_cacert(tlsSocket, file) != AMQP_STATUS_OK.rawValue {
                    throw AMQPError("cannot read trusted authorities from \(file)")
                }
                socket = tlsSocket
            } else {
                guard let tcpSocket = amqp_tcp_socket_new(state) else { throw AMQPError("cannot create a socket") }
                socket = tcpSocket
            }
            var connectTimeout = timeval(timeout)
            let opened = amqp_socket_open_noblock(socket, endpoint.host, Int32(endpoint.port), &connectTimeout)
            guard opened == AMQP_STATUS_OK.rawValue else {
                throw AMQPError("cannot connect to \(endpoint): \(String(cString: amqp_error_string2(opened)))")
            }
            var rpcTimeout = timeval(timeout)
            _ = amqp_set_handshake_timeout(state, &rpcTimeout)
            _ = amqp_set_rpc_timeout(state, &rpcTimeout)
            try check(ecom_amqp_login(state, endpoint.virtualHost, Int32(heartbeat), endpoint.user, endpoint.password), "login to \(endpoint)")
            _ = amqp_channel_open(state, channel)
            try check(amqp_get_rpc_reply(state), "opening a channel")
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Closes the connection, politely if it still works, and frees it. Idempotent.
    func close() {
        guard let state else { return }
        self.state = nil
        // A short timeout: a broker that went away must not hold a shutdown up.
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        _ = amqp_set_rpc_timeout(state, &timeout)
        _ = amqp_channel_close(state, channel, AMQP_REPLY_SUCCESS)
        _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
        _ = amqp_destroy_connection(state)
    }

    private func live() throws -> amqp_connection_state_t {
        guard let state else { throw AMQPError("connection closed") }
        return state
    }

    // MARK: - Topology

    /// Declares the exchanges and queues of `topology`, binds them, and takes away their retired
    /// bindings; all are durable, so declaring again (after a reconnect, or from another process)
    /// changes nothing.
    func declare(_ topology: AMQPTopology) throws {
        let state = try live()
        ecom_amqp_exchange_declare(state, channel, topology.exchange, "topic")
        try check(amqp_get_rpc_reply(state), "declaring exchange \(topology.exchange)")
        ecom_amqp_exchange_declare(state, channel, topology.deadLetterExchange, "fanout")
        try check(amqp_get_rpc_reply(state), "declaring exchange \(topology.deadLetterExchange)")
        let quorum: Int32 = topology.queueType == .quorum ? 1 : 0
        let limit = Int32(clamping: topology.deliveryLimit)
        _ = ecom_amqp_queue_declare(state, channel, topology.deadLetterQueue, nil, quorum, limit)
        try check(amqp_get_rpc_reply(state), "declaring queue \(topology.deadLetterQueue)", queueType: topology.queueType)
        ecom_amqp_queue_bind(state, channel, topology.deadLetterQueue, topology.deadLetterExchange, "")
        try check(amqp_get_rpc_reply(state), "binding queue \(topology.deadLetterQueue)")
        for queue in topology.queues {
            _ = ecom_amqp_queue_declare(state, channel, queue.name, topology.deadLetterExchange, quorum, limit)
            try check(amqp_get_rpc_reply(state), "declaring queue \(queue.name)", queueType: topology.queueType)
            for key in queue.bindings {
                ecom_amqp_queue_bind(state, channel, queue.name, topology.exchange, key)
                try check(amqp_get_rpc_reply(state), "binding queue \(queue.name) to \(key)")
            }
            for key in queue.retired where !queue.bindings.contains(key) {
                ecom_amqp_queue_unbind(state, channel, queue.name, topology.exchange, key)
                try check(amqp_get_rpc_reply(state), "unbinding queue \(queue.name) from \(key)")
            }
        }
    }

    /// A queue's ready messages and consumers; throws if it does not exist (which closes the channel).
    func inspect(_ queue: String) throws -> (messages: Int, consumers: Int) {
        let state = try live()
        var messages: UInt32 = 0
        var consumers: UInt32 = 0
        _ = ecom_amqp_queue_inspect(state, channel, queue, &messages, &consumers)
        try check(amqp_get_rpc_reply(state), "inspecting queue \(queue)")
        return (Int(messages), Int(consumers))
    }

    // MARK: - Publishing

    /// Puts the channel in confirm mode: the broker then acknowledges every publish once it
    /// has taken responsibility for the message (written it to disk, for persistent messages
    /// on durable queues).
    func enableConfirms() throws {
        let state = try live()
        _ = amqp_confirm_select(state, channel)
        try check(amqp_get_rpc_reply(state), "enabling publisher confirms")
        nextPublishTag = 0
    }

    /// Publishes persistent JSON messages and waits until the broker has confirmed every one.
    func publishConfirmed(_ messages: [(routingKey: String, messageID: String, body: String)], exchange: String, timeout: Duration) throws {
        let state = try live()
        defer { amqp_maybe_release_buffers(state) }
        var unconfirmed = Set<UInt64>()
        for message in messages {
            var body = message.body
            let status = body.withUTF8 { bytes in
                ecom_amqp_publish(state, channel, exchange, message.routingKey, message.messageID, bytes.baseAddress, bytes.count)
            }
            guard status == AMQP_STATUS_OK.rawValue else {
                throw AMQPError("publishing failed: \(String(cString: amqp_error_string2(status)))")
            }
            nextPublishTag += 1
            unconfirmed.insert(nextPublishTag)
        }
        let deadline = ContinuousClock.now + timeout
        while !unconfirmed.isEmpty {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw AMQPError("the broker did not confirm \(unconfirmed.count) message(s) in time") }
            var tag: UInt64 = 0
            var multiple: Int32 = 0
            let result = ecom_amqp_wait_confirm(state, Int32(remaining.milliseconds), &tag, &multiple)
            switch result {
            case Int32(ECOM_AMQP_CONFIRM_ACK.rawValue):
                if multiple != 0 { unconfirmed = unconfirmed.filter { $0 > tag } } else { unconfirmed.remove(tag) }
            case Int32(ECOM_AMQP_CONFIRM_NACK.rawValue):
                throw AMQPError("the broker refused message(s) up to delivery tag \(tag)")
            case Int32(ECOM_AMQP_CONFIRM_CLOSED.rawValue):
                throw AMQPError("the broker closed the channel")
            case Int32(ECOM_AMQP_CONFIRM_OTHER.rawValue), AMQP_STATUS_TIMEOUT.rawValue:
                continue
            default:
                throw AMQPError("waiting for confirms failed: \(String(cString: amqp_error_string2(result)))")
            }
        }
    }

    /// Services the connection for up to `timeout` when it has nothing else to do: sends and
    /// checks heartbeats, and notices a connection the broker or the network has closed.
    func poll(timeout: Duration = .milliseconds(10)) throws {
        let state = try live()
        defer { amqp_maybe_release_buffers(state) }
        var tag: UInt64 = 0
        var multiple: Int32 = 0
        let result = ecom_amqp_wait_confirm(state, Int32(timeout.milliseconds), &tag, &multiple)
        switch result {
        case AMQP_STATUS_TIMEOUT.rawValue, Int32(ECOM_AMQP_CONFIRM_OTHER.rawValue), Int32(ECOM_AMQP_CONFIRM_ACK.rawValue):
            return
        case Int32(ECOM_AMQP_CONFIRM_CLOSED.rawValue):
            throw AMQPError("the broker closed the connection")
        case Int32(ECOM_AMQP_CONFIRM_NACK.rawValue):
            return
        default:
            throw AMQPError("connection lost: \(String(cString: amqp_error_string2(result)))")
        }
    }

    // MARK: - Consuming

    /// Starts consuming `queue` with manual acknowledgements, at most `prefetch` unacknowledged
    /// messages in flight.
    func consume(_ queue: String, prefetch: Int) throws {
        let state = try live()
        _ = amqp_basic_qos(state, channel, 0, UInt16(clamping: prefetch), 0)
        try check(amqp_get_rpc_reply(state), "setting the prefetch limit")
        ecom_amqp_basic_consume(state, channel, queue)
        try check(amqp_get_rpc_reply(state), "consuming \(queue)")
    }

    /// The next delivered message, or nil when none arrives within `timeout`.
    func next(timeout: Duration) throws -> AMQPMessage? {
        let state = try live()
        amqp_maybe_release_buffers(state)
        var envelope = amqp_envelope_t()
        var wait = timeval(timeout)
        let reply = amqp_consume_message(state, &envelope, &wait, 0)
        if reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT.rawValue {
            return nil
        }
        if reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue {
            // A frame other than a delivery: the broker closing the channel or connection, say.
            throw AMQPError("the broker interrupted the consumer")
        }
        try check(reply, "receiving a message")
        defer { amqp_destroy_envelope(&envelope) }
        let properties = envelope.message.properties
        let messageID: String? =
            properties._flags & amqp_flags_t(AMQP_BASIC_MESSAGE_ID_FLAG) != 0 ? String(bytes: properties.message_id) : nil
        func header(_ key: String) -> String? {
            var buffer = [CChar](repeating: 0, count: 256)
            guard withUnsafePointer(to: properties, { ecom_amqp_header_string($0, key, &buffer, buffer.count) }) >= 0 else { return nil }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let hasHeaders = properties._flags & amqp_flags_t(AMQP_BASIC_HEADERS_FLAG) != 0
        return AMQPMessage(
            deliveryTag: envelope.delivery_tag, routingKey: String(bytes: envelope.routing_key) ?? "", messageID: messageID,
            body: Data(bytes: envelope.message.body), redelivered: envelope.redelivered != 0,
            firstDeathQueue: hasHeaders ? header("x-first-death-queue") : nil,
            firstDeathReason: hasHeaders ? header("x-first-death-reason") : nil)
    }

    /// Acknowledges `tag`, and with `multiple` every earlier unacknowledged tag too.
    func ack(_ tag: UInt64, multiple: Bool) throws {
        let status = amqp_basic_ack(try live(), channel, tag, multiple ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError("acknowledging failed: \(String(cString: amqp_error_string2(status)))")
        }
    }

    /// Rejects `tag` without requeueing it: the queue's dead-letter exchange receives it.
    func deadLetter(_ tag: UInt64) throws {
        let status = amqp_basic_reject(try live(), channel, tag, 0)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError("rejecting failed: \(String(cString: amqp_error_string2(status)))")
        }
    }

    // MARK: - Errors

    /// Throws what went wrong if `reply` is not a success. A queue declared as `queueType`
    /// that exists as the other type is refused: the error says how to change types.
    private func check(_ reply: amqp_rpc_reply_t, _ what: String, queueType: AMQPQueueType? = nil) throws {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw AMQPError("\(what) failed: \(String(cString: amqp_error_string2(reply.library_error)))")
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            var buffer = [CChar](repeating: 0, count: 256)
            ecom_amqp_server_error(reply, &buffer, buffer.count)
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let queueType, text.contains("inequivalent arg 'x-queue-type'") {
                throw AMQPError(
                    "\(what) refused by the broker: it exists as another type than \(queueType.rawValue) (ECOM_AMQP_QUEUE_TYPE); "
                        + "a queue's type cannot change in place: see the README, \"From classic to quorum queues\" (\(text))")
            }
            throw AMQPError("\(what) refused by the broker: \(text)")
        default:
            throw AMQPError("\(what) failed: no reply")
        }
    }
}

extension timeval {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension String {
    init?(bytes: amqp_bytes_t) {
        guard let pointer = bytes.bytes, bytes.len > 0 else {
            self = ""
            return
        }
        self.init(validating: UnsafeRawBufferPointer(start: pointer, count: bytes.len), as: UTF8.self)
    }
}

extension Data {
    init(bytes: amqp_bytes_t) {
        guard let pointer = bytes.bytes, bytes.len > 0 else {
            self.init()
            return
        }
        self.init(bytes: pointer, count: bytes.len)
    }
}
