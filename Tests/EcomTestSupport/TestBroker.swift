import EcomMessaging
import Foundation

#if canImport(Glibc)
import Glibc
#endif

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// RabbitMQ for tests: a fresh virtual host on the shared test broker (`ECOM_TEST_AMQP_URL`,
/// started by `.ci/test`), or a private broker that a fault test may stop and start.
package enum TestBroker {
    package static let amqpURL = ProcessInfo.processInfo.environment["ECOM_TEST_AMQP_URL"]
    package static let apiURL = ProcessInfo.processInfo.environment["ECOM_TEST_RABBITMQ_API_URL"]
    package static let isAvailable = amqpURL != nil && apiURL != nil
    /// The shared broker's TLS listener (`amqps://…@localhost:port/`) and the PEM file of the
    /// authority that signed its certificate.
    package static let amqpsURL = ProcessInfo.processInfo.environment["ECOM_TEST_AMQPS_URL"]
    package static let authority = ProcessInfo.processInfo.environment["ECOM_TEST_RABBITMQ_CA"]
    package static let skipReason = "set ECOM_TEST_AMQP_URL and ECOM_TEST_RABBITMQ_API_URL to a throwaway RabbitMQ (.ci/test does)"

    /// Runs `body` with a virtual host of its own, deleted afterwards.
    package static func withVirtualHost<T>(_ body: (VirtualHost) async throws -> T) async throws -> T {
        guard let amqpURL, let apiURL else { throw TestBrokerError("no test broker: \(skipReason)") }
        let host = try await VirtualHost.create(amqpURL: amqpURL, amqpsURL: TestBroker.amqpsURL, apiURL: apiURL)
        do {
            let result = try await body(host)
            try? await host.delete()
            return result
        } catch {
            try? await host.delete()
            throw error
        }
    }
}

