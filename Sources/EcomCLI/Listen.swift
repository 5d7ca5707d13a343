import ArgumentParser
import EcomAPI
import EcomClient
import EcomJQ
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension EcomCommand {
    struct Listen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "listen",
            abstract: "Print the store's events as they happen.",
            discussion: """
                An admin hears every event of the store; anyone else the events of their own \
                orders. On a terminal each event is one line: its stream id, time, type and what it \
                is about. Otherwise (or with --json) each is one line of JSON, the event as the \
                store published it, {"id", "type", "occurred_at", "request_id", "data"}, ready for \
                jq. A dropped connection is opened again on its own and the stream resumes where it \
                stopped, missing nothing. Runs until interrupted (Ctrl-C), or until whatever reads \
                its output stops (ecom listen --json | head -n 3).

                With --forward-to, each event is also POSTed to that URL as a webhook delivery is, \
                signed with --forward-secret (or a secret made for the session and printed at the \
                start), and the endpoint's answer is printed on standard error: what a developer \
                uses to build an integration against a local server.
                """)

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Option(
            parsing: .upToNextOption,
            help: ArgumentHelp(
                "Only events of these types: order.created, order.* (one word), stock.# or # (any words); separate with commas or spaces.",
                valueName: "pattern"),
            completion: .list(EventTypes.patterns))
        var types: [String] = []
        @Option(
            help: ArgumentHelp("Only the events of this order (its id, or the start of it).", valueName: "order-id"),
            completion: ServerValues.order.completion, transform: IDReference.parse)
        var order: IDReference?
        @Option(help: ArgumentHelp("Start after this stream id, from the events the store keeps (0: all of them).", valueName: "id"))
        var after: Int64?
        @Option(help: ArgumentHelp("Also POST each event to this URL, signed as a webhook delivery.", valueName: "url"))
        var forwardTo: String?
        @Option(help: ArgumentHelp("The secret --forward-to signs with (default: a new one, printed at the start).", valueName: "secret"))
        var forwardSecret: String?

        func validate() throws {
            for pattern in EventTypes.split(types) where !EventTypePattern.isValid(pattern) {
                throw ValidationError("--types: '\(pattern)' is not an event type or pattern, like order.created, order.* or stock.#")
            }
            if let after, after < 0 { throw ValidationError("--after takes a stream id, 0 or more") }
            if let forwardTo {
                guard let url = URL(string: forwardTo), ["http", "https"].contains(url.scheme?.lowercased()), url.host?.isEmpty == false else {
                    throw ValidationError("--forward-to takes an http(s) URL, like http://localhost:3000/webhooks")
                }
            }
            if forwardSecret != nil, forwardTo == nil { throw ValidationError("--forward-secret goes with --forward-to") }
        }

        func run() async throws {
            let client = try options.client()
            let output = options.output
            let printer = try EventPrinter(output: output, jq: options.jq)
            StandardOutput.exitWhenReaderLeaves()
            var query = [URLQueryItem]()
            let types = EventTypes.split(types)
            if !types.isEmpty { query.append(URLQueryItem(name: "types", value: types.joined(separator: ","))) }
            if let order { query.append(URLQueryItem(name: "order", value: try await client.orderID(order).lowercased)) }
            let path = try client.isAdmin ? "/admin/events/stream" : "/api/events/stream"
            let events = client.events(path: path, query: query, after: after) { reason in
                output.warning("event stream interrupted (\(reason)); reconnecting")
            }
            let forwarder = forwardTo.flatMap(URL.init(string:)).map { url in
                EventForwarder(url: url, secret: forwardSecret ?? WebhookSignature.newSecret())
            }
            if let forwarder, forwardSecret == nil {
                output.warning("forwarding to \(forwarder.url.absoluteString), signed with \(forwarder.secret)")
            }
            for try await event in events {
                // Forwarded first: a reader that stops after this line has had it delivered too.
                if let forwarder { output.message(await forwarder.forward(event)) }
                try printer.print(event)
            }
        }
    }
}

/// Event types and the patterns that choose among them.
enum EventTypes {
    /// Every type the store publishes, and the patterns of each family: what `--types` completes.
    static let patterns = [
        "order.*", "order.created", "order.confirmed", "order.rejected", "order.cancelled", "order.shipped", "order.delivered",
        "stock.*", "stock.reserved", "stock.rejected", "stock.changed", "stock.low",
        "product.*", "product.created", "product.changed", "product.archived", "#",
    ]

    /// `--types` values, each of which may hold several patterns separated by commas.
    static func split(_ values: [String]) -> [String] {
        values.flatMap { $0.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init) }
    }
}

/// Writes events as `ecom listen` and `ecom order watch` show them.
struct EventPrinter {
    let output: Output
    let filter: JQFilter?

    init(output: Output, jq: String?) throws {
        self.output = output
        filter = try jq.map { try JQFilter($0) }
    }

