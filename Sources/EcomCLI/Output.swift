import EcomAPI
import EcomJQ
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
    /// `--fields`: only these keys of each object.
    var fields: [String]? = nil
    /// `--jq`: the JSON goes through this jq program first.
    var jq: String? = nil
    /// Long tables go through it on a terminal.
    var pager: Pager? = nil
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
        let pretty = format == .json(pretty: true)
        if pretty && jq == nil && fields == nil { encoder.outputFormatting.insert(.prettyPrinted) }
        var text = String(decoding: try encoder.encode(value), as: UTF8.self)
        guard fields != nil || jq != nil else { return text + "\n" }
        do {
            if let fields { text = try Self.select(fields, from: text, pretty: pretty && jq == nil) }
            guard let jq else { return text + "\n" }
            return try JQFilter(jq).apply(toJSON: text, pretty: pretty).map { $0 + "\n" }.joined()
        } catch let error as JQError {
            throw CommandFailure(error.description)
        }
    }

    /// `id,name` as field names, or nil when it is not a list of them.
    static func fieldNames(_ text: String) -> [String]? {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let valid = names.allSatisfy { name in
            !name.isEmpty && name.unicodeScalars.allSatisfy { CharacterSet.lowercaseLetters.contains($0) && $0.isASCII || "0123456789_".unicodeScalars.contains($0) }
        }
        return valid ? names : nil
    }

    /// The JSON with each object (or the object) cut down to `fields`, in that order; a field no
    /// object has is an error naming those there are.
    static func select(_ fields: [String], from json: String, pretty: Bool) throws -> String {
        let known = try JQFilter("[if type == \"array\" then .[] else . end | objects | keys_unsorted[]] | unique")
            .apply(toJSON: json, pretty: false).first.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
        if !known.isEmpty, let unknown = fields.first(where: { !known.contains($0) }) {
            throw CommandFailure("no field \(unknown) here; --fields takes \(known.joined(separator: ","))")
        }
        // Names are checked to be [a-z0-9_], so they are safe inside the program.
        let pick = "{" + fields.map { "\"\($0)\": .\"\($0)\"" }.joined(separator: ", ") + "}"
        return try JQFilter("def pick: \(pick); if type == \"array\" then map(pick) else pick end")
            .apply(toJSON: json, pretty: pretty).joined(separator: "\n")
    }

    func write(_ text: String) {
        if let pager, pager.isNeeded(for: text), pager.show(text) { return }
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    // MARK: Messages

    /// Progress and confirmations, on standard error; `--quiet` drops them.
    func message(_ text: String) {
        guard !quiet else { return }
        Terminal.writeError(text + "\n")
    }

    /// Something the user must keep, shown even with `--quiet`; not a problem, so not a warning.
    func notice(_ text: String) {
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
