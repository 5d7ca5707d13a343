import Logging
import Synchronization

/// Keeps what was logged, one line per message (level, message, then the metadata sorted by key),
/// for tests that check a message was said and at which level.
package final class LogRecorder: LogHandler, Sendable {
    private let lines = Mutex<[String]>([])
    package var messages: [String] { lines.withLock { $0 } }

    package init() {}

    package func log(event: LogEvent) {
        // The recorder keeps no metadata of its own (its setters drop it): only the event's.
        let metadata = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        lines.withLock { $0.append(([event.level.rawValue, "\(event.message)"] + metadata).joined(separator: " ")) }
    }

    package var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }

    package var logLevel: Logger.Level {
        get { .trace }
        set {}
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }
}
