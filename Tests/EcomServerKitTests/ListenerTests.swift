import AsyncHTTPClient
import EcomServerKit
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@Suite struct ListenerTests {
    @Test("a request whose client goes away is cancelled, not finished for nobody", .timeLimit(.minutes(1)))
    func clientGone() async throws {
        let (started, startedNow) = AsyncStream<Void>.makeStream()
        let (cancelled, cancelledNow) = AsyncStream<Void>.makeStream()
        let router = Router(context: EcomRequestContext.self)
        router.add(middleware: RequestLogMiddleware(service: "test"))
        router.add(middleware: ClientGoneMiddleware())
        router.get("/slow") { _, _ -> String in
            startedNow.yield()
            do {
                try await Task.sleep(for: .seconds(300))
            } catch {
                cancelledNow.yield()
                throw error
            }
            return "finished"
        }
        let app = makeApplication(router: router, address: ListenAddress(host: "127.0.0.1", port: 0), logger: Logger(label: "test"))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let call = Task { try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/slow"), timeout: .seconds(300)) }
            var startedIterator = started.makeAsyncIterator()
            await startedIterator.next()
            // Cancelling the call closes its connection: the client has gone.
            call.cancel()
            _ = try? await call.value
            var cancelledIterator = cancelled.makeAsyncIterator()
            await cancelledIterator.next()
        }
    }
}
