import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// What a process knows of the demo admin's published password (`admin@example.com` / `admin123`).
package enum DemoPasswordState: Sendable, Equatable {
    /// The demo admin is absent, or its password was changed.
    case changed
    /// The published password still signs the demo admin in.
    case active
    /// Not known yet: the users service has not migrated and seeded, or cannot be reached.
    case unknown
}

extension ListenAddress {
    /// This address with its host resolved once, as the listener resolves it (the first address
    /// `getaddrinfo` gives), so that what is checked is what is bound; the host as given when it
    /// does not resolve.
    package func resolved() -> ListenAddress {
        guard let address = try? SocketAddress.makeAddressResolvingHost(host, port: port), let ip = address.ipAddress else {
            return self
        }
        var resolved = self
        resolved.host = ip
        return resolved
    }

    /// Whether this address accepts connections from this machine only, decided on the address
    /// the host resolves to (`localhost` is loopback, a name such as `127.evil.example` is not
    /// unless it resolves to a loopback address). A host that does not resolve is not loopback.
    package var isLoopback: Bool {
        guard let address = try? SocketAddress.makeAddressResolvingHost(host, port: port) else { return false }
        switch address {
        case .v4(let v4):
            return UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            let isIPv6Loopback = bytes == Array(repeating: 0, count: 15) + [1]
            let isMappedIPv4Loopback = bytes.prefix(12) == ArraySlice(Array(repeating: 0, count: 10) + [0xFF, 0xFF]) && bytes[12] == 127
            return isIPv6Loopback || isMappedIPv4Loopback
        case .unixDomainSocket:
            return true
        }
    }
}

extension ServiceUnit {
    /// This unit with its HTTP listener wrapped by `wrap`; its other services are left as they are.
    package func wrappingListener(_ wrap: (any Service) -> any Service) -> ServiceUnit {
        var unit = self
        unit.services = services.map { $0 is any ApplicationProtocol ? wrap($0) : $0 }
        return unit
    }
}

/// Holds a listener back from binding beyond loopback until the demo admin's published password
/// is known to be changed, and stops the process when it is still set: refused unless proven safe.
package struct ExposureGuard: Service {
    let listener: any Service
    let address: ListenAddress
    let demoPassword: @Sendable () async -> DemoPasswordState
    let logger: Logger

    package init(
        listener: any Service, address: ListenAddress, logger: Logger, demoPassword: @escaping @Sendable () async -> DemoPasswordState
    ) {
        self.listener = listener
        self.address = address
        self.logger = logger
        self.demoPassword = demoPassword
    }

    package struct DemoPasswordActive: Error, CustomStringConvertible {
        package var address: ListenAddress
        package var description: String {
            "refusing to listen on \(address): the demo admin (admin@example.com) still has its published password; change it (ecom passwd) or listen on 127.0.0.1"
        }
    }

    package func run() async throws {
        for attempt in 1...30 {
            switch await demoPassword() {
            case .changed:
                try await listener.run()
                return
            case .active:
                throw DemoPasswordActive(address: address)
            case .unknown:
                logger.info(
                    "waiting for the users service before listening beyond loopback",
                    metadata: ["address": "\(address)", "attempt": "\(attempt)"])
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
                } catch {
                    return
                }
            }
        }
        throw DemoPasswordActive(address: address)
    }
}
