import NIOCore
import Testing

@testable import EcomNotifications

@Suite struct BackgroundLoopTests {
    #if os(Linux)
    @Test func tasksPreferringItRunOnItsLowerPriorityThread() async throws {
        let background = BackgroundLoop()
        let outside = try #require(BackgroundLoop.threadNiceness())
        let (onLoop, niceness) = await withTaskExecutorPreference(background) {
            (background.loop.inEventLoop, BackgroundLoop.threadNiceness())
        }
        // The caller's thread keeps its priority; only the loop's was lowered.
        let after = BackgroundLoop.threadNiceness()
        await background.shutdown()
        #expect(onLoop)
        #expect(niceness == min(19, outside + BackgroundLoop.niceness))
        #expect(after == outside)
    }
    #endif
}
