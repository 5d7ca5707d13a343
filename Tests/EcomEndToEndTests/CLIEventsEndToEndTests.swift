import EcomAPI
import Foundation
import Testing

/// `ecom listen` and `ecom order watch` against a served store.
@Suite struct CLIEventsEndToEndTests {
    /// Runs `script` in bash with the binary as `$ECOM`, as `cli`.
    static func shell(_ cli: CLI, _ script: String) async throws -> CLI.Result {
        try await cli.run(
            ["-c", "set -o pipefail; " + script], environment: ["ECOM": TestEnvironment.binary.path],
            executable: URL(fileURLWithPath: "/bin/bash"))
    }

    /// The `type` of each JSON line of `output`.
    static func types(_ output: String) throws -> [String] {
        try output.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            return try #require(object["type"] as? String, "\(line)")
        }
    }

    @Test("ecom listen --json | head -n 3 prints three events as JSON lines and exits 0; --types keeps to the types asked for")
    func listenIntoHead() async throws {
        try await withCLIServer { server in
            try await CLIStoreFixture.with(server, catalog: [CLIStoreFixture.mug]) { store in
                let mug = try #require(try await store.importCatalog().first)
                try await store.shopper.signUp("listener@shop.test")
                #expect(try await store.shopper.run(["cart", "add", mug.id.lowercased]).status == 0)
                #expect(try await store.shopper.run(["order", "create"]).status == 0)

                let head = try await Self.shell(
                    store.admin, #"timeout 60 "$ECOM" listen --json --after 0 --types 'order.*,stock.reserved' | head -n 3"#)
                #expect(head.status == 0, "\(head.stderr)")
                // Each service's events keep their order; the products service's answer and the order's
                // confirmation come from two services, and may be logged either way round.
                let three = try Self.types(head.stdout)
                #expect(three.sorted() == [EventType.orderConfirmed, EventType.orderCreated, EventType.stockReserved])
                #expect(three.firstIndex(of: EventType.orderCreated)! < three.firstIndex(of: EventType.orderConfirmed)!)

                let orders = try await Self.shell(store.admin, #"timeout 60 "$ECOM" listen --json --after 0 --types 'order.*' | head -n 2"#)
                #expect(orders.status == 0, "\(orders.stderr)")
                #expect(try Self.types(orders.stdout) == [EventType.orderCreated, EventType.orderConfirmed])

                let fields = try await Self.shell(
                    store.admin, #"timeout 60 "$ECOM" listen --after 0 --types 'order.*' --fields type,id | head -n 1"#)
                #expect(fields.status == 0, "\(fields.stderr)")
                let object = try JSONSerialization.jsonObject(with: Data(fields.stdout.utf8)) as? [String: Any]
                #expect(object?.keys.sorted() == ["id", "type"] && object?["type"] as? String == EventType.orderCreated, "\(fields.stdout)")

                let bad = try await store.admin.run(["listen", "--types", "Order.Created"])
                #expect(bad.status == 64 && bad.stderr.contains("--types"), "\(bad.stderr)")
            }
        }
    }

    @Test("ecom order watch prints an order's events as they come and exits 0 once it is delivered")
    func watchUntilDelivered() async throws {
        try await withCLIServer { server in
            try await CLIStoreFixture.with(server, catalog: [CLIStoreFixture.mug]) { store in
                let mug = try #require(try await store.importCatalog().first)
                try await store.shopper.signUp("watcher@shop.test")
                #expect(try await store.shopper.run(["cart", "add", mug.id.lowercased]).status == 0)
                let order = try await store.shopper.run(["order", "create", "--json"]).json(Order.self)
                #expect(order.status == .confirmed)

                async let watched = store.shopper.run(["order", "watch", String(order.id.lowercased.prefix(8))])
                try await Task.sleep(for: .milliseconds(500))
                #expect(try await store.admin.run(["admin", "orders", "ship", order.id.lowercased]).status == 0)
                #expect(try await store.admin.run(["admin", "orders", "deliver", order.id.lowercased]).status == 0)
                let watch = try await watched
                #expect(watch.status == 0, "\(watch.stderr)")
                #expect(
                    try Self.types(watch.stdout)
                        == [EventType.orderCreated, EventType.orderConfirmed, EventType.orderShipped, EventType.orderDelivered])

                // An order that has ended is shown as it stands, at once.
                let ended = try await store.shopper.run(["order", "watch", order.id.lowercased, "--json"])
                #expect(ended.status == 0, "\(ended.stderr)")
                #expect(try ended.json(Order.self).status == .delivered)
            }
        }
    }

    @Test("order create --no-wait names the command that follows the order, which exits 0 once it is confirmed")
    func noWaitHint() async throws {
        try await withCLIServer { server in
            try await CLIStoreFixture.with(server, catalog: [CLIStoreFixture.mug]) { store in
                let mug = try #require(try await store.importCatalog().first)
                try await store.shopper.signUp("hinted@shop.test")
                #expect(try await store.shopper.run(["cart", "add", mug.id.lowercased]).status == 0)
                let placed = try await store.shopper.run(["order", "create", "--no-wait"])
                #expect(placed.status == 0, "\(placed.stderr)")
                // The hint, as printed, run as it is.
                let hint = try #require(placed.stderr.split(separator: "`").dropFirst().first.map(String.init), "\(placed.stderr)")
                #expect(hint.hasPrefix("ecom order watch ") && hint.hasSuffix(" --until confirmed"), "\(placed.stderr)")
                let words = hint.split(separator: " ").dropFirst().map(String.init)
                let followed = try await store.shopper.run(words + ["--json"])
                #expect(followed.status == 0, "\(followed.stderr)")
                let id = words[2]
                #expect(try await store.shopper.run(["order", "show", id, "--json"]).json(Order.self).status == .confirmed)
            }
        }
    }

    @Test("ecom admin webhooks adds, lists, tests and disables an endpoint, and shows its delivery log")
    func adminWebhooks() async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        try await withCLIServer(environment: ["ECOM_WEBHOOK_ALLOW_INSECURE": "1"]) { server in
            try await CLIStoreFixture.with(server, catalog: [CLIStoreFixture.mug]) { store in
                let added = try await store.admin.run(["admin", "webhooks", "add", receiver.url, "--types", "order.*", "--json"])
                #expect(added.status == 0, "\(added.stderr)")
                let endpoint = try added.json(WebhookEndpoint.self)
                let secret = try #require(endpoint.secret)
                let prefix = String(endpoint.id.lowercased.prefix(8))
                let list = try await store.admin.run(["admin", "webhooks", "list"])
                #expect(list.status == 0 && list.stdout.contains(receiver.url) && !list.stdout.contains(secret))

                let tested = try await store.admin.run(["admin", "webhooks", "test", prefix])
                #expect(tested.status == 0, "\(tested.stderr)")
                try await Task.sleep(for: .milliseconds(200))
                let deadline = ContinuousClock.now + .seconds(30)
                while receiver.all.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
                let test = try #require(receiver.all.first)
                #expect(test.type == "webhook.test" && WebhookReceiver.verifies(test.signature, body: test.body, secret: secret))
                var log = try await store.admin.run(["admin", "webhooks", "deliveries", prefix, "--json"])
                while (try? log.json([WebhookDelivery].self).first?.state) != "delivered", ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                    log = try await store.admin.run(["admin", "webhooks", "deliveries", prefix, "--json"])
                }
                #expect(try log.json([WebhookDelivery].self).first?.lastStatus == 200, "\(log.stdout)")

                let disabled = try await store.admin.run(["admin", "webhooks", "disable", prefix, "--json"])
                #expect(disabled.status == 0, "\(disabled.stderr)")
                #expect(try disabled.json(WebhookEndpoint.self).enabled == false)
                let wrong = try await store.admin.run(["admin", "webhooks", "add", "ftp://example.com/x"])
                #expect(wrong.status == 1 && wrong.stderr.contains("url"), "\(wrong.stderr)")
            }
        }
    }

    @Test("ecom listen --forward-to POSTs each event signed as a webhook and prints the endpoint's answer")
    func listenForwards() async throws {
        let receiver = WebhookReceiver(.answer(202))
        try await receiver.start()
        defer { receiver.stop() }
        try await withCLIServer { server in
            try await CLIStoreFixture.with(server, catalog: [CLIStoreFixture.mug]) { store in
                let mug = try #require(try await store.importCatalog().first)
                try await store.shopper.signUp("forward@shop.test")
                #expect(try await store.shopper.run(["cart", "add", mug.id.lowercased]).status == 0)
                #expect(try await store.shopper.run(["order", "create"]).status == 0)
                let secret = "whsec_test_forwarding"
                let forwarded = try await Self.shell(
                    store.shopper,
                    #"timeout 60 "$ECOM" listen --json --after 0 --forward-to "# + receiver.url + " --forward-secret " + secret + " | head -n 2")
                #expect(forwarded.status == 0, "\(forwarded.stderr)")
                #expect(try Self.types(forwarded.stdout) == [EventType.orderCreated, EventType.orderConfirmed])
                #expect(forwarded.stderr.contains("order.created -> POST \(receiver.url): 202"), "\(forwarded.stderr)")
                let got = receiver.all
                #expect(got.count >= 2)
                #expect(got.allSatisfy { WebhookReceiver.verifies($0.signature, body: $0.body, secret: secret) })
            }
        }
    }

    @Test("ecom listen outlives a restart of ecom serve: it says it is reconnecting, then resumes with nothing lost or repeated")
    func listenAcrossRestart() async throws {
        try await withCLIServer { server in
            try await CLIStoreFixture.with(server, catalog: [CLIStoreFixture.mug]) { store in
                let mug = try #require(try await store.importCatalog().first)
                try await store.shopper.signUp("restart@shop.test")
                let out = store.admin.configHome.appendingPathComponent("listen.out")
                let err = store.admin.configHome.appendingPathComponent("listen.err")
                // A child of this process, not of a shell: a shell's background job would keep the
                // descriptor through which Foundation sees the shell exit.
                let listen = Process()
                listen.executableURL = TestEnvironment.binary
                // From the log's start (no order yet): a listener still connecting when the first order is
                // logged would otherwise start after it.
                listen.arguments = ["listen", "--json", "--after", "0", "--types", "order.*"]
                var environment = ProcessInfo.processInfo.environment
                environment["XDG_CONFIG_HOME"] = store.admin.configHome.path
                environment["ECOM_SERVER"] = store.admin.server
                listen.environment = environment
                for file in [out, err] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
                listen.standardOutput = try FileHandle(forWritingTo: out)
                listen.standardError = try FileHandle(forWritingTo: err)
                listen.standardInput = FileHandle.nullDevice
                try listen.run()
                defer { if listen.isRunning { listen.terminate() } }
                let lines = { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
                let confirmed = { (count: Int) in
                    try Self.types(lines()).filter { $0 == EventType.orderConfirmed }.count >= count
                }
                func eventually(_ what: String, _ condition: () throws -> Bool) async throws {
                    let deadline = ContinuousClock.now + .seconds(60)
                    while try !condition() {
                        guard ContinuousClock.now < deadline else {
                            Issue.record("timed out waiting for \(what); out:\n\(lines())\nerr:\n\((try? String(contentsOf: err, encoding: .utf8)) ?? "")")
                            throw HarnessError("timed out waiting for \(what)")
                        }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }

                #expect(try await store.shopper.run(["cart", "add", mug.id.lowercased]).status == 0)
                #expect(try await store.shopper.run(["order", "create"]).status == 0)
                try await eventually("the first order's events") { try confirmed(1) }

                #expect(await server.stop() == 0)
                let restarted = try await ServerProcess(reusing: server)
                do {
                    #expect(try await store.shopper.run(["cart", "add", mug.id.lowercased]).status == 0)
                    #expect(try await store.shopper.run(["order", "create"]).status == 0)
                    try await eventually("the second order's events") { try confirmed(2) }
                    #expect(listen.isRunning, "ecom listen exited")
                } catch {
                    await restarted.stop()
                    throw error
                }
                // Its databases are the first launch's, dropped when the test ends.
                await restarted.stop()

                #expect(try Self.types(lines()) == [
                    EventType.orderCreated, EventType.orderConfirmed, EventType.orderCreated, EventType.orderConfirmed,
                ])
                let ids = try lines().split(separator: "\n").map { line in
                    let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    return try #require(object?["id"] as? String)
                }
                #expect(Set(ids).count == ids.count, "an event was printed twice: \(ids)")
                let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
                #expect(stderr.contains("event stream interrupted") && stderr.contains("reconnecting"), "\(stderr)")
            }
        }
    }
}
