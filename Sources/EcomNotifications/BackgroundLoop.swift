#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// One event loop on a thread of its own, at a lower CPU priority (`niceness` more than the
/// process's), and a task executor on it, so that the tasks that drive its channels run on the
/// same thread.
///
/// Webhook deliveries run here: their HTTP client's channels and the tasks that sign and send each
/// delivery. Each await on the client then resumes on the thread that already has the answer,
/// rather than crossing between NIO's threads and the concurrency pool's, a wake-up and a thread
/// switch each way (the README's Benchmarks give the CPU per delivery either way). Within the
/// process, the store's own threads get the cores first when both want them; the kernel shares the
/// cores between processes (PostgreSQL's, say) before priorities within one count. A delivery's
/// timeout is far longer than any wait this adds.
final class BackgroundLoop: TaskExecutor {
    /// How much lower the thread's priority is than the process's (nice 0 becomes nice 10: about a
    /// tenth of the share of a thread at the process's own priority, when both want a core).
    static let niceness: Int32 = 10

    let group: MultiThreadedEventLoopGroup
    let loop: any EventLoop

    init() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        loop.execute { Self.lowerThreadPriority() }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Stops the loop; call after whatever runs on it (the HTTP client) has shut down.
    func shutdown() async {
        try? await group.shutdownGracefully()
    }

    /// The calling thread's nice value; nil where that is not known. Linux keeps one per thread, and
    /// `PRIO_PROCESS` with id 0 names the calling thread, not the whole process.
    static func threadNiceness() -> Int32? {
        #if os(Linux)
        errno = 0
        let value = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        return errno == 0 ? value : nil
        #else
        return nil
        #endif
    }

    /// Lowers the calling thread's priority by `niceness`, up to the lowest there is (19).
    private static func lowerThreadPriority() {
        #if os(Linux)
        guard let current = threadNiceness() else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, min(19, current + niceness))
        #endif
    }
}
