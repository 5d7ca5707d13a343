import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ctrl-C in an interactive session: counted instead of ending the process.
///
/// The handler is installed without `SA_RESTART`, so a blocking `read` that receives the
/// signal fails with `EINTR` and `readline` returns. The kernel may deliver the signal to any
/// thread; when a read is blocked on the reader thread, the handler forwards it there, and the
/// forwarded delivery is the one counted.
package enum Interrupts {
    private static let counter = Atomic<Int>(0)
    /// The thread blocked in an interruptible read, or 0.
    private static let blockedReader = Atomic<UInt>(0)
    private static let installed = Atomic<Bool>(false)

    /// Takes over SIGINT for the rest of the process (once).
    package static func install() {
        // Touch the statics first: the handler must not run their lazy initialization.
        _ = counter.load(ordering: .relaxed)
        _ = blockedReader.load(ordering: .relaxed)
        guard !installed.exchange(true, ordering: .sequentiallyConsistent) else { return }
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = handleInterrupt
        #else
        action.__sigaction_u.__sa_handler = handleInterrupt
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
    }

    /// How many times Ctrl-C was pressed since `install()`.
    package static var count: Int { counter.load(ordering: .sequentiallyConsistent) }

    /// Returns once Ctrl-C has been pressed more than `seen` times in all; throws `CancellationError`
    /// when the waiting task is cancelled.
    package static func wait(beyond seen: Int) async throws {
        while count <= seen {
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Runs a blocking read that Ctrl-C should interrupt.
    ///
    /// The calling thread may have been started with SIGINT blocked (threads inherit the mask of
    /// their creator, and the concurrency pool's threads block it), so it is unblocked here for
    /// the length of the read.
    static func interruptible<T>(_ read: () -> T) -> T {
        var interrupt = sigset_t()
        var previous = sigset_t()
        sigemptyset(&interrupt)
        sigaddset(&interrupt, SIGINT)
        blockedReader.store(currentThread, ordering: .sequentiallyConsistent)
        pthread_sigmask(SIG_UNBLOCK, &interrupt, &previous)
        defer {
            pthread_sigmask(SIG_SETMASK, &previous, nil)
            blockedReader.store(0, ordering: .sequentiallyConsistent)
        }
        return read()
    }

    fileprivate static func received() {
        let reader = blockedReader.load(ordering: .sequentiallyConsistent)
        if reader != 0 && reader != currentThread {
            pthread_kill(thread(reader), SIGINT)
        } else {
            counter.add(1, ordering: .sequentiallyConsistent)
        }
    }

    private static var currentThread: UInt {
        #if canImport(Glibc)
        UInt(pthread_self())
        #else
        UInt(bitPattern: pthread_self())
        #endif
    }

    private static func thread(_ id: UInt) -> pthread_t {
        #if canImport(Glibc)
        pthread_t(id)
        #else
        pthread_t(bitPattern: id)!
        #endif
    }
}

private func handleInterrupt(_: Int32) {
    let saved = errno
    Interrupts.received()
    errno = saved
}
