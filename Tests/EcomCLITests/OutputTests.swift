import ArgumentParser
import EcomAPI
import EcomClient
import Foundation
import Testing

@testable import EcomCLI

enum Sample {
    static let created = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z
    static let mug = Product(
        id: UUID(uuidString: "0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c")!, sku: "MUG-1", name: "Mug", description: "A mug",
        priceCents: 1250, stock: 12, isActive: true, createdAt: created, updatedAt: created)
    static let tea = Product(
        id: UUID(uuidString: "a1b2c3d4-0000-4000-8000-000000000001")!, sku: "TEA-10", name: "Green\ttea", description: "",
        priceCents: 399, stock: 0, isActive: false, createdAt: created, updatedAt: created)
    static let order = Order(
        id: UUID(uuidString: "c0ffee00-1111-4222-8333-444455556666")!, userID: UUID(uuidString: "11111111-2222-3333-4444-555555555555")!,
        status: .confirmed, reason: nil, totalCents: 2899,
        items: [OrderLine(productID: mug.id, name: "Mug", unitPriceCents: 1250, quantity: 2, lineTotalCents: 2500),
                OrderLine(productID: tea.id, name: "Green tea", unitPriceCents: 399, quantity: 1, lineTotalCents: 399)],
        createdAt: created, updatedAt: created)
}

