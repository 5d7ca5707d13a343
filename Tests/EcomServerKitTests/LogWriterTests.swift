import Foundation
import Logging
import Synchronization
import Testing

@testable import EcomServerKit

#if canImport(Glibc)
import Glibc
#endif

@Suite struct LogWriterTests {
    /// A file the writer writes to, read back by the test.
    final class Output {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("log-writer-\(UUID().uuidString).log")
        let descriptor: Int32

        init() {
            descriptor = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }

        var text: String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }

        deinit {
            close(descriptor)
            try? FileManager.default.removeItem(at: url)
        }
    }

    @Test("every line is written, in the order it was queued, by the time the writer closes")
    func writesEveryLineInOrder() {
        let output = Output()
        let writer = LogWriter(fileDescriptor: output.descriptor, capacity: 16 << 20)
        for number in 0..<20_000 { writer.write("line \(number)\n") }
        writer.close()
        #expect(output.text == (0..<20_000).map { "line \($0)\n" }.joined())
        #expect(writer.droppedLines == 0)
    }

    @Test("flush returns once every line queued before it is written")
    func flushWritesWhatIsQueued() {
        let output = Output()
        let writer = LogWriter(fileDescriptor: output.descriptor)
        defer { writer.close() }
        for number in 0..<1_000 { writer.write("line \(number)\n") }
        #expect(writer.flush(timeout: .seconds(30)))
        #expect(output.text.split(separator: "\n").count == 1_000)
    }

    @Test("a warning or an error is written before its log call returns")
    func urgentLinesAreWrittenAtOnce() {
        let output = Output()
        let writer = LogWriter(fileDescriptor: output.descriptor)
        defer { writer.close() }
        writer.write("routine\n")
        writer.write("urgent\n", urgent: true)
        #expect(output.text == "routine\nurgent\n")
    }

    @Test("when the output stalls, lines are dropped and counted instead of blocking, and the count is written once it drains")
    func dropsAreCountedAndReported() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        let (readEnd, writeEnd) = (ends[0], ends[1])
        defer { close(readEnd) }
        let writer = LogWriter(fileDescriptor: writeEnd, capacity: 4096)
        // Nobody reads the pipe yet: once its buffer and the writer's are full, lines must be dropped, not waited on.
        let line = String(repeating: "x", count: 99) + "\n"
        for _ in 0..<10_000 { writer.write(line) }
        #expect(writer.droppedLines > 0)

        let received = Mutex((data: Data(), ended: false))
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = read(readEnd, &buffer, buffer.count)
                if count <= 0 { break }
                received.withLock { $0.data.append(contentsOf: buffer[0..<count]) }
            }
            received.withLock { $0.ended = true }
        }
        reader.start()
        writer.close()
        close(writeEnd)
        for _ in 0..<1_200 where !received.withLock({ $0.ended }) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let text = received.withLock { String(decoding: $0.data, as: UTF8.self) }

        let lines = text.split(separator: "\n")
        let written = lines.filter { $0 == line.dropLast() }.count
        let reports = lines.filter { $0.contains("log lines dropped") }
        let reported = reports.compactMap { report in
            report.split(separator: " ").first { $0.hasPrefix("dropped_lines=") }.flatMap { Int($0.dropFirst("dropped_lines=".count)) }
        }.reduce(0, +)
        #expect(!reports.isEmpty)
        #expect(reports.allSatisfy { $0.contains(" warning ecom: dropped_lines=") && $0.contains(" [EcomServerKit] ") })
        #expect(reported == writer.droppedLines)
        #expect(written + reported == 10_000)
    }

    @Test("the handler writes the lines StreamLogHandler writes", arguments: [
        LogCase(level: .info, handlerMetadata: [:], metadata: nil, message: "plain"),
        LogCase(
            level: .info, handlerMetadata: ["service": "gateway", "request_id": "abc"], metadata: ["service": "gateway"],
            message: "GET /health 200 0.1ms"),
        LogCase(
            level: .warning, handlerMetadata: ["z": "last"], metadata: ["list": ["a", "b"], "map": ["k": "v"], "number": .stringConvertible(42)],
            message: "dependency unavailable"),
        LogCase(level: .error, handlerMetadata: [:], metadata: nil, message: "failed", error: CocoaError(.fileNoSuchFile)),
    ])
    func matchesStreamLogHandler(_ sample: LogCase) {
        let output = Output()
        let writer = LogWriter(fileDescriptor: output.descriptor)
        defer { writer.close() }
        let expected = CapturedStream()

        // The two lines agree but for a second that may turn between them: try again if it did.
        for _ in 0..<5 {
            var stream = StreamLogHandler(label: "ecom", stream: expected, metadataProvider: nil)
            var buffered = BufferedLogHandler(label: "ecom", writer: writer, metadataProvider: nil)
            stream.metadata = sample.handlerMetadata
            buffered.metadata = sample.handlerMetadata
            let event = LogEvent(
                level: sample.level, message: "\(sample.message)", error: sample.error, metadata: sample.metadata, source: "EcomServerKit",
                file: #fileID, function: #function, line: #line)
            expected.clear()
            stream.log(event: event)
            let before = output.text.count
            buffered.log(event: event)
            writer.flush()
            let written = String(output.text.dropFirst(before))
            if written == expected.text {
                return
            }
            if written.drop { $0 != " " } != expected.text.drop { $0 != " " } {
                Issue.record("\(written) is not \(expected.text)")
                return
            }
        }
        Issue.record("the timestamps never agreed")
    }

    struct LogCase: Sendable, CustomTestStringConvertible {
        var level: Logger.Level
        var handlerMetadata: Logger.Metadata
        var metadata: Logger.Metadata?
        var message: String
        var error: (any Error & Sendable)?
        var testDescription: String { "\(level) \(message)" }
    }

    final class CapturedStream: TextOutputStream, @unchecked Sendable {
        private let lock = NSLock()
        private var captured = ""
        var text: String { lock.withLock { captured } }
        func clear() { lock.withLock { captured = "" } }
        func write(_ string: String) { lock.withLock { captured += string } }
    }
}

