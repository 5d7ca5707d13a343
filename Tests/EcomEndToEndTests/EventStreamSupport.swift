import AsyncHTTPClient
import EcomAPI
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// One event as a stream sent it.
struct StreamedEvent: Sendable, Equatable, CustomStringConvertible {
    var id: Int64
    var type: String
    /// The event's own id, from its envelope.
    var eventID: String
    var orderID: String?
    var productID: String?
    /// `data.available`, for stock and product events.
    var available: Int?
    /// `data.threshold`, for stock.low.
    var threshold: Int? = nil

    var description: String { "\(id) \(type) \(orderID ?? productID ?? "")" }
}

/// An open event stream of the gateway, read in the background until it is closed.
final class EventStreamReader: Sendable {
    private struct State {
        var events: [StreamedEvent] = []
        var comments: [String] = []
        var ended = false
        var status: Int?
    }

    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Opens `path` (`/admin/events/stream?types=order.*`) with `token`, resuming after `lastEventID`,
    /// and returns once the stream has said it is open.
    static func open(_ gateway: String, _ path: String, token: String, lastEventID: Int64? = nil) async throws -> EventStreamReader {
        let reader = EventStreamReader()
        var request = HTTPClientRequest(url: gateway + path)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: String(lastEventID)) }
        let reading = Task { [request] in
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                reader.state.withLock { $0.status = Int(response.status.code) }
                var pending = ""
                for try await part in response.body {
                    pending += String(buffer: part)
                    reader.consume(&pending)
                }
            } catch {}
            reader.state.withLock { $0.ended = true }
        }
        reader.task.withLock { $0 = reading }
        // The first lines (`retry:` and `: connected`) come at once.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let (status, connected, ended) = reader.state.withLock { ($0.status, $0.comments.contains(": connected"), $0.ended) }
            if connected { return reader }
            if ended || (status != nil && status != 200) { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        reader.close()
        throw StreamOpenFailed(path: path, status: reader.state.withLock { $0.status })
    }

    struct StreamOpenFailed: Error, CustomStringConvertible {
        var path: String
        var status: Int?
        var description: String { "\(path) did not open (status \(status.map(String.init) ?? "none"))" }
    }

    /// Takes every whole event (up to a blank line) out of `pending`.
    private func consume(_ pending: inout String) {
        while let end = pending.range(of: "\n\n") {
            let block = pending[..<end.lowerBound]
            pending.removeSubrange(..<end.upperBound)
            var id: Int64?
            var type: String?
            var data: String?
            for line in block.split(separator: "\n") {
                if line.hasPrefix(":") {
                    state.withLock { $0.comments.append(String(line)) }
                } else if line.hasPrefix("id: ") {
                    id = Int64(line.dropFirst(4))
                } else if line.hasPrefix("event: ") {
                    type = String(line.dropFirst(7))
                } else if line.hasPrefix("data: ") {
                    data = String(line.dropFirst(6))
                }
            }
            guard let id, let type, let data,
                let envelope = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any],
                let eventID = envelope["id"] as? String, envelope["type"] as? String == type
            else { continue }
            let payload = envelope["data"] as? [String: Any]
            let event = StreamedEvent(
                id: id, type: type, eventID: eventID, orderID: payload?["order_id"] as? String,
                productID: payload?["product_id"] as? String, available: payload?["available"] as? Int,
                threshold: payload?["threshold"] as? Int)
            state.withLock { $0.events.append(event) }
        }
    }

    var events: [StreamedEvent] { state.withLock { $0.events } }
    var comments: [String] { state.withLock { $0.comments } }
    var ended: Bool { state.withLock { $0.ended } }

    /// The events of `order`'s id, in the order they came.
    func types(of order: UUID) -> [String] {
        events.filter { $0.orderID == order.lowercased }.map(\.type)
    }

    /// Waits until `condition` holds of the events received, for up to `timeout`.
    func wait(
        timeout: Duration = .seconds(60), _ what: Comment, until condition: ([StreamedEvent]) -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(events) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting: \(what); received \(events)")
    }

    func close() {
        task.withLock { $0?.cancel() }
    }

    deinit {
        task.withLock { $0?.cancel() }
    }
}