@Suite struct OutputTests {
    @Test("a terminal gets an aligned table with short ids, dollars and right-aligned numbers")
    func alignedTable() throws {
        let output = Output(format: .table(color: false), quiet: false)
        #expect(try output.render([Sample.mug, Sample.tea]) == """
            ID        SKU     NAME        PRICE  STOCK  ACTIVE
            0b3c9a4e  MUG-1   Mug        $12.50     12  yes
            a1b2c3d4  TEA-10  Green tea   $3.99      0  no

            """)
    }

    @Test("admins see the units on hand and held behind the stock, in the table and in JSON")
    func adminProducts() throws {
        var mug = Sample.mug
        (mug.onHand, mug.held) = (15, 3)
        #expect(try Output(format: .table(color: false), quiet: false).render([AdminProduct(product: mug)]) == """
            ID        SKU    NAME   PRICE  STOCK  ON HAND  HELD  STATE
            0b3c9a4e  MUG-1  Mug   $12.50     12       15     3  on sale

            """)
        let json = try Output(format: .json(pretty: false), quiet: false).render(AdminProduct(product: mug))
        #expect(json == String(decoding: try JSONEncoder.ecom.encode(mug), as: UTF8.self) + "\n")
        #expect(json.contains(#""held":3"#) && json.contains(#""on_hand":15"#))
    }

    @Test("admins tell a product on sale, one taken off sale and a deleted one apart")
    func adminProductStates() throws {
        var (inactive, archived) = (Sample.mug, Sample.mug)
        inactive.isActive = false
        (archived.isActive, archived.archived) = (false, true)
        let states = [Sample.mug, inactive, archived].map { AdminProduct(product: $0).cells.last }
        #expect(states == [.text("on sale"), .text("inactive"), .text("archived")])
    }

    @Test("a pipe gets the same rows tab-separated, whole ids, plain decimal prices, no header")
    func tabSeparated() throws {
        let output = Output(format: .tabSeparated, quiet: false)
        #expect(try output.render([Sample.mug, Sample.tea]) == """
            0b3c9a4e-6f1d-4e2a-9c7b-5d8e1f2a3b4c\tMUG-1\tMug\t12.50\t12\tyes
            a1b2c3d4-0000-4000-8000-000000000001\tTEA-10\tGreen tea\t3.99\t0\tno

            """)
        #expect(try output.render(Sample.order) == "c0ffee00-1111-4222-8333-444455556666\tconfirmed\t28.99\t3\t2026-01-01T00:00:00Z\t\n")
    }

    @Test("--json prints the API's objects, and a list as an array of them")
    func json() throws {
        let output = Output(format: .json(pretty: false), quiet: false)
        let list = try output.render([Sample.mug])
        #expect(list == "[" + String(decoding: try JSONEncoder.ecom.encode(Sample.mug), as: UTF8.self) + "]\n")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.render(Sample.order).utf8)) as? [String: Any])
        #expect(object["id"] as? String == "c0ffee00-1111-4222-8333-444455556666")
        #expect(object["total_cents"] as? Int == 2899)
        #expect(object["status"] as? String == "confirmed")
        #expect(object["created_at"] as? String == "2026-01-01T00:00:00Z")
        #expect(try output.render([Product]()) == "[]\n")
    }

    @Test("statuses are colored only when color is on")
    func color() throws {
        let colored = Output(format: .table(color: true), quiet: false).render(Table([Sample.order]))
        #expect(colored.contains("\u{1B}[32mconfirmed\u{1B}[0m"))
        let plain = Output(format: .table(color: false), quiet: false).render(Table([Sample.order]))
        #expect(!plain.contains("\u{1B}"))
        #expect(!Output(format: .tabSeparated, quiet: false).render(Table([Sample.order])).contains("\u{1B}"))
    }

    @Test("order lines and events render as tables too")
    func otherRows() {
        #expect(Table(Sample.order.items).render(.aligned(color: false)) == """
            PRODUCT   NAME        PRICE  QTY   TOTAL
            0b3c9a4e  Mug        $12.50    2  $25.00
            a1b2c3d4  Green tea   $3.99    1   $3.99

            """)
        let event = ParkedEvent(
            id: Sample.order.id, service: "products", type: "order.created", attempts: 5, lastError: "boom\nagain",
            parkedAt: nil, body: "{}")
        #expect(Table([event]).render(.tabSeparated) == "c0ffee00-1111-4222-8333-444455556666\tproducts\torder.created\t5\t\tboom again\n")
    }
}

@Suite struct ExitStatusTests {
    @Test(
        "failures map to the documented exit statuses",
        arguments: [
            (ClientError.api(APIFailure(status: 409, code: "conflict", message: "m")), 1),
            (ClientError.api(APIFailure(status: 401, code: "unauthorized", message: "m")), 4),
            (ClientError.api(APIFailure(status: 403, code: "forbidden", message: "m")), 4),
            (ClientError.api(APIFailure(status: 500, code: "internal", message: "m")), 1),
            (ClientError.notSignedIn(server: "http://x"), 4),
            (ClientError.sessionExpired(server: "http://x"), 4),
            (ClientError.sessionEnded(server: "http://x", email: "a@b.co", cause: .refreshAnswerLost), 4),
            (ClientError.unreachable(server: "http://x", reason: "connection refused"), 69),
            (ClientError.invalidResponse(status: 200, detail: "d"), 1),
            (CommandFailure.cancelled, 1),
            (ValidationError("bad"), 64),
            (ExitCode(75), 75),
            (ExitCode.failure, 1),
        ] as [(any Error & Sendable, Int32)])
    func statuses(error: any Error & Sendable, status: Int32) {
        #expect(EcomCommand.exitStatus(for: error) == status)
    }

    @Test("request failures print one line; usage errors are left to argument-parser")
    func messages() {
        #expect(
            EcomCommand.failureMessage(for: ClientError.unreachable(server: "http://localhost:8080", reason: "connection refused"))
                == "cannot reach http://localhost:8080 (connection refused); is ecom serve running?")
        #expect(EcomCommand.failureMessage(for: CommandFailure("no such file")) == "no such file")
        #expect(EcomCommand.failureMessage(for: ValidationError("bad")) == nil)
        #expect(EcomCommand.failureMessage(for: ExitCode(75)) == nil)
    }

    @Test("a listened event is one line: its id, time, type, whom it concerns, then its plain fields; lists are counted")
    func listenLine() {
        let one = StreamEvent(
            id: 42, type: "order.created",
            json: #"{"id":"e1","type":"order.created","occurred_at":"2026-12-02T12:04:05Z","data":{"order_id":"5f0c1a2b-0000-4000-8000-000000000000","lines":[{"quantity":1}],"total_cents":1250}}"#)
        #expect(EventPrinter.line(for: one) == "    42  12:04:05  order.created     order 5f0c1a2b  1 line  total_cents=1250")
        let two = StreamEvent(
            id: 7, type: "stock.rejected", json: #"{"occurred_at":"2026-12-02T00:00:01Z","data":{"lines":[{},{}],"reason":"insufficient_stock"}}"#)
        #expect(EventPrinter.line(for: two) == "     7  00:00:01  stock.rejected    2 lines  reason=insufficient_stock")
    }
}
