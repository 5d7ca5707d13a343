import ArgumentParser
import EcomAPI
import Foundation
import Testing

@testable import EcomCLI

@Suite struct IDReferenceTests {
    @Test("a whole UUID is used as it is; 4 to 32 hex digits are a prefix, dashes dropped, case ignored")
    func parsing() throws {
        let whole = "4C1BEF23-6f1d-4e2a-9c7b-5d8e1f2a3b4c"
        #expect(try IDReference.parse(whole).form == .full(UUID(uuidString: whole)!))
        #expect(try IDReference.parse("4C1BEF23").form == .prefix("4c1bef23"))
        #expect(try IDReference.parse("4c1bef23-6f").form == .prefix("4c1bef236f"))
        #expect(try IDReference.parse("4c1b").form == .prefix("4c1b"))
        for bad in ["4c1", "", "4c1g", "order-1", String(repeating: "a", count: 33)] {
            #expect(throws: ValidationError.self, "\(bad)") { try IDReference.parse(bad) }
        }
    }

    @Test("products are named by id, prefix or SKU; text no SKU can hold is a usage error")
    func products() throws {
        #expect(try ProductReference.parse("BOOK-0008").text == "BOOK-0008")
        #expect(try ProductReference.parse("c1aa").text == "c1aa")
        #expect(throws: ValidationError.self) { try ProductReference.parse("two words") }
        #expect(throws: ValidationError.self) { try ProductReference.parse("") }
    }

    @Test("one match is the id; none or several are failures naming what was asked, several listing the candidates")
    func matches() throws {
        let ids = [UUID(uuidString: "4c1bef23-0000-4000-8000-000000000001")!, UUID(uuidString: "4c1b0000-0000-4000-8000-000000000002")!]
        #expect(try IDReference.one(of: [ids[0]], noun: "order", described: "whose id starts with 4c1b", id: { $0 }, label: { _ in "" }) == ids[0])
        #expect(throws: CommandFailure("no order whose id starts with 4c1b")) {
            try IDReference.one(of: [UUID](), noun: "order", described: "whose id starts with 4c1b", id: { $0 }, label: { _ in "" })
        }
        #expect(throws: CommandFailure("""
            more than one order whose id starts with 4c1b; give more of the id:
              4c1bef23-0000-4000-8000-000000000001  first
              4c1b0000-0000-4000-8000-000000000002  second
            """)) {
            try IDReference.one(of: ids, noun: "order", described: "whose id starts with 4c1b", id: { $0 }, label: { $0 == ids[0] ? "first" : "second" })
        }
    }
}
