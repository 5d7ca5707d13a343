import EcomAPI
import Foundation

/// One value in a table, typed so each style can show it its own way.
enum Cell: Equatable {
    case text(String)
    /// Shortened to its first 8 characters in aligned tables; whole when tab-separated.
    case id(UUID)
    case money(Int64)
    case number(Int)
    case status(OrderStatus)
    case date(Date)

    var isNumeric: Bool {
        switch self {
        case .money, .number: true
        default: false
        }
    }

    func text(_ style: Table.Style) -> String {
        switch (self, style) {
        case (.text(let text), _): String(text.map { $0 == "\t" || $0.isNewline ? " " : $0 })
        case (.id(let id), .aligned): String(id.lowercased.prefix(8))
        case (.id(let id), .tabSeparated): id.lowercased
        case (.money(let cents), .aligned): Money.format(cents)
        case (.money(let cents), .tabSeparated): Money.decimal(cents)
        case (.number(let number), _): String(number)
        case (.status(let status), _): status.rawValue
        case (.date(let date), .aligned): date.formatted(Self.readableDate)
        case (.date(let date), .tabSeparated): date.formatted(.iso8601)
        }
    }

    private static let readableDate = Date.VerbatimFormatStyle(
        format: "\(year: .defaultDigits)-\(month: .twoDigits)-\(day: .twoDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits)",
        timeZone: .current, calendar: Calendar(identifier: .gregorian))

    /// ANSI color for statuses: green when settled well, yellow while moving, red when it failed.
    var color: String? {
        guard case .status(let status) = self else { return nil }
        switch status {
        case .confirmed, .delivered: return "\u{1B}[32m"
        case .pending, .shipped: return "\u{1B}[33m"
        case .rejected, .cancelled: return "\u{1B}[31m"
        }
    }
}

/// Rows under a header, printed aligned for people or tab-separated for programs.
struct Table: Equatable {
    enum Style: Equatable {
        /// Header and padded columns, numbers right-aligned, optional color.
        case aligned(color: Bool)
        /// One line per row, cells joined by tabs, no header: for `cut`, `awk` and `while read`.
        case tabSeparated
    }

    var headers: [String]
    var rows: [[Cell]]

    /// The rows in `style`; an aligned table wider than `width` columns has its widest text
    /// columns cut with "…" until it fits (ids, numbers, money and dates are never cut).
    func render(_ style: Style, width: Int? = nil) -> String {
        switch style {
        case .tabSeparated:
            return rows.map { row in row.map { $0.text(style) }.joined(separator: "\t") + "\n" }.joined()
        case .aligned(let color):
            var texts = rows.map { row in row.map { $0.text(style) } }
            let natural = headers.indices.map { column in
                texts.reduce(DisplayWidth.of(headers[column])) { max($0, DisplayWidth.of($1[column])) }
            }
            let widths = width.map { fit(natural, into: $0) } ?? natural
            if widths != natural {
                texts = texts.map { row in row.indices.map { DisplayWidth.truncate(row[$0], to: widths[$0]) } }
            }
            let numeric = headers.indices.map { column in rows.contains { $0[column].isNumeric } }
            func line(_ cells: [String], colors: [String?]) -> String {
                cells.indices.map { column -> String in
                    let text = cells[column]
                    let padding = String(repeating: " ", count: max(0, widths[column] - DisplayWidth.of(text)))
                    let shown = color ? colors[column].map { $0 + text + "\u{1B}[0m" } ?? text : text
                    if numeric[column] { return padding + shown }
                    return column == cells.count - 1 ? shown : shown + padding
                }.joined(separator: Self.gap).trimmingSuffix(" ") + "\n"
            }
            let header = line(headers.indices.map { DisplayWidth.truncate(headers[$0], to: widths[$0]) }, colors: headers.map { _ in nil })
            return header + zip(rows, texts).map { row, text in line(text, colors: row.map(\.color)) }.joined()
        }
    }

    private static let gap = "  "
    /// A text column is not cut below this many columns (or its header's width, if wider).
    static let minimumTextWidth = 8

    /// Column widths that fit `width`: the widest free-text column loses a column at a time,
    /// down to its minimum; if even that is too wide, the table is left to wrap.
    func fit(_ natural: [Int], into width: Int) -> [Int] {
        var widths = natural
        let floors = headers.indices.map { column -> Int? in
            guard !rows.isEmpty, rows.allSatisfy({ if case .text = $0[column] { true } else { false } }) else { return nil }
            return min(natural[column], max(DisplayWidth.of(headers[column]), Self.minimumTextWidth))
        }
        var excess = widths.reduce(Self.gap.count * (widths.count - 1), +) - width
        while excess > 0 {
            let candidates = widths.indices.filter { column in floors[column].map { widths[column] > $0 } ?? false }
            guard let widest = candidates.max(by: { widths[$0] < widths[$1] }) else { break }
            widths[widest] -= 1
            excess -= 1
        }
        return widths
    }
}

