import EcomPostgres
import Foundation
import Logging
import Synchronization
import Testing

/// Waiting for a connection: bounded, ordered by caller class, and abandoned on cancellation.
extension PostgresPoolTests {
    @Test("A client's request waits a bounded time for a connection, while a service still gets the reserved one")
    func boundedWait() async throws {
        try await TestDatabase.withPool(size: 1) { _, url in
            let pool = PostgresPool(
                url: url, size: 2, logger: Logger(label: "test"),
                limits: .init(reservedForServices: 1, requestWait: .milliseconds(200), serviceWait: .seconds(30)))
            let gate = Gate()
            async let held: Void = PostgresPool.$caller.withValue(.request) {
                try await pool.withConnection { _ in gate.enter() }
            }
            try await eventually { gate.entered == 1 }

            let error = await #expect(throws: PostgresPoolBusy.self) {
                try await PostgresPool.$caller.withValue(.request) { try await pool.query("SELECT 1") }
            }
            #expect(error?.caller == .request)
            #expect(error?.waited == .milliseconds(200))
            #expect(pool.waiting.requests == 0)
            // Clients hold all they may, yet a service is served at once from the reserved connection.
            #expect(try await PostgresPool.$caller.withValue(.service) { try await pool.query("SELECT 1 AS one") }.count == 1)

            gate.open()
            try await held
            #expect(try await PostgresPool.$caller.withValue(.request) { try await pool.query("SELECT 1 AS one") }.count == 1)
            await pool.shutdown()
        }
    }

    @Test("Waiting services are served before waiting requests, and a cancelled waiter leaves the queue")
    func priorityAndCancellation() async throws {
        try await TestDatabase.withPool(size: 1) { _, url in
            let pool = PostgresPool(
                url: url, size: 1, logger: Logger(label: "test"), limits: .init(reservedForServices: 0, requestWait: .seconds(60)))
            let gate = Gate()
            let served = Recorder()
            let holder = Task { try await pool.withConnection { _ in gate.enter() } }
            try await eventually { gate.entered == 1 }

            let request = Task {
                try await PostgresPool.$caller.withValue(.request) {
                    try await pool.withConnection { _ in served.record("request") }
                }
            }
            try await eventually { pool.waiting.requests == 1 }
            let abandoned = Task {
                try await PostgresPool.$caller.withValue(.request) {
                    try await pool.withConnection { _ in served.record("abandoned") }
                }
            }
            try await eventually { pool.waiting.requests == 2 }
            let service = Task {
                try await PostgresPool.$caller.withValue(.service) {
                    try await pool.withConnection { _ in served.record("service") }
                }
            }
            try await eventually { pool.waiting.services == 1 }

            abandoned.cancel()
            await #expect(throws: CancellationError.self) { try await abandoned.value }
            #expect(pool.waiting.requests == 1)

            gate.open()
            try await holder.value
            try await service.value
            try await request.value
            #expect(served.names == ["service", "request"])
            await pool.shutdown()
        }
    }

    @Test("A request that finds too many callers waiting is refused at once")
    func fullQueue() async throws {
        try await TestDatabase.withPool(size: 1) { _, url in
            let pool = PostgresPool(
                url: url, size: 1, logger: Logger(label: "test"),
                limits: .init(reservedForServices: 0, requestWait: .seconds(60), maxRequestWaiters: 1))
            let gate = Gate()
            let holder = Task { try await pool.withConnection { _ in gate.enter() } }
            try await eventually { gate.entered == 1 }
            let waiter = Task { try await PostgresPool.$caller.withValue(.request) { try await pool.query("SELECT 1") } }
            try await eventually { pool.waiting.requests == 1 }

            let error = await #expect(throws: PostgresPoolBusy.self) {
                try await PostgresPool.$caller.withValue(.request) { try await pool.query("SELECT 1") }
            }
            #expect(error?.waited == .zero)

            waiter.cancel()
            gate.open()
            try await holder.value
            _ = try? await waiter.value
            await pool.shutdown()
        }
    }
}

/// Names recorded in order from the pool's threads.
final class Recorder: Sendable {
    private let recorded = Mutex<[String]>([])

    var names: [String] { recorded.withLock { $0 } }

    func record(_ name: String) {
        recorded.withLock { $0.append(name) }
    }
}

/// Holds a pool's thread (and so its connection) until opened.
final class Gate: Sendable {
    private let state = Mutex((entered: 0, isOpen: false))

    var entered: Int { state.withLock { $0.entered } }

    /// Blocks the calling thread (one of the pool's own) until `open()`.
    func enter() {
        state.withLock { $0.entered += 1 }
        while !state.withLock({ $0.isOpen }) { usleep(1000) }
    }

    func open() {
        state.withLock { $0.isOpen = true }
    }
}

/// Polls `condition` until it holds, for up to 30 seconds.
func eventually(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while !condition() {
        try #require(ContinuousClock.now < deadline, "timed out waiting for a condition")
        try await Task.sleep(for: .milliseconds(5))
    }
}
