import ArgumentParser
import EcomJQ
import Foundation
import Testing

@testable import EcomCLI

@Suite struct JQFilterTests {
    @Test("results print as jq -r does: strings raw, the rest as JSON, one per line")
    func results() throws {
        let list = #"[{"name":"Mug","price_cents":1250},{"name":"Green tea","price_cents":399}]"#
        #expect(try JQFilter(".[0].name").apply(toJSON: list, pretty: false) == ["Mug"])
        #expect(try JQFilter(".[].price_cents").apply(toJSON: list, pretty: false) == ["1250", "399"])
        #expect(try JQFilter("map(select(.price_cents < 1000))").apply(toJSON: list, pretty: false) == [#"[{"name":"Green tea","price_cents":399}]"#])
        #expect(try JQFilter(".[1]").apply(toJSON: list, pretty: true) == ["{\n  \"name\": \"Green tea\",\n  \"price_cents\": 399\n}"])
        #expect(try JQFilter("empty").apply(toJSON: list, pretty: false) == [])
    }

    @Test("a program that does not compile is refused with jq's message")
    func compileError() {
        #expect {
            try JQFilter(".[0.name")
        } throws: { error in
            let message = (error as? JQError)?.description ?? ""
            return message.contains("syntax error") && !message.contains("compile error")
        }
    }

    @Test("a program that fails on the data says why")
    func runtimeError() throws {
        let filter = try JQFilter(".name")
        #expect {
            try filter.apply(toJSON: "[1, 2]", pretty: false)
        } throws: { error in
            (error as? JQError)?.description == #"jq: error: Cannot index array with string "name""#
        }
    }

    @Test("--jq is checked before any request: a bad expression is a usage error (64)")
    func usage() {
        #expect(throws: (any Error).self) { try GlobalOptions.parse(["--jq", ".[0.name"]) }
        do {
            _ = try GlobalOptions.parse(["--jq", ".[0.name"])
        } catch {
            #expect(EcomCommand.exitStatus(for: error) == 64)
            #expect(EcomCommand.fullMessage(for: error).contains("syntax error"))
        }
    }

    @Test("--jq implies JSON output and goes through the filter")
    func output() throws {
        let options = try GlobalOptions.parse(["--jq", ".sku"])
        let output = options.output
        #expect(output.isJSON)
        #expect(try output.json(Sample.mug) == "MUG-1\n")
    }
}

@Suite struct FieldsTests {
    @Test("--fields keeps those keys of each object, in the order given, and implies --json")
    func select() throws {
        let output = try GlobalOptions.parse(["--fields", "sku,price_cents"]).output
        #expect(output.isJSON)
        if !Terminal.stdoutIsTerminal {
            #expect(try output.json(Sample.mug) == #"{"sku":"MUG-1","price_cents":1250}"# + "\n")
            #expect(try output.json([Sample.mug, Sample.tea]) == #"[{"sku":"MUG-1","price_cents":1250},{"sku":"TEA-10","price_cents":399}]"# + "\n")
        }
        let both = try GlobalOptions.parse(["--fields", "name", "--jq", ".[].name"]).output
        #expect(try both.json([Sample.mug]) == "Mug\n")
    }

    @Test("a field the objects do not have is refused with those they have")
    func unknown() throws {
        let output = try GlobalOptions.parse(["--fields", "sku,colour"]).output
        #expect {
            try output.json(Sample.mug)
        } throws: { error in
            let message = (error as? CommandFailure)?.errorDescription ?? ""
            return message.contains("no field colour") && message.contains("sku") && message.contains("price_cents")
        }
    }

    @Test("--fields takes names separated by commas", arguments: ["", "a,,b", "name;rm", "a b", "Name", #"a"b"#])
    func invalid(fields: String) {
        #expect(throws: (any Error).self) { try GlobalOptions.parse(["--fields", fields]) }
    }
}

@Suite struct PagerTests {
    @Test("ECOM_PAGER wins over PAGER, less -FRX by default; empty or cat turns paging off")
    func command() {
        #expect(Pager.command(environment: [:]) == "less -FRX")
        #expect(Pager.command(environment: ["PAGER": "more"]) == "more")
        #expect(Pager.command(environment: ["PAGER": "more", "ECOM_PAGER": "most -s"]) == "most -s")
        #expect(Pager.command(environment: ["PAGER": "more", "ECOM_PAGER": ""]) == nil)
        #expect(Pager.command(environment: ["PAGER": "cat"]) == nil)
    }

    @Test("only tables on a terminal page, and never with --no-pager or a dumb terminal")
    func when() {
        #expect(Pager.forOutput(table: true, terminal: true, disabled: false, environment: [:]) == Pager(command: "less -FRX"))
        #expect(Pager.forOutput(table: true, terminal: false, disabled: false, environment: [:]) == nil)
        #expect(Pager.forOutput(table: false, terminal: true, disabled: false, environment: [:]) == nil)
        #expect(Pager.forOutput(table: true, terminal: true, disabled: true, environment: [:]) == nil)
        #expect(Pager.forOutput(table: true, terminal: true, disabled: false, environment: ["TERM": "dumb"]) == nil)
    }

    @Test("--no-pager parses on every command")
    func flag() throws {
        #expect(try GlobalOptions.parse(["--no-pager"]).noPager)
        #expect(try GlobalOptions.parse([]).output.pager == nil || Terminal.stdoutIsTerminal)
    }
}
