import EcomAPI
import Foundation
import HTTPTypes
import Testing

@testable import EcomServerKit

private struct Shipment: APIRequestBody, Equatable {
    var address: Address
    var lines: [Line]
    var note: Note?
    var sentAt: Date?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case address, lines, note
        case sentAt = "sent_at"
    }
}

private struct Address: APIRequestBody, Equatable {
    var city: String
    var postCode: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case city
        case postCode = "post_code"
    }
}

private struct Line: APIRequestBody, Equatable {
    var sku: String
    var quantity: Int

    enum CodingKeys: String, CodingKey, CaseIterable {
        case sku, quantity
    }
}

/// Not a request body: its keys are not checked.
private struct Note: Decodable, Equatable {
    var text: String
}

private struct Rename: APIPatchBody, Equatable {
    var name: String?
    var label: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, label
    }
}

/// A patch with a field that `null` takes back to its default.
private struct Relabel: APIPatchBody, Equatable {
    var name: String?
    var label: Clearable<String>?

    static var clearableFields: Set<String> { ["label"] }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, label
    }

    init(name: String? = nil, label: Clearable<String>? = nil) {
        self.name = name
        self.label = label
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        label = container.contains(.label) ? try container.decode(Clearable<String>.self, forKey: .label) : nil
    }
}

@Suite struct StrictDecodingTests {
    private static let address = #""address": {"city": "Lyon"}"#
    private static let lines = #""lines": [{"sku": "A", "quantity": 1}]"#

    private func refusal<T: Decodable>(_ type: T.Type, _ json: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> APIError {
        try #require(throws: APIError.self, sourceLocation: sourceLocation) {
            try StrictJSONDecoder.decode(type, from: Data(json.utf8))
        }
    }

    @Test("a body with only known keys decodes, nested objects, arrays of objects and dates included")
    func known() throws {
        let json = #"{"address": {"city": "Lyon", "post_code": "69001"}, "lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2}], "sent_at": "2026-03-01T10:00:00Z"}"#
        let shipment = try StrictJSONDecoder.decode(Shipment.self, from: Data(json.utf8))
        #expect(shipment.address == Address(city: "Lyon", postCode: "69001"))
        #expect(shipment.lines == [Line(sku: "A", quantity: 1), Line(sku: "B", quantity: 2)])
        #expect(shipment.sentAt == RFC3339.date(from: "2026-03-01T10:00:00Z"))
    }

    @Test("an unknown key is refused with its path, at the top, in a nested object and in an array of objects", arguments: [
        (#"{\#(address), \#(lines), "rush": true}"#, "rush"),
        (#"{"address": {"city": "Lyon", "zip": "69001"}, \#(lines)}"#, "address.zip"),
        (#"{\#(address), "lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2, "colour": "red"}]}"#, "lines.1.colour"),
        (#"{\#(address), \#(lines), "zeta": 1, "alpha": 2}"#, "alpha"),
    ])
    func unknown(json: String, field: String) throws {
        let error = try refusal(Shipment.self, json)
        #expect(error.status == .badRequest)
        #expect(error.code == ErrorCode.unknownField)
        #expect(error.field == field)
        #expect(error.message == "unknown field \"\(field)\"")
    }

    @Test("an unknown key is reported before a missing one, in nested objects too")
    func unknownBeforeMissing() throws {
        #expect(try refusal(Shipment.self, #"{"adress": {"city": "Lyon"}, \#(Self.lines)}"#).field == "adress")
        #expect(try refusal(Shipment.self, #"{\#(Self.address), "lines": [{"skuu": "A", "quantity": 1}]}"#).field == "lines.0.skuu")
    }

    @Test("missing, null and mistyped fields keep their messages and paths")
    func invalidFields() throws {
        let missing = try refusal(Shipment.self, #"{\#(Self.address), "lines": [{"sku": "A"}]}"#)
        #expect(missing.code == ErrorCode.invalidField && missing.field == "lines.0.quantity")
        #expect(missing.message == "lines.0.quantity is required")
        let null = try refusal(Shipment.self, #"{"address": null, \#(Self.lines)}"#)
        #expect(null.field == "address" && null.message == "address must not be null")
        let mistyped = try refusal(Shipment.self, #"{\#(Self.address), "lines": [{"sku": "A", "quantity": "2"}]}"#)
        #expect(mistyped.field == "lines.0.quantity" && mistyped.message == "lines.0.quantity must be an integer")
    }

    @Test("objects of types that are not request bodies keep unknown keys")
    func notABody() throws {
        let json = #"{\#(Self.address), \#(Self.lines), "note": {"text": "fragile", "by": "Ann"}}"#
        #expect(try StrictJSONDecoder.decode(Shipment.self, from: Data(json.utf8)).note == Note(text: "fragile"))
    }

    @Test("a patch refuses null, and an unknown key before a null")
    func patchNulls() throws {
        let null = try refusal(Rename.self, #"{"name": "Lamp", "label": null}"#)
        #expect(null.code == ErrorCode.invalidField && null.field == "label" && null.message == "label must not be null")
        #expect(try refusal(Rename.self, #"{"label": null, "colour": "red"}"#).code == ErrorCode.unknownField)
        #expect(try StrictJSONDecoder.decode(Rename.self, from: Data(#"{"name": "Lamp"}"#.utf8)) == Rename(name: "Lamp"))
    }

    @Test("a patch's clearable field takes null as cleared, apart from absent; its other fields still refuse null")
    func clearableNulls() throws {
        func decode(_ json: String) throws -> Relabel { try StrictJSONDecoder.decode(Relabel.self, from: Data(json.utf8)) }
        #expect(try decode(#"{"label": null}"#) == Relabel(label: .cleared))
        #expect(try decode(#"{"label": "new"}"#) == Relabel(label: .value("new")))
        #expect(try decode(#"{"name": "Lamp"}"#) == Relabel(name: "Lamp"))
        let null = try refusal(Relabel.self, #"{"name": null, "label": null}"#)
        #expect(null.field == "name" && null.message == "name must not be null")
    }

    @Test("of a key given twice, the first is the one checked and decoded")
    func duplicateKeys() throws {
        #expect(try StrictJSONDecoder.decode(Rename.self, from: Data(#"{"name": "Lamp", "name": null}"#.utf8)) == Rename(name: "Lamp"))
        #expect(try refusal(Rename.self, #"{"name": null, "name": "Lamp"}"#).field == "name")
        let json = #"{\#(Self.address), "lines": [{"sku": "A", "quantity": 1, "quantity": "x"}]}"#
        #expect(try StrictJSONDecoder.decode(Shipment.self, from: Data(json.utf8)).lines == [Line(sku: "A", quantity: 1)])
    }

    @Test("a body that is not JSON, or not an object, is invalid_body", arguments: [
        ("{", "the body is not valid JSON"),
        ("", "the body is not valid JSON"),
        ("[1]", "the body must be a JSON object"),
        ("null", "the body must be a JSON object"),
        (#""text""#, "the body must be a JSON object"),
    ])
    func notAnObject(json: String, message: String) throws {
        let error = try refusal(Shipment.self, json)
        #expect(error.code == ErrorCode.invalidBody && error.message == message && error.field == nil)
    }
}
