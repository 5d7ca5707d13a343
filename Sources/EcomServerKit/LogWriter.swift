import Foundation
import Logging
import Metrics
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes log lines to a file descriptor from a thread of its own, so that a request pays for formatting its
/// line and copying it into a buffer, never for a locked, synchronous `write(2)` of its own: the thread writes
/// whatever has gathered since its last write in one call. Once woken, it lets lines gather for a moment
/// (`gathering`) before it writes, so that a busy process wakes it about once a millisecond rather than once a
/// line, and a caller only signals it when it sleeps.
///
/// The buffer is bounded. When the output cannot keep up (a terminal, a stalled pipe), lines below warning
/// are dropped and counted rather than held without bound or made to wait; the count is written as a line of
/// its own once the writer catches up, and kept in `ecom_log_lines_dropped_total`. Warnings and errors are
/// never dropped: their caller waits until they are written, so they reach the output at once, in order.
package final class LogWriter: @unchecked Sendable {
    private let fileDescriptor: Int32
    private let capacity: Int
    /// Guards everything below; the writer thread waits on it for lines, callers of `flush` for the writer.
    private let condition = NSCondition()
    private var pending: [UInt8] = []
    /// The buffer the writer last emptied, handed back so that a steady load reuses two buffers.
    private var spare: [UInt8] = []
    /// Lines accepted into `pending` since the start, and how many of them the writer has written.
    private var accepted = 0
    private var written = 0
    /// Lines dropped since the writer last reported them, and in all.
    private var droppedSinceReport = 0
    private var droppedTotal = 0
    private var stopping = false
    private var stopped = false
    /// Whether the writer thread sleeps until lines come; only then does a new line signal it.
    private var idle = false
    /// Callers waiting for lines to be written (urgent lines, `flush`, `close`): the writer does not let lines
    /// gather while anyone waits.
    private var waiting = 0
    private let gathering: Duration

    /// The process's standard error, as `ecom serve` logs to it.
    package static let standardError = LogWriter(fileDescriptor: STDERR_FILENO)

    /// A writer of lines to `fileDescriptor` (left open when the writer stops), holding at most `capacity`
    /// bytes that wait to be written.
    package init(fileDescriptor: Int32, capacity: Int = 1 << 20, gathering: Duration = .milliseconds(1)) {
        self.fileDescriptor = fileDescriptor
        self.capacity = capacity
        self.gathering = gathering
        let thread = Thread { [self] in run() }
        thread.name = "ecom-log-writer"
        thread.start()
    }

    /// Queues `line` (which ends with its newline). A line at `urgent` (warnings and errors) waits for room
    /// and returns once it is written; any other line is dropped when the buffer is full.
    package func write(_ line: String, urgent: Bool = false) {
        var line = line
        line.withUTF8 { bytes in enqueue(bytes, urgent: urgent) }
    }

    private func enqueue(_ bytes: UnsafeBufferPointer<UInt8>, urgent: Bool) {
        condition.lock()
        guard !stopped else { return condition.unlock() }
        if urgent {
            waiting += 1
            defer { waiting -= 1 }
            while pending.count + bytes.count > capacity, !pending.isEmpty, !stopped { wakeWriterAndWait() }
            pending.append(contentsOf: bytes)
            accepted += 1
            let line = accepted
            while written < line, !stopped { wakeWriterAndWait() }
            return condition.unlock()
        }
        if !pending.isEmpty, pending.count + bytes.count > capacity {
            droppedSinceReport += 1
            droppedTotal += 1
            return condition.unlock()
        }
        pending.append(contentsOf: bytes)
        accepted += 1
        let wake = idle
        idle = false
        condition.unlock()
        // Signalled outside the lock, so that the writer does not wake only to wait for it; a broadcast, since
        // a caller of `flush` may wait on the same condition.
        if wake { condition.broadcast() }
    }

    /// Called with the lock held by a caller that waits for the writer.
    private func wakeWriterAndWait() {
        idle = false
        condition.broadcast()
        condition.wait()
    }

    /// Waits until every line queued before the call is written, or `timeout` passes; false on a timeout.
    @discardableResult
    package func flush(timeout: Duration = .seconds(5)) -> Bool {
        let deadline = Date(timeIntervalSinceNow: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        condition.lock()
        defer { condition.unlock() }
        waiting += 1
        defer { waiting -= 1 }
        let target = accepted
        while written < target, !stopped {
            idle = false
            condition.broadcast()
            if !condition.wait(until: deadline) { return written >= target }
        }
        return written >= target
    }

    /// Writes what is queued, then ends the writer's thread; later lines are discarded.
    package func close() {
        condition.lock()
        stopping = true
        waiting += 1
        while !stopped {
            idle = false
            condition.broadcast()
            condition.wait()
        }
        waiting -= 1
        condition.unlock()
    }

    /// Lines dropped since the writer started because the output did not keep up.
    package var droppedLines: Int {
        condition.lock()
        defer { condition.unlock() }
        return droppedTotal
    }

    private func run() {
        condition.lock()
        while true {
            while pending.isEmpty, droppedSinceReport == 0, !stopping {
                idle = true
                condition.wait()
            }
            idle = false
            if pending.isEmpty, droppedSinceReport == 0, stopping { break }
            if waiting == 0, !stopping, gathering > .zero {
                condition.unlock()
                Thread.sleep(forTimeInterval: Double(gathering.components.attoseconds) / 1e18 + Double(gathering.components.seconds))
                condition.lock()
            }
            var batch = pending
            pending = spare
            spare = []
            let upTo = accepted
            let dropped = droppedSinceReport
            droppedSinceReport = 0
            condition.unlock()

            // The dropped lines came after those of this batch and before any queued since.
            if dropped > 0 {
                Counter(label: "ecom_log_lines_dropped_total").increment(by: dropped)
                var report = LogLineFormat.line(
                    level: .warning, label: "ecom", metadata: ["dropped_lines": "\(dropped)"], source: "EcomServerKit",
                    message: "log lines dropped: the log output did not keep up")
                report.withUTF8 { batch.append(contentsOf: $0) }
            }
            batch.withUnsafeBytes { writeAll($0) }
            batch.removeAll(keepingCapacity: true)

            condition.lock()
            if spare.isEmpty, batch.capacity <= 2 * capacity { spare = batch }
            written = upTo
            condition.broadcast()
        }
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            #if canImport(Glibc)
            let result = Glibc.write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
            #else
            let result = Darwin.write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
            #endif
            if result > 0 {
                offset += result
            } else if result < 0, errno == EINTR || errno == EAGAIN {
                continue
            } else {
                // A closed or broken output: nothing more can be written there.
                return
            }
        }
    }
}

