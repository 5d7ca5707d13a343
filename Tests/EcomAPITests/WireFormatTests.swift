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
}
