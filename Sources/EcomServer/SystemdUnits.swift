/// systemd units that run a store one service per process, as `ecom serve --write-units` writes
/// them: made by the binary they start, so they name its path and options and never drift from them.
///
/// Every unit reads `/etc/ecom/ecom.env` (the database and broker URLs and `SECRET_KEY`, shared by
/// all) and, if present, `/etc/ecom/<service>.env` (a service's own variables); the units
/// themselves hold no secret, since unit files are world-readable. `ecom.target` starts them all.
package struct SystemdUnits: Sendable {
    /// The `ecom` binary the units start.
    package var executable: String
    /// The services to write a unit for, in their order.
    package var services: [ServiceName]
    /// Options every service is started with (`--service-host`, `--log-level`).
    package var commonArguments: [String] = []
    /// Options of the gateway only (`--host`, `--port`).
    package var gatewayArguments: [String] = []

    package static let configurationDirectory = "/etc/ecom"
    package static let sharedEnvironmentFile = configurationDirectory + "/ecom.env"
    package static let targetName = "ecom.target"

    package init(executable: String, services: [ServiceName]) {
        self.executable = executable
        self.services = services.sorted()
    }

    package static func unitName(of service: ServiceName) -> String { "ecom-\(service.rawValue).service" }

    /// Each file's name and text: one service unit per service, then the target.
    package var files: [(name: String, text: String)] {
        services.map { (Self.unitName(of: $0), unit(for: $0)) } + [(Self.targetName, target)]
    }

    package func unit(for service: ServiceName) -> String {
        let arguments = ["serve", "--only", service.rawValue] + commonArguments + (service == .gateway ? gatewayArguments : [])
        return """
            [Unit]
            Description=ecom \(service.rawValue) \(service == .gateway ? "(the API's front door)" : "service")
            Documentation=man:ecom(1)
            PartOf=\(Self.targetName)
            Wants=network-online.target
            After=network-online.target postgresql.service rabbitmq-server.service

            [Service]
            Type=exec
            ExecStart=\(Self.commandLine([executable] + arguments))
            EnvironmentFile=\(Self.sharedEnvironmentFile)
            EnvironmentFile=-\(Self.configurationDirectory)/\(service.rawValue).env
            # SIGTERM drains: requests in flight are answered and held events are kept for the next start.
            KillSignal=SIGTERM
            TimeoutStopSec=45
            Restart=on-failure
            RestartSec=2
            LimitNOFILE=65536
            DynamicUser=yes
            StateDirectory=ecom-\(service.rawValue)
            Environment=XDG_DATA_HOME=%S/ecom-\(service.rawValue)
            NoNewPrivileges=yes
            ProtectSystem=strict
            ProtectHome=yes
            PrivateTmp=yes
            PrivateDevices=yes
            ProtectKernelTunables=yes
            ProtectKernelModules=yes
            ProtectKernelLogs=yes
            ProtectControlGroups=yes
            ProtectClock=yes
            ProtectHostname=yes
            ProtectProc=invisible
            RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
            RestrictNamespaces=yes
            RestrictRealtime=yes
            RestrictSUIDSGID=yes
            LockPersonality=yes
            MemoryDenyWriteExecute=yes
            SystemCallArchitectures=native
            SystemCallFilter=@system-service
            CapabilityBoundingSet=
            UMask=0077

            [Install]
            WantedBy=\(Self.targetName)

            """
    }

    package var target: String {
        """
        [Unit]
        Description=ecom store: \(services.map(\.rawValue).joined(separator: ", "))
        Documentation=man:ecom(1)
        Wants=\(services.map(Self.unitName(of:)).joined(separator: " "))

        [Install]
        WantedBy=multi-user.target

        """
    }

    /// `words` as one command line systemd splits back into them: a word with a blank, a quote,
    /// a backslash or a `%` or `$` (which systemd expands) is quoted, and those escaped.
    static func commandLine(_ words: [String]) -> String {
        words.map { word in
            var quoted = ""
            var needsQuotes = word.isEmpty
            for character in word {
                switch character {
                case "%": quoted += "%%"
                case "$": quoted += "$$"
                case "\\", "\"": quoted += "\\\(character)"; needsQuotes = true
                case " ", "\t", "'", ";": quoted.append(character); needsQuotes = true
                default: quoted.append(character)
                }
            }
            return needsQuotes ? "\"\(quoted)\"" : quoted
        }.joined(separator: " ")
    }
}
