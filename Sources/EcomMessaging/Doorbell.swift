/// Wakes a loop when there may be work, coalescing rings that arrive while it is busy.
///
/// A ticker rings it too, so the loop also runs periodically when nothing rings it (rows left
/// by a previous process, retries coming due).
final class Doorbell: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func ring() {
        continuation.yield()
    }

    func close() {
        continuation.finish()
    }

    /// Runs `body` on every ring until the bell is closed; rings every `tick` meanwhile.
    func serve(tick: Duration, _ body: @Sendable () async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: tick)
                    ring()
                }
            }
            for await _ in stream {
                await body()
            }
            group.cancelAll()
        }
    }
}
