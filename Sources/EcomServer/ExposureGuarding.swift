import EcomServerKit
import Logging

/// Holds back every listener beyond loopback of a process that runs the users service, and the
/// gateway's wherever the users service runs, until the demo admin's published password is known
/// to be changed; while it is still set, the process refuses to start.
func guardingExposure(_ units: [ServiceUnit], logger: Logger) -> [ServiceUnit] {
    let localUsers = units.first { $0.name == ServiceName.users.rawValue }?.demoPassword
    return units.map { unit in
        guard !unit.address.isLoopback, let demoPassword = localUsers ?? unit.demoPassword else { return unit }
        return unit.wrappingListener { listener in
            ExposureGuard(listener: listener, address: unit.address, logger: logger, demoPassword: demoPassword)
        }
    }
}