    /// JSON lines unless standard output is a table for a person.
    var asJSON: Bool { !output.isTable || filter != nil || output.fields != nil }

    /// Each event as one JSON line, cut to `--fields` and then through `--jq` when given.
    func print(_ event: StreamEvent) throws {
        if asJSON {
            let json = try output.fields.map { try Output.select($0, from: event.json, pretty: false) } ?? event.json
            let lines = try filter.map { try $0.apply(toJSON: json, pretty: false) } ?? [json]
            StandardOutput.write(lines.map { $0 + "\n" }.joined())
        } else {
            StandardOutput.write(Self.line(for: event) + "\n")
        }
    }

    /// `   42  12:04:05  order.confirmed  order 5f0c1a2b`, then the payload's other plain fields.
    static func line(for event: StreamEvent) -> String {
        let envelope = (try? JSONSerialization.jsonObject(with: Data(event.json.utf8))) as? [String: Any] ?? [:]
        let data = envelope["data"] as? [String: Any] ?? [:]
        let time = (envelope["occurred_at"] as? String).flatMap { text in
            text.firstIndex(of: "T").map { String(text[text.index(after: $0)...].prefix(8)) }
        } ?? "--:--:--"
        var about: [String] = []
        for (key, noun) in [("order_id", "order"), ("product_id", "product"), ("user_id", "user")] {
            if let id = data[key] as? String { about.append("\(noun) \(id.prefix(8))") }
        }
        for key in data.keys.sorted() where !key.hasSuffix("_id") {
            switch data[key] {
            case let text as String: about.append("\(key)=\(text)")
            case let number as NSNumber: about.append("\(key)=\(number)")
            case let list as [Any]:
                // `1 line`, `2 lines`: the payload's lists are named in the plural.
                about.append(list.count == 1 && key.hasSuffix("s") ? "1 \(key.dropLast())" : "\(list.count) \(key)")
            default: break
            }
        }
        let id = String(event.id)
        let type = event.type.padding(toLength: max(event.type.count, 16), withPad: " ", startingAt: 0)
        return String(repeating: " ", count: max(0, 6 - id.count)) + id + "  " + time + "  " + type + "  " + about.joined(separator: "  ")
    }
}

/// Standard output written byte for byte, and a process that ends when nobody reads it any more.
enum StandardOutput {
    /// Writes `text` whole; ends the process (status 0) if the reader has gone.
    static func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Foundation.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                exit(0)
            }
            bytes = bytes.dropFirst(written)
        }
    }

    /// For a command that writes until interrupted: once the reader of standard output has
    /// gone (`ecom listen | head -n 3`), the process ends at once with status 0, rather than
    /// at its next write. In the REPL, whose output is the terminal, it does nothing.
    static func exitWhenReaderLeaves() {
        guard Terminal.input == nil else { return }
        signal(SIGPIPE, SIG_IGN)
        let watcher = Thread {
            var descriptor = pollfd(fd: STDOUT_FILENO, events: 0, revents: 0)
            while true {
                let ready = poll(&descriptor, 1, -1)
                if ready > 0, descriptor.revents & Int16(POLLERR | POLLHUP) != 0 { exit(0) }
                if ready < 0, errno != EINTR { return }
            }
        }
        watcher.start()
    }
}

extension GatewayClient {
    /// Whether the signed-in account is an admin, as it was when it signed in.
    var isAdmin: Bool {
        get throws {
            guard let session = try credentials.session(for: server) else { throw ClientError.notSignedIn(server: serverName) }
            return session.user.role == .admin
        }
    }
}

/// `ecom listen --forward-to`: POSTs each event as the store's webhook deliveries do.
struct EventForwarder {
    let url: URL
    let secret: String
    let transport = URLSessionTransport(timeout: .seconds(10))

    /// Sends `event` and says how the endpoint answered, in one line.
    func forward(_ event: StreamEvent) async -> String {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = Data(event.json.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("ecom-cli", forHTTPHeaderField: "User-Agent")
        request.setValue(event.type, forHTTPHeaderField: WebhookSignature.eventTypeHeader)
        if let envelope = try? JSONDecoder.ecom.decode(EventHeader.self, from: Data(event.json.utf8)) {
            request.setValue(envelope.id.lowercased, forHTTPHeaderField: WebhookSignature.eventIDHeader)
        }
        request.setValue(
            WebhookSignature.value(secrets: [secret], timestamp: Int(Date().timeIntervalSince1970), body: event.json),
            forHTTPHeaderField: WebhookSignature.header)
        let start = ContinuousClock.now
        let what = "\(event.id) \(event.type) -> POST \(url.absoluteString)"
        do {
            let (_, response) = try await transport.send(request)
            let elapsed = ContinuousClock.now - start
            let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            return "\(what): \(response.statusCode) (\(milliseconds) ms)"
        } catch {
            return "\(what): failed (\((error as? URLError).map(GatewayClient.reason) ?? "\(error)"))"
        }
    }
}