@Suite struct RequestIDTests {
    @Test("request ids read as random lowercase UUIDs and do not repeat")
    func requestIDsLookLikeRandomUUIDs() throws {
        let pattern = try Regex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        var seen = Set<String>()
        for _ in 0..<100_000 {
            let id = RequestIDs.next()
            #expect(id.wholeMatch(of: pattern) != nil, "\(id)")
            #expect(UUID(uuidString: id)?.uuidString.lowercased() == id)
            seen.insert(id)
        }
        #expect(seen.count == 100_000)
    }

    @Test("the version and variant bits are set whatever the bits they replace")
    func versionAndVariant() {
        #expect(RequestIDs.format(high: .max, low: .max) == "ffffffff-ffff-4fff-bfff-ffffffffffff")
        #expect(RequestIDs.format(high: 0, low: 0) == "00000000-0000-4000-8000-000000000000")
        #expect(RequestIDs.format(high: 0x0123_4567_89ab_cdef, low: 0xfedc_ba98_7654_3210) == "01234567-89ab-4def-bedc-ba9876543210")
    }

    @Test("a duration is written in milliseconds to a tenth, as String(format: \"%.1f\") writes it")
    func durationsMatchStringFormat() {
        var samples: [Int64] = [0, 1, 49_999, 50_001, 99_999, 100_000, 1_234_567, 999_949_999, 12_345_678_901]
        var generator = SystemRandomNumberGenerator()
        samples += (0..<10_000).map { _ in Int64.random(in: 0..<5_000_000_000, using: &generator) }
        // An exact half (…50_000 ns) is the one place rounding rules differ: printf rounds the binary value.
        for nanoseconds in samples where nanoseconds % 100_000 != 50_000 {
            #expect(RequestLogMiddleware.milliseconds(nanoseconds) == String(format: "%.1f", Double(nanoseconds) / 1e6), "\(nanoseconds)")
        }
    }
}
