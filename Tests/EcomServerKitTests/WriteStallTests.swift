import EcomServerKit
import NIOCore
import NIOEmbedded
import Testing

/// A connection whose client stops reading is closed once it has been unwritable for the timeout.
@Suite struct WriteStallTests {
    @Test("unwritable past the timeout closes the connection; writable again in time keeps it")
    func closesStalledConnections() throws {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(handler: WriteStallHandler(timeout: .seconds(30)), loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()

        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        loop.advanceTime(by: .seconds(20))
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        loop.advanceTime(by: .seconds(20))
        #expect(channel.isActive, "a client that caught up keeps its connection")

        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        loop.advanceTime(by: .seconds(29))
        #expect(channel.isActive)
        loop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive, "30 seconds without reading closes it")
    }
}