package struct TestBrokerError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// A RabbitMQ virtual host, reached over AMQP and through the management API.
package struct VirtualHost: Sendable {
    package let name: String
    /// The AMQP URL whose path is this virtual host.
    package let amqpURL: String
    /// The same through the broker's TLS listener, if it has one.
    package let amqpsURL: String?
    let apiURL: String

    static func create(
        amqpURL base: String, amqpsURL tlsBase: String? = nil, apiURL: String,
        name: String = "ecom-test-\(UUID().uuidString.prefix(8).lowercased())"
    ) async throws -> VirtualHost {
        func url(_ base: String) -> String { base.hasSuffix("/") ? base + name : base + "/" + name }
        let host = VirtualHost(name: name, amqpURL: url(base), amqpsURL: tlsBase.map(url), apiURL: apiURL)
        try await host.api("PUT", "/vhosts/\(name)")
        try await host.api("PUT", "/permissions/\(name)/guest", json: ["configure": ".*", "write": ".*", "read": ".*"])
        return host
    }

    func delete() async throws {
        try await api("DELETE", "/vhosts/\(name)")
    }

    package struct QueueState: Sendable {
        package var messages: Int
        package var consumers: Int
    }

    /// A queue's ready messages and consumers, or nil if it does not exist.
    package func queue(_ queue: String) async throws -> QueueState? {
        try await AMQPTransport.queueState(url: amqpURL, queue: queue).map { QueueState(messages: $0.messages, consumers: $0.consumers) }
    }

    /// A queue's definition as the management API shows it: `type`, `arguments`, `durable`…
    package func definition(of queue: String) async throws -> [String: Any] {
        let data = try await api("GET", "/queues/\(name)/\(queue.percentEncodedPathSegment)")
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestBrokerError("queue \(queue): not a JSON object")
        }
        return object
    }

    /// The bodies of up to `count` messages in `queue`, left in place.
    package func peek(_ queue: String, count: Int = 10) async throws -> [String] {
        let (status, data) = try await request(
            "POST", "/queues/\(name)/\(queue.percentEncodedPathSegment)/get",
            json: ["count": count, "ackmode": "ack_requeue_true", "encoding": "auto"])
        guard status == 200, let messages = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw TestBrokerError("get from \(queue): \(status)")
        }
        return messages.compactMap { $0["payload"] as? String }
    }

    /// Whether each client connection to this virtual host is TLS, as `rabbitmqctl
    /// list_connections` tells (the test broker's management API keeps no connection list).
    package func connectionsUseTLS() async throws -> [Bool] {
        let output = try await Shell.run(#""$ECOM_TEST_RABBITMQCTL" list_connections --no-table-headers -q vhost ssl"#)
        return output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "\t")
            guard fields.count == 2, fields[0] == name else { return nil }
            return fields[1] == "true"
        }
    }

    /// Publishes a raw message, as any client of the broker could.
    package func publish(exchange: String, routingKey: String, body: String, messageID: String? = nil) async throws {
        var properties: [String: Any] = ["delivery_mode": 2, "content_type": "application/json"]
        if let messageID { properties["message_id"] = messageID }
        let (status, data) = try await request(
            "POST", "/exchanges/\(name)/\(exchange)/publish",
            json: ["properties": properties, "routing_key": routingKey, "payload": body, "payload_encoding": "string"])
        guard status == 200, let object = try JSONSerialization.jsonObject(with: data) as? [String: Any], object["routed"] as? Bool == true else {
            throw TestBrokerError("publish to \(exchange): \(status) \(String(decoding: data, as: UTF8.self))")
        }
    }

    @discardableResult
    private func api(_ method: String, _ path: String, json: [String: Any]? = nil) async throws -> Data {
        let (status, data) = try await request(method, path, json: json)
        guard (200..<300).contains(status) else {
            throw TestBrokerError("\(method) \(path): \(status) \(String(decoding: data, as: UTF8.self))")
        }
        return data
    }

    private func request(_ method: String, _ path: String, json: [String: Any]? = nil) async throws -> (Int, Data) {
        guard let url = URL(string: apiURL + path) else { throw TestBrokerError("bad URL \(apiURL + path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue("Basic " + Data("guest:guest".utf8).base64EncodedString(), forHTTPHeaderField: "Authorization")
        if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }
}

extension String {
    var percentEncodedPathSegment: String {
        addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? self
    }
}

/// A RabbitMQ node of a test's own (via `.ci/lib.sh`), so that it can stop and start it.
package final class PrivateBroker: Sendable {
    package let directory: String
    package let amqpURL: String
    package let apiURL: String

    /// Starts a node on free ports; takes a few seconds.
    package static func start() async throws -> PrivateBroker {
        let output = try await Shell.run(
            "ECOM_CI_NO_TRAP=1 start_throwaway_rabbitmq >&2 && printf '%s\\n' \"$ECOM_TEST_RABBITMQ_DIR\" \"$ECOM_TEST_AMQP_URL\" \"$ECOM_TEST_RABBITMQ_API_URL\"")
        let lines = output.split(separator: "\n").map(String.init)
        guard lines.count >= 3 else { throw TestBrokerError("private broker did not start: \(output)") }
        return PrivateBroker(directory: lines[lines.count - 3], amqpURL: lines[lines.count - 2], apiURL: lines[lines.count - 1])
    }

    private init(directory: String, amqpURL: String, apiURL: String) {
        self.directory = directory
        self.amqpURL = amqpURL
        self.apiURL = apiURL
    }

    /// Stops the node; its data stays for `resume`.
    package func pause() async throws { _ = try await Shell.run("ecom_rabbitmq_node_stop '\(directory)'") }

    /// Starts the node again on the same ports with its data.
    package func resume() async throws { _ = try await Shell.run("ecom_rabbitmq_node_start '\(directory)'") }

    /// Stops the node and deletes everything it had.
    package func remove() async { _ = try? await Shell.run("stop_throwaway_rabbitmq '\(directory)'") }

    package func withVirtualHost<T>(_ body: (VirtualHost) async throws -> T) async throws -> T {
        let host = try await VirtualHost.create(amqpURL: amqpURL, apiURL: apiURL)
        return try await body(host)
    }
}

/// A RabbitMQ cluster of a test's own: nodes on this machine (via `.ci/lib.sh`), each of which the
/// test may stop and start.
package final class PrivateCluster: Sendable {
    package let directories: [String]
    /// The nodes' AMQP URLs (default virtual host), comma-separated, the first node first.
    package let amqpURLs: String

    /// Starts `nodes` nodes and joins them; takes a minute or so.
    package static func start(nodes: Int) async throws -> PrivateCluster {
        let output = try await Shell.run(
            "ECOM_CI_NO_TRAP=1 start_throwaway_rabbitmq_cluster \(nodes) >&2 && printf '%s\\n' \"$ECOM_TEST_RABBITMQ_CLUSTER_DIRS\" \"$ECOM_TEST_AMQP_URLS\"",
            timeout: .seconds(600))
        let lines = output.split(separator: "\n").map(String.init)
        guard lines.count >= 2 else { throw TestBrokerError("private cluster did not start: \(output)") }
        let directories = lines[lines.count - 2].split(separator: " ").map(String.init)
        guard directories.count == nodes else { throw TestBrokerError("private cluster: \(output)") }
        // Without a path, a URL names the default virtual host, `/` (a bare `/` path would name "").
        let urls = lines[lines.count - 1].split(separator: ",").map { $0.hasSuffix("/") ? String($0.dropLast()) : String($0) }
        return PrivateCluster(directories: directories, amqpURLs: urls.joined(separator: ","))
    }

    private init(directories: [String], amqpURLs: String) {
        self.directories = directories
        self.amqpURLs = amqpURLs
    }

    /// Stops node `index` (its data stays), as `rabbitmqctl stop` would.
    package func stop(node index: Int) async throws { _ = try await Shell.run("ecom_rabbitmq_node_stop '\(directories[index])'") }

    /// Starts node `index` again; it rejoins the cluster.
    package func start(node index: Int) async throws { _ = try await Shell.run("ecom_rabbitmq_node_start '\(directories[index])'") }

    /// Stops every node and deletes everything they had.
    package func remove() async {
        _ = try? await Shell.run(directories.map { "stop_throwaway_rabbitmq '\($0)'" }.joined(separator: "; "))
    }
}

/// Runs bash with `.ci/lib.sh` loaded, polling for the exit so no thread of the concurrency pool blocks.
///
/// It spawns bash itself rather than through `Process`: Foundation notices a child's exit only
/// once every holder of a descriptor it passes down has closed it, and a broker node started by
/// the script would hold it for as long as it runs.
package enum Shell {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @discardableResult
    package static func run(_ script: String, timeout: Duration = .seconds(300)) async throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-shell-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: output) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // The script (and any daemon it starts) keeps none of this process's descriptors: a
        // broker node holding another child's pipe would hide that child's exit from Foundation.
        let closeInherited = #"for fd in /proc/$$/fd/*; do fd=${fd##*/}; if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null; fi; done"#
        let command = closeInherited + "; cd '\(repository.path)' && . .ci/lib.sh && " + script
        let arguments = ["/bin/bash", "-c", command]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, &argv, environ)
        guard spawned == 0 else { throw TestBrokerError("cannot run bash: \(String(cString: strerror(spawned)))") }
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard ContinuousClock.now < deadline else {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw TestBrokerError("timed out: \(script)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        // Exited normally with status 0 (a wait status of 0).
        guard status == 0 else { throw TestBrokerError("failed (wait status \(status)): \(script)") }
        return text
    }
}
