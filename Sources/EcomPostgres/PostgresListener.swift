import Foundation
import Logging
import NIOPosix
import Synchronization

/// Holds a connection that LISTENs on one channel and reports what happens to it: listening (again),
/// lost, and each notification. It reconnects after a lost connection (a database restart, a failover,
/// a terminated backend) with a growing pause, and LISTENs again.
///
/// Notifications sent while it was not listening are lost for good, which is why `.lost` and
/// `.listening` are reported: whoever relies on the notifications must assume it missed some in between.
/// libpq blocks, so the connection lives on a thread of its own, waking every `pollInterval` to see
/// whether the service is stopping.
package final class PostgresListener: Sendable {
    package enum Event: Sendable, Equatable {
        /// LISTEN has succeeded: notifications committed from now on will arrive.
        case listening
        /// The connection was lost or could not be opened; notifications may be missed until `.listening`.
        case lost
        case notification(SQLNotification)
    }

    private let url: String
    private let channel: String
    private let logger: Logger
    private let onEvent: @Sendable (Event) -> Void
    private let pollInterval: Duration
    private let stopping = Atomic(false)
    /// The server process of the current connection, 0 when there is none; tests terminate it to cut the connection.
    private let backend = Atomic<Int32>(0)

    package init(
        url: String, channel: String, pollInterval: Duration = .milliseconds(100), logger: Logger,
        onEvent: @escaping @Sendable (Event) -> Void
    ) {
        self.url = url
        self.channel = channel
        self.pollInterval = pollInterval
        self.logger = logger
        self.onEvent = onEvent
    }

    /// The process id of the server backend listening now, or nil while there is no connection.
    package var backendPID: Int32? {
        let pid = backend.load(ordering: .relaxed)
        return pid == 0 ? nil : pid
    }

    /// Listens until `stop()` is called or the task is cancelled; returns within `pollInterval` of either.
    package func run() async {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        await withTaskCancellationHandler {
            _ = try? await thread.runIfActive { self.listen() }
        } onCancel: {
            self.stop()
        }
        try? await thread.shutdownGracefully()
    }

    package func stop() {
        stopping.store(true, ordering: .relaxed)
    }

    private var isStopping: Bool { stopping.load(ordering: .relaxed) }

    private func listen() {
        var failures = 0
        var pause = Duration.milliseconds(50)
        while !isStopping {
            do {
                // Keepalives notice a server that vanished without closing the connection (a failover).
                let connection = try SQLConnection(
                    url: url,
                    options: [("keepalives_idle", "5"), ("keepalives_interval", "2"), ("keepalives_count", "3")],
                    logger: logger)
                try connection.executeScript("LISTEN \(quotedIdentifier(channel))")
                let pid: Int = try connection.query("SELECT pg_backend_pid() AS pid")[0].decode("pid")
                backend.store(Int32(pid), ordering: .relaxed)
                if failures > 0 { logger.notice("listening for changes again", metadata: ["channel": "\(channel)"]) }
                failures = 0
                pause = .milliseconds(50)
                onEvent(.listening)
                while !isStopping {
                    for notification in try connection.notifications(waitingUpTo: pollInterval) {
                        onEvent(.notification(notification))
                    }
                }
                backend.store(0, ordering: .relaxed)
            } catch {
                backend.store(0, ordering: .relaxed)
                onEvent(.lost)
                failures += 1
                // The first failure, then one in twenty: a long outage is not a log flood.
                if failures % 20 == 1 {
                    logger.warning(
                        "lost the connection that listens for changes; reconnecting",
                        metadata: ["channel": "\(channel)", "error": "\(error)", "attempt": "\(failures)"])
                }
                var slept = Duration.zero
                while slept < pause && !isStopping {
                    Thread.sleep(forTimeInterval: 0.025)
                    slept += .milliseconds(25)
                }
                pause = min(pause * 2, .seconds(1))
            }
        }
    }
}
