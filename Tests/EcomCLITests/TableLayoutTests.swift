import EcomAPI
import Foundation
import Testing

@testable import EcomCLI

@Suite struct DisplayWidthTests {
    @Test(
        "text takes the columns a terminal gives it",
        arguments: [
            ("Mug", 3),
            ("日本茶セット", 12),  // East Asian wide
            ("Ｆｕｌｌ", 8),  // fullwidth forms
            ("ｶﾀｶﾅ", 4),  // halfwidth forms stay narrow
            ("한국", 4),
            ("Tea 😀", 6),  // emoji presentation
            ("👨‍👩‍👧", 2),  // one emoji joined by zero-width joiners
            ("🇯🇵", 2),  // a flag: two regional indicators
            ("❤", 1),  // text presentation by default…
            ("❤️", 2),  // …emoji with the variation selector
            ("zero\u{200B}width", 9),  // zero-width space
            ("e\u{301}", 1),  // combining acute accent
            ("\u{20DD}", 0),  // enclosing mark alone
            ("\u{2060}", 0),  // word joiner
        ] as [(String, Int)])
    func widths(text: String, columns: Int) {
        #expect(DisplayWidth.of(text) == columns)
    }

    @Test("cutting keeps whole characters and ends in an ellipsis within the width")
    func truncate() {
        #expect(DisplayWidth.truncate("Green tea", to: 9) == "Green tea")
        #expect(DisplayWidth.truncate("Green tea", to: 6) == "Green…")
        #expect(DisplayWidth.truncate("日本茶セット", to: 6) == "日本…")
        #expect(DisplayWidth.truncate("日本茶セット", to: 4) == "日…")
        #expect(DisplayWidth.truncate("e\u{301}clair", to: 3) == "e\u{301}c…")
        #expect(DisplayWidth.truncate("abc", to: 0) == "")
    }
}

@Suite struct TableLayoutTests {
    static func product(sku: String, name: String, price: Int64 = 1250) -> Product {
        Product(
            id: Sample.mug.id, sku: sku, name: name, description: "", priceCents: price, stock: 3, isActive: true,
            createdAt: Sample.created, updatedAt: Sample.created)
    }

    @Test("wide, emoji and zero-width text is padded by the columns it takes, not its characters")
    func unicodeAlignment() {
        let table = Table([
            Self.product(sku: "TEA-1", name: "日本茶セット"), Self.product(sku: "MUG-1", name: "Mug 😀"),
            Self.product(sku: "ZW-1", name: "Zero\u{200B}width"),
        ])
        #expect(table.render(.aligned(color: false)) == """
            ID        SKU    NAME           PRICE  STOCK  ACTIVE
            0b3c9a4e  TEA-1  日本茶セット  $12.50      3  yes
            0b3c9a4e  MUG-1  Mug 😀        $12.50      3  yes
            0b3c9a4e  ZW-1   Zero\u{200B}width     $12.50      3  yes

            """)
    }

    @Test("a table wider than the terminal cuts its widest text column with an ellipsis to fit")
    func fitsTheWidth() {
        let long = Self.product(sku: "MUG-1", name: "An extraordinarily long product name that would wrap every row of the table")
        let table = Table([long, Self.product(sku: "TEA-1", name: "Tea")])
        let lines = table.render(.aligned(color: false), width: 80).split(separator: "\n")
        #expect(lines.map { DisplayWidth.of($0) }.max() == 80)
        #expect(lines[1] == "0b3c9a4e  MUG-1  An extraordinarily long product name th…  $12.50      3  yes")
        #expect(lines[2].hasPrefix("0b3c9a4e  TEA-1  Tea "))
        // Wide enough: unchanged.
        #expect(table.render(.aligned(color: false), width: 200) == table.render(.aligned(color: false)))
    }

    @Test("with two long text columns the widest is cut first, then both in turn")
    func widestFirst() {
        let sku = String(repeating: "S", count: 34)
        let table = Table([Self.product(sku: sku, name: "A name of forty characters, give or take")])
        let lines = table.render(.aligned(color: false), width: 80).split(separator: "\n")
        #expect(DisplayWidth.of(lines[0]) == 80)
        let cells = lines[1].split(separator: "  ")
        #expect(cells[1] == String(repeating: "S", count: 21) + "…")
        #expect(cells[2] == "A name of forty charac…")
    }

    @Test("ids, money and numbers are never cut, nor text below its floor; a table that cannot fit wraps")
    func floors() {
        let table = Table([Self.product(sku: "SKU-WITH-SOME-LENGTH", name: "A long enough name", price: 123_456_789)])
        let line = table.render(.aligned(color: false), width: 20).split(separator: "\n")[1]
        #expect(line == "0b3c9a4e  SKU-WIT…  A long …  $1234567.89      3  yes")
    }

    @Test("the terminal width never cuts tab-separated rows or JSON")
    func pipesAreWhole() throws {
        let name = String(repeating: "n", count: 120)
        let product = Self.product(sku: "MUG-1", name: name)
        #expect(try Output(format: .tabSeparated, quiet: false, width: 40).render([product]).contains(name))
        #expect(try Output(format: .json(pretty: false), quiet: false, width: 40).render([product]).contains(name))
        #expect(try !Output(format: .table(color: false), quiet: false, width: 40).render([product]).contains(name))
    }

    @Test("prices in tab-separated rows are plain decimals, in tables dollars")
    func plainPrices() {
        #expect(Money.decimal(1999) == "19.99")
        #expect(Money.decimal(-50) == "-0.50")
        #expect(Table([Self.product(sku: "MUG-1", name: "Mug")]).render(.tabSeparated).contains("\tMug\t12.50\t3\t"))
    }
}
