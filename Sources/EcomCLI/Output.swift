import EcomAPI
import Foundation

/// How a command shows its results: data on standard output, messages on standard error.
///
/// On a terminal results are an aligned table; in a pipe the same rows tab-separated without a
/// header; with `--json`, the API's own objects (a list as a JSON array of them).
struct Output {
    enum Format: Equatable {
        case table(color: Bool)
        case tabSeparated
        case json(pretty: Bool)
    }

    var format: Format
    var quiet: Bool
    /// The terminal's columns, which aligned tables are fitted to; nil leaves them whole.
    var width: Int? = nil

    var isJSON: Bool {
        if case .json = format { return true }
        return false
    }

    /// Whether this output is for a person reading a terminal (extra summaries, empty-list notes).
    var isTable: Bool {
        if case .table = format { return true }
        return false
    }

    // MARK: Results

    /// One object: its JSON, or its row.
    func show<Item: Tabular & Encodable>(_ item: Item) throws {
        write(try render(item))
    }

    /// A list: a JSON array, or its rows; an empty list prints nothing and says so on a terminal.
    func show<Item: Tabular & Encodable>(_ items: [Item], noun: String) throws {
        if items.isEmpty, !isJSON {
            if isTable { message("No \(noun).") }
            return
        }
        write(try render(items))
    }

    /// The JSON of a command whose request answers nothing (`{}`), so `--json` always prints an object.
    func showNoContent() {
        if isJSON { write("{}\n") }
    }

    /// A table that only a person reading a terminal needs (the lines under an order); never in a pipe or JSON.
    func showDetail(_ table: Table) {
        guard isTable, !table.rows.isEmpty else { return }
        write("\n" + render(table))
    }

    func render<Item: Tabular & Encodable>(_ item: Item) throws -> String {
        isJSON ? try json(item) : render(Table([item]))
    }

    func render<Item: Tabular & Encodable>(_ items: [Item]) throws -> String {
        isJSON ? try json(items) : render(Table(items))
    }

    func render(_ table: Table) -> String {
        switch format {
        case .table(let color): table.render(.aligned(color: color), width: width)
        case .tabSeparated, .json: table.render(.tabSeparated)
        }
    }

    func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder.ecom
        if format == .json(pretty: true) { encoder.outputFormatting.insert(.prettyPrinted) }
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }

    func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    // MARK: Messages

    /// Progress and confirmations, on standard error; `--quiet` drops them.
    func message(_ text: String) {
        guard !quiet else { return }
        Terminal.writeError(text + "\n")
    }

    /// Something the user must see even with `--quiet`.
    func warning(_ text: String) {
        Terminal.writeError("warning: \(text)\n")
    }

    /// A failure explained before the command exits with a deliberate status.
    func error(_ text: String) {
        Terminal.writeError("ecom: \(text)\n")
    }

    /// Where the next page starts, for `--cursor`; printed even with `--quiet`, since scripts need it.
    func nextCursor(_ cursor: String) {
        Terminal.writeError("next cursor: \(cursor)\n")
    }
}

/// A command that failed for a reason other than a request (exit 1, one line on standard error).
struct CommandFailure: LocalizedError, Equatable {
    var errorDescription: String?

    init(_ message: String) {
        errorDescription = message
    }

    /// The person at the terminal answered no.
    static let cancelled = CommandFailure("cancelled; nothing was changed")
}
