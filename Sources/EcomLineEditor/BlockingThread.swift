import Dispatch
import Foundation
import Synchronization

/// One long-lived thread that runs blocking jobs in order.
///
/// `readline` blocks its thread until the person presses Enter, and libedit's state is global;
/// running every call on this one thread keeps both away from the Swift concurrency pool.
package final class BlockingThread: Sendable {
    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let available = DispatchSemaphore(value: 0)

    /// Starts the thread; it waits for jobs for the rest of the process.
    package init(name: String) {
        let thread = Thread { [self] in
            while true {
                available.wait()
                let job = jobs.withLock { $0.removeFirst() }
                job()
            }
        }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on the thread and returns its result.
    package func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            jobs.withLock { $0.append { continuation.resume(returning: body()) } }
            available.signal()
        }
    }
}
