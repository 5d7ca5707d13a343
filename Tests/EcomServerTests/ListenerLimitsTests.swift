import EcomServer
import EcomServerKit
import Foundation
import Testing

@Suite struct ListenerLimitsTests {
    static func configuration(_ environment: [String: String] = [:]) -> ServeConfiguration {
        var configuration = ServeConfiguration(dataDirectory: URL(fileURLWithPath: "/nonexistent"))
        configuration.apply(environment: environment)
        return configuration
    }

    @Test("under 1,024 descriptors the caps of every listener and the reserve fit together")
    func fitsLowLimit() {
        let configuration = Self.configuration()
        let limits = configuration.listenerLimits(openFileLimit: 1024)
        #expect(limits.count == ServiceName.allCases.count)
        let total = limits.values.map(\.maxConnections).reduce(0, +)
        #expect(total + configuration.descriptorReserve <= 1024)
        let gateway = limits[.gateway]!
        #expect(gateway.maxConnections > limits[.products]!.maxConnections)
        #expect(gateway.maxConnectionsPerClient! < gateway.maxConnections)
        #expect(gateway.maxConnectionsPerClient! >= 1)
    }

    @Test("with descriptors to spare the documented defaults stand, and the environment changes them")
    func defaults() {
        let limits = Self.configuration().listenerLimits(openFileLimit: 1 << 20)
        #expect(limits[.gateway] == .gateway)
        #expect(limits[.orders] == .service)
        #expect(ListenerLimits.gateway.maxConnections == 4096)
        #expect(ListenerLimits.gateway.maxConnectionsPerClient == 256)
        #expect(ListenerLimits.service.maxConnections == 1024)
        #expect(ListenerLimits.gateway.headerTimeout == .seconds(10))
        #expect(ListenerLimits.gateway.idleTimeout == .seconds(75))

        let configured = Self.configuration([
            "ECOM_MAX_CONNECTIONS": "50", "ECOM_MAX_CONNECTIONS_PER_CLIENT": "0", "ECOM_SERVICE_MAX_CONNECTIONS": "20",
            "ECOM_HEADER_TIMEOUT": "3", "ECOM_IDLE_TIMEOUT": "30",
        ]).listenerLimits(openFileLimit: 1 << 20)
        #expect(configured[.gateway] == ListenerLimits(maxConnections: 50, maxConnectionsPerClient: nil, headerTimeout: .seconds(3), idleTimeout: .seconds(30)))
        #expect(configured[.cart] == ListenerLimits(maxConnections: 20, maxConnectionsPerClient: nil, headerTimeout: .seconds(3), idleTimeout: .seconds(30)))
    }
}