/// An API object that reads as one table row.
protocol Tabular {
    static var headers: [String] { get }
    var cells: [Cell] { get }
}

extension Table {
    init<Item: Tabular>(_ items: [Item]) {
        self.init(headers: Item.headers, rows: items.map(\.cells))
    }
}

extension Product: Tabular {
    static let headers = ["ID", "SKU", "NAME", "PRICE", "STOCK", "ACTIVE"]
    var cells: [Cell] { [.id(id), .text(sku), .text(name), .money(priceCents), .number(stock), .text(isActive ? "yes" : "no")] }
}

/// A product as admins see it: what is available, and the units on hand and held behind it.
struct AdminProduct: Tabular, Codable, Sendable {
    var product: Product

    init(product: Product) {
        self.product = product
    }

    init(from decoder: any Decoder) throws {
        product = try Product(from: decoder)
    }

    static let headers = ["ID", "SKU", "NAME", "PRICE", "STOCK", "ON HAND", "HELD", "STATE"]
    var cells: [Cell] {
        var cells = product.cells
        cells[cells.count - 1] = .text(state)
        cells.insert(contentsOf: [product.onHand, product.held].map { $0.map(Cell.number) ?? .text("") }, at: 5)
        return cells
    }

    /// Archived (deleted for good) and inactive (off sale for now) both have `is_active` false.
    var state: String {
        if product.archived == true { return "archived" }
        return product.isActive ? "on sale" : "inactive"
    }

    func encode(to encoder: any Encoder) throws {
        try product.encode(to: encoder)
    }
}

extension CartLine: Tabular {
    static let headers = ["LINE", "PRODUCT", "NAME", "PRICE", "QTY", "TOTAL", "AVAILABLE"]
    var cells: [Cell] {
        [.id(id), .id(productID), .text(name), .money(unitPriceCents), .number(quantity), .money(lineTotalCents),
         .text(availability)]
    }

    /// "yes", "no", or "only N" when some but not all of the line's units are available now.
    var availability: String {
        if available { return "yes" }
        if let count = availableQuantity, count > 0, count < quantity { return "only \(count)" }
        return "no"
    }
}

extension Order: Tabular {
    static let headers = ["ID", "STATUS", "TOTAL", "ITEMS", "CREATED", "REASON"]
    var cells: [Cell] {
        [.id(id), .status(status), .money(totalCents), .number(items.reduce(0) { $0 + $1.quantity }), .date(createdAt),
         .text(reason ?? "")]
    }
}

extension OrderLine: Tabular {
    static let headers = ["PRODUCT", "NAME", "PRICE", "QTY", "TOTAL"]
    var cells: [Cell] { [.id(productID), .text(name), .money(unitPriceCents), .number(quantity), .money(lineTotalCents)] }
}

extension RejectedLine: Tabular {
    static let headers = ["NOT RESERVED", "NAME", "REQUESTED", "AVAILABLE"]
    var cells: [Cell] {
        [.id(productID), .text(name ?? ""), .number(requested), available.map(Cell.number) ?? .text("")]
    }
}

extension User: Tabular {
    static let headers = ["ID", "EMAIL", "ROLE", "STATE", "CREATED"]
    var cells: [Cell] { [.id(id), .text(email), .text(role.rawValue), .text(disabled ? "disabled" : "active"), .date(createdAt)] }
}

extension ParkedEvent: Tabular {
    static let headers = ["ID", "SERVICE", "TYPE", "ATTEMPTS", "PARKED", "ERROR"]
    var cells: [Cell] {
        [.id(id), .text(service), .text(type), .number(attempts), parkedAt.map(Cell.date) ?? .text(""), .text(lastError ?? "")]
    }
}

extension WebhookEndpoint: Tabular {
    static let headers = ["ID", "URL", "TYPES", "ENABLED", "FAILURES", "CREATED"]
    var cells: [Cell] {
        [
            .id(id), .text(url), .text(types.isEmpty ? "#" : types.joined(separator: ",")),
            .text(enabled ? "yes" : "no" + (disabledReason.map { " (\($0))" } ?? "")), .number(failures), .date(createdAt),
        ]
    }
}

extension WebhookDelivery: Tabular {
    static let headers = ["EVENT", "TYPE", "STATE", "ATTEMPTS", "STATUS", "MS", "CREATED", "ERROR"]
    var cells: [Cell] {
        [
            .id(eventID), .text(type), .text(state), .number(attempts), .text(lastStatus.map(String.init) ?? ""),
            .text(lastDurationMs.map(String.init) ?? ""), .date(createdAt), .text(lastError ?? ""),
        ]
    }
}

extension ImportResult: Tabular {
    static let headers = ["CREATED", "UPDATED", "UNCHANGED"]
    var cells: [Cell] { [.number(created), .number(updated), .number(unchanged)] }
}

extension String {
    fileprivate func trimmingSuffix(_ character: Character) -> Substring {
        self[..<(lastIndex { $0 != character }.map(index(after:)) ?? startIndex)]
    }
}
