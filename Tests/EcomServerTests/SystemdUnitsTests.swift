import Testing

@testable import EcomServer

@Suite struct SystemdUnitsTests {
    @Test("a unit per service starts the binary with --only that service and its options; the target wants them all")
    func units() {
        var units = SystemdUnits(executable: "/usr/bin/ecom", services: [.orders, .gateway])
        units.commonArguments = ["--service-host", "10.0.0.5"]
        units.gatewayArguments = ["--port", "80"]
        #expect(units.files.map(\.name) == ["ecom-gateway.service", "ecom-orders.service", "ecom.target"])
        let gateway = units.unit(for: .gateway)
        #expect(gateway.contains("\nExecStart=/usr/bin/ecom serve --only gateway --service-host 10.0.0.5 --port 80\n"))
        let orders = units.unit(for: .orders)
        #expect(orders.contains("\nExecStart=/usr/bin/ecom serve --only orders --service-host 10.0.0.5\n"))
        #expect(orders.contains("\nEnvironmentFile=/etc/ecom/ecom.env\nEnvironmentFile=-/etc/ecom/orders.env\n"))
        for hardening in ["DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "Restart=on-failure", "KillSignal=SIGTERM"] {
            #expect(orders.contains("\n\(hardening)\n"), "\(hardening)")
        }
        #expect(units.target.contains("\nWants=ecom-gateway.service ecom-orders.service\n"))
    }

    @Test("words systemd would split or expand are quoted and escaped", arguments: [
        (["/opt/my ecom/ecom", "serve"], #""/opt/my ecom/ecom" serve"#),
        (["/usr/bin/ecom", "--host", "100%$HOST"], "/usr/bin/ecom --host 100%%$$HOST"),
        (["/usr/bin/ecom", #"a"b\c"#], #"/usr/bin/ecom "a\"b\\c""#),
        (["/usr/bin/ecom", ""], #"/usr/bin/ecom """#),
    ])
    func quoting(words: [String], line: String) {
        #expect(SystemdUnits.commandLine(words) == line)
    }
}
