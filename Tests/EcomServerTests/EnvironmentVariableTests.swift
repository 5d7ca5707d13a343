import EcomServerKit
import Foundation
import Testing

@testable import EcomServer

@Suite struct EnvironmentVariableTests {
    static func configuration(_ environment: [String: String]) -> ServeConfiguration {
        var configuration = ServeConfiguration(dataDirectory: URL(fileURLWithPath: "/nonexistent"))
        configuration.apply(environment: environment)
        return configuration
    }

    @Test("of several names the first one set wins, and an empty value counts as unset")
    func aliases() {
        #expect(Self.configuration(["DB_URL": "postgresql://b/x", "DATABASE_URL": "postgresql://c/x"]).databaseURL == "postgresql://b/x")
        #expect(Self.configuration(["ECOM_DATABASE_URL": "", "DATABASE_URL": "postgresql://c/x"]).databaseURL == "postgresql://c/x")
        #expect(Self.configuration(["SECRET_KEY": "a", "ECOM_SECRET_KEY": "b"]).secretKey == "b")
        #expect(Self.configuration(["RABBITMQ_URL": "amqp://r"]).amqpURL == "amqp://r")
        #expect(Self.configuration(["PORT": "9000", "HOST": "0.0.0.0"]).port(of: .gateway) == 9000)
        #expect(Self.configuration(["PORT": "9000", "HOST": "0.0.0.0"]).gatewayHost == "0.0.0.0")
    }

    @Test("the per-service variables are read for each service by its upper-cased name")
    func perService() {
        let configuration = Self.configuration([
            "ECOM_CART_PORT": "9103", "ECOM_ORDERS_DATABASE_URL": "postgresql://db/o", "ECOM_USERS_URL": "http://users:1",
        ])
        #expect(configuration.port(of: .cart) == 9103)
        #expect(configuration.port(of: .orders) == ServiceName.orders.defaultPort)
        #expect(configuration.serviceDatabaseURLs == [.orders: "postgresql://db/o"])
        #expect(configuration.url(of: .users) == "http://users:1")
        #expect(EnvironmentVariable.servicePort.of(.products).names == ["ECOM_PRODUCTS_PORT"])
    }

    @Test("values out of range leave the defaults")
    func outOfRange() {
        let configuration = Self.configuration([
            "ECOM_DB_POOL_SIZE": "0", "ECOM_ORDER_PENDING_TIMEOUT": "-5", "ECOM_MAX_CONNECTIONS": "x", "ECOM_HOLD_EVENTS": "yes",
        ])
        #expect(configuration.poolSize == 8)
        // A relay holds a connection while it publishes: 1 is raised to the 2 a service needs.
        #expect(Self.configuration(["ECOM_DB_POOL_SIZE": "1"]).poolSize == 2)
        #expect(configuration.pendingTimeout == .seconds(120))
        #expect(configuration.gatewayLimits == .gateway)
        #expect(!configuration.holdEvents)
        let set = Self.configuration(["ECOM_DB_POOL_SIZE": "256", "ECOM_ORDER_PENDING_TIMEOUT": "5", "ECOM_HOLD_EVENTS": "1"])
        #expect(set.poolSize == 256)
        #expect(set.pendingTimeout == .seconds(5))
        #expect(set.holdEvents)
    }

    @Test("the embedded cluster has room for every service's pool, and PostgreSQL's default 100 connections at least")
    func embeddedMaxConnections() {
        #expect(Self.configuration([:]).embeddedMaxConnections == 100)
        #expect(Self.configuration(["ECOM_DB_POOL_SIZE": "16"]).embeddedMaxConnections == 100)
        #expect(Self.configuration(["ECOM_DB_POOL_SIZE": "64"]).embeddedMaxConnections == 64 * 5 + 20)
        #expect(Self.configuration(["ECOM_DB_POOL_SIZE": "256"]).embeddedMaxConnections == 256 * 5 + 20)
    }

    @Test("the help lists every variable of the table, each with its names, meaning and default, within 80 columns")
    func help() {
        let help = EnvironmentVariable.help + "\n"
        for variable in EnvironmentVariable.all {
            #expect(help.contains("  \(variable.names.joined(separator: ", "))\n      \(variable.meaning)\n      default: \(variable.fallback)\n"))
        }
        let names = EnvironmentVariable.all.flatMap(\.names)
        #expect(Set(names).count == names.count)
        for line in help.split(separator: "\n") {
            #expect(line.count <= 80, "\(line)")
        }
        #expect(help.contains("  ECOM_MAX_CONNECTIONS\n      connections the gateway holds at once\n      default: 4096\n"))
        #expect(help.contains("default: 8080, 8081, 8082, 8083, 8084, 8085, in that order\n"))
    }
}
