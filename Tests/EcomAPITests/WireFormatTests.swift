import EcomAPI
import Foundation
import Testing

@Suite struct WireFormatTests {
    @Test("the error body has the documented shape")
    func errorBody() throws {
        let data = try JSONEncoder.ecom.encode(APIErrorBody(code: "insufficient_stock", message: "only 2 left", field: "quantity"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: String]])
        #expect(object == ["error": ["code": "insufficient_stock", "message": "only 2 left", "field": "quantity"]])
    }

    @Test("a page always carries next_cursor, null on the last page, and items as a list")
    func pageShape() throws {
        let last = String(decoding: try JSONEncoder.ecom.encode(Page<String>(items: [], nextCursor: nil)), as: UTF8.self)
        #expect(last == #"{"items":[],"next_cursor":null}"#)
        let more = try JSONDecoder.ecom.decode(Page<String>.self, from: Data(#"{"items":["a"],"next_cursor":"xyz"}"#.utf8))
        #expect(more.items == ["a"])
        #expect(more.nextCursor == "xyz")
    }

    @Test("users and token pairs use snake_case keys and RFC 3339 timestamps")
    func snakeCase() throws {
        let user = User(id: UUID(), email: "a@b.co", role: .user, disabled: false, createdAt: Date(timeIntervalSince1970: 1_700_000_000))
        let pair = TokenPair(token: "t", refreshToken: "r", expiresIn: 900, user: user)
        let object = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder.ecom.encode(pair)) as? [String: Any])
        #expect(Set(object.keys) == ["token", "refresh_token", "token_type", "expires_in", "user"])
        let encodedUser = try #require(object["user"] as? [String: Any])
        #expect(encodedUser["created_at"] as? String == "2023-11-14T22:13:20Z")
        let decoded = try JSONDecoder.ecom.decode(TokenPair.self, from: try JSONEncoder.ecom.encode(pair))
        #expect(decoded.user == user)
    }

    @Test("a cart add's answer is the cart's object with line_id beside its fields, and reads back")
    func cartItemAdded() throws {
        let line = CartLine(
            id: UUID(), productID: UUID(), name: "Mug", unitPriceCents: 1250, quantity: 2, lineTotalCents: 2500, available: true)
        let added = CartItemAdded(cart: Cart(items: [line], totalCents: 2500, itemCount: 2, version: 7), lineID: line.id)
        let data = try JSONEncoder.ecom.encode(added)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["items", "total_cents", "item_count", "version", "line_id"])
        #expect(object["line_id"] as? String == line.id.lowercased)
        #expect(try JSONDecoder.ecom.decode(CartItemAdded.self, from: data) == added)
        #expect(try JSONDecoder.ecom.decode(Cart.self, from: data) == added.cart)
        #expect(added.line == line)
    }

    @Test("timestamps with fractional seconds decode", arguments: ["2026-11-25T19:56:48Z", "2026-11-25T19:56:48.123Z", "2026-11-25T19:56:48.123456Z"])
    func fractionalSeconds(text: String) {
        #expect(RFC3339.date(from: text) != nil)
    }

    @Test("timestamps read and write as Foundation's ISO 8601 style does, on every second from 1970 to 9999 and past them")
    func timestampsAsFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        var seconds: [Double] = [0, 0.999, 59, 86_399, 86_400, 951_782_400, 1_700_000_000.5, 253_402_300_799, 253_402_300_799.9]
        for _ in 0..<2_000 { seconds.append(Double.random(in: 0..<253_402_300_800, using: &generator)) }
        // Outside the range this code writes itself: Foundation's own answers.
        seconds += [-0.5, -1, -62_135_596_801, 253_402_300_800, 300_000_000_000]
        for interval in seconds {
            let date = Date(timeIntervalSince1970: interval)
            let text = RFC3339.string(from: date)
            #expect(text == date.formatted(.iso8601), "\(interval)")
            #expect(RFC3339.date(from: text) == (try? Date(text, strategy: .iso8601)), "\(text)")
        }
        let encoded = String(decoding: try JSONEncoder.ecom.encode([Date(timeIntervalSince1970: 1_700_000_000.75)]), as: UTF8.self)
        #expect(encoded == #"["2023-11-14T22:13:20Z"]"#)
    }

    @Test(
        "timestamps outside the strict form are read as Foundation reads them",
        arguments: [
            "2024-02-29T12:00:00Z", "2023-02-29T12:00:00Z", "2026-02-30T19:56:48Z", "2026-11-25T24:00:00Z",
            "2026-11-25T19:56:60Z", "2026-13-01T00:00:00Z", "2026-11-25T19:56:48+01:00", "1969-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z", "2026-11-25t19:56:48z", "2026-11-25 19:56:48Z", "2026-1-25T19:56:48Z",
            "2026-11-25T19:56:4xZ", "2026-11-25T19:56:48.5Z", "",
        ])
    func lenientTimestamps(text: String) {
        let foundation = (try? Date(text, strategy: .iso8601))
            ?? (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        #expect(RFC3339.date(from: text) == foundation)
    }
}
