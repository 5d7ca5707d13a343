import ArgumentParser
import EcomMessaging
import EcomServer
import EcomServerKit
import Foundation
import Logging

extension EcomCommand {
    struct ServeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Run the ecom backend: the gateway and its services.",
            discussion: """
                With no database URL, ecom starts a private PostgreSQL cluster under the data \
                directory (as root, under /var/lib/ecom instead, where the postgres user can reach \
                it; Unix socket only), creates a database per service, keeps a random \
                signing key in the data directory, and creates the demo admin admin@example.com / admin123. \
                While that password is unchanged, no listener binds beyond loopback (--host and \
                --service-host are judged on the address they resolve to).

                With a database URL (--database-url, DB_URL or ECOM_DATABASE_URL) it uses that \
                server: one service uses the URL's database; several services use one database \
                each, named <database>_<service>, created when missing. SECRET_KEY (at least 32 \
                bytes) is then required, and no admin is created unless ECOM_ADMIN_EMAIL and \
                ECOM_ADMIN_PASSWORD are set.

                Events between products, cart and orders travel in-process, or through RabbitMQ \
                when an AMQP URL is given (--amqp-url, RABBITMQ_URL or ECOM_AMQP_URL); RabbitMQ is \
                needed when those services run in separate processes (--only).

                The connection caps below are scaled down to fit the open-file limit, which is raised to its \
                hard limit at start; a connection over a cap is answered 503.

                Environment (flags win over variables; of several names, the first set wins):
                \(EnvironmentVariable.help)
                """
        )

        @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Run only these services (gateway, users, products, cart, orders, notifications).", valueName: "service"))
        var only: [String] = []

        @Option(name: .long, help: ArgumentHelp("Address the gateway listens on.", valueName: "address"))
        var host: String?

        @Option(name: .long, help: ArgumentHelp("Port of the gateway.", valueName: "port"))
        var port: Int?

        @Option(name: .long, help: ArgumentHelp("Address the services listen on.", valueName: "address"))
        var serviceHost: String?

        @Option(name: .long, help: ArgumentHelp("PostgreSQL URL; omit for the embedded database.", valueName: "url"))
        var databaseURL: String?

        @Option(name: .customLong("amqp-url"), help: ArgumentHelp("RabbitMQ URL (amqp://user:password@host:port/vhost, amqps:// for TLS) for events; a cluster's nodes' URLs separated by commas.", valueName: "url"))
        var amqpURL: String?

        @Option(name: .customLong("amqp-queue-type"), help: ArgumentHelp("Type of the RabbitMQ queues: classic, or quorum (replicated in a cluster).", valueName: "type"))
        var amqpQueueType: AMQPQueueType?

        @Option(name: .long, help: ArgumentHelp("Directory of the embedded database and key (default: $XDG_DATA_HOME/ecom).", valueName: "path"))
        var dataDir: String?

        @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error.", valueName: "level"))
        var logLevel: Logger.Level?

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Write systemd units, one per service (those of --only), and ecom.target, into this directory ('-' prints them), then exit.",
                valueName: "directory"),
            completion: .directory)
        var writeUnits: String?

        @Option(name: .long, help: ArgumentHelp("The ecom the written units start (default: this one).", valueName: "path"), completion: .file())
        var unitExecutable: String?

        /// `--only` accepts names separated by spaces or commas.
        var services: [String] {
            only.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
        }

        func validate() throws {
            for name in services where ServiceName(rawValue: name) == nil {
                throw ValidationError("unknown service '\(name)'; choose from: \(ServiceName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if let port, !(1...65535).contains(port) {
                throw ValidationError("--port must be between 1 and 65535")
            }
            if writeUnits != nil, databaseURL != nil || amqpURL != nil {
                throw ValidationError(
                    "--write-units keeps URLs out of the units, which anyone may read: put DB_URL, RABBITMQ_URL and SECRET_KEY in \(SystemdUnits.sharedEnvironmentFile)")
            }
            if writeUnits == nil, unitExecutable != nil {
                throw ValidationError("--unit-executable goes with --write-units")
            }
            if let unitExecutable, !unitExecutable.hasPrefix("/") {
                throw ValidationError("--unit-executable must be an absolute path, got '\(unitExecutable)'")
            }
        }

        /// The units of the chosen services, with the options given here that a unit carries.
        func units() -> SystemdUnits {
            let executable = unitExecutable
                ?? (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
            let chosen = services.compactMap(ServiceName.init(rawValue:))
            var units = SystemdUnits(executable: executable, services: chosen.isEmpty ? ServiceName.allCases : chosen)
            if let serviceHost { units.commonArguments += ["--service-host", serviceHost] }
            if let logLevel { units.commonArguments += ["--log-level", logLevel.rawValue] }
            if let amqpQueueType { units.commonArguments += ["--amqp-queue-type", amqpQueueType.rawValue] }
            if let host { units.gatewayArguments += ["--host", host] }
            if let port { units.gatewayArguments += ["--port", String(port)] }
            return units
        }

        func write(_ units: SystemdUnits, to directory: String) throws {
            if directory == "-" {
                print(units.files.map { "# \($0.name)\n\($0.text)" }.joined(separator: "\n"), terminator: "")
                return
            }
            let folder = URL(fileURLWithPath: directory, isDirectory: true)
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for file in units.files {
                    let url = folder.appendingPathComponent(file.name)
                    try Data(file.text.utf8).write(to: url, options: .atomic)
                    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
                    print(url.path)
                }
            } catch {
                throw CommandFailure("cannot write the units into \(directory): \(error.localizedDescription)")
            }
            FileHandle.standardError.write(Data("""
                ecom: put DB_URL, RABBITMQ_URL and SECRET_KEY in \(SystemdUnits.sharedEnvironmentFile), then: \
                systemctl daemon-reload && systemctl enable --now \(SystemdUnits.targetName)

                """.utf8))
        }

        func run() async throws {
            if let writeUnits {
                try write(units(), to: writeUnits)
                return
            }
            let environment = ProcessInfo.processInfo.environment
            let level = logLevel ?? EnvironmentVariable.logLevel.value(in: environment).flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
            // Lines reach stderr through one writer thread, so requests never wait on a write of their own;
            // whatever it still holds is written before the process exits.
            LoggingSystem.bootstrap { label in
                var handler = BufferedLogHandler(label: label, writer: .standardError)
                handler.logLevel = level
                return handler
            }
            atexit { LogWriter.standardError.flush() }
            let logger = Logger(label: "ecom")

            var configuration = ServeConfiguration(
                dataDirectory: dataDir.map { URL(fileURLWithPath: $0) }
                    ?? ServeConfiguration.defaultDataDirectory(environment: environment))
            configuration.apply(environment: environment)
            if !services.isEmpty { configuration.services = Set(services.compactMap(ServiceName.init(rawValue:))) }
            if let host { configuration.gatewayHost = host }
            if let port { configuration.ports[.gateway] = port }
            if let serviceHost { configuration.serviceHost = serviceHost }
            if let databaseURL { configuration.databaseURL = databaseURL }
            if let amqpURL { configuration.amqpURL = amqpURL }
            if let amqpQueueType { configuration.amqpQueueType = amqpQueueType.rawValue }

            do {
                try await serve(configuration, logger: logger) { line in
                    LogWriter.standardError.write("ecom: \(line)\n", urgent: true)
                }
            } catch {
                LogWriter.standardError.write("ecom serve: \(error)\n", urgent: true)
                throw ExitCode.failure
            }
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension AMQPQueueType: ExpressibleByArgument {}