/// A `LogHandler` that writes the lines `StreamLogHandler` writes, byte for byte, through a `LogWriter`.
///
/// Its metadata is rendered when a line is written rather than each time it is set, since a request sets
/// some on its logger but writes one line.
package struct BufferedLogHandler: LogHandler {
    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let writer: LogWriter

    package init(label: String, writer: LogWriter, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.writer = writer
        self.metadataProvider = metadataProvider
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var effective = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            effective.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            effective.merge(explicit) { _, explicit in explicit }
        }
        if let error = event.error {
            effective["error.message"] = "\(error)"
            effective["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        let line = LogLineFormat.line(
            level: event.level, label: label, metadata: effective.isEmpty ? nil : effective, source: event.source,
            message: event.message.description)
        writer.write(line, urgent: event.level >= .warning)
    }
}

/// The line format of swift-log's `StreamLogHandler`:
/// `2026-12-01T10:00:00+0000 info ecom: request_id=… service=gateway [EcomServerKit] GET /health 200 0.1ms`.
enum LogLineFormat {
    /// Built in one string whose room is reserved first: the line is made on every request.
    static func line(level: Logger.Level, label: String, metadata: Logger.Metadata?, source: String, message: String) -> String {
        var line = ""
        line.reserveCapacity(256)
        line += LogTimestamp.now()
        line += " "
        line += level.rawValue
        if !label.isEmpty { line += " " }
        line += label
        line += ":"
        if let metadata {
            for key in metadata.keys.sorted() {
                line += " "
                line += key
                line += "="
                line += metadata[key]!.description
            }
        }
        line += " ["
        line += source
        line += "] "
        line += message
        line += "\n"
        return line
    }
}

/// Local time to the second, as `StreamLogHandler` writes it (`strftime("%Y-%m-%dT%H:%M:%S%z")`), made once
/// a second rather than once a line.
enum LogTimestamp {
    private static let cache = Mutex<(second: time_t, text: String)>((-1, ""))

    static func now() -> String {
        let current = time(nil)
        return cache.withLock { cache in
            if cache.second != current {
                cache = (current, format(current))
            }
            return cache.text
        }
    }

    static func format(_ seconds: time_t) -> String {
        var seconds = seconds
        var local = tm()
        // What `localtime`, which StreamLogHandler calls, does first: read TZ again.
        tzset()
        guard localtime_r(&seconds, &local) != nil else { return "<unknown>" }
        var buffer = [CChar](repeating: 0, count: 64)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local)
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
