import EcomAPI
import Foundation
import Testing

@Suite struct IdentifierTests {
    @Test("an id is written in lowercase exactly as Foundation's uuidString, lowercased")
    func lowercased() {
        var ids = (0..<1000).map { _ in UUID() }
        ids.append(UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
        ids.append(UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255)))
        for id in ids {
            #expect(id.lowercased == id.uuidString.lowercased())
        }
    }

    /// Foundation's parser (sscanf underneath) also lets through a `+`, a `0x` or a space inside a group;
    /// ids here are only ever the hyphenated hex form.
    static func isHyphenatedHex(_ text: String) -> Bool {
        text.wholeMatch(of: /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/) != nil
    }

    @Test("an id is read as Foundation reads it when it is 8-4-4-4-12 hex digits, and refused otherwise")
    func parsing() {
        let sample = UUID().uuidString
        var inputs = [
            sample, sample.lowercased(), "00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
            "aBcDeF01-2345-6789-AbCd-Ef0123456789", "", "-", String(sample.dropLast()), sample + "0", " " + sample, sample + " ",
            "{\(sample)}", sample.replacingOccurrences(of: "-", with: ""), sample.replacingOccurrences(of: "-", with: "_"),
            "g0000000-0000-0000-0000-000000000000", "0000000-00000-0000-0000-000000000000", "+0000000-0000-0000-0000-000000000000",
            "０0000000-0000-0000-0000-000000000000", "0x000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-0000000000 0", "00000000-0000-0000-0000-00000000000é", "00000000-0000-0000-0000-0000000000\u{0}0",
        ]
        inputs += (0..<200).map { _ in
            var text = Array(UUID().uuidString)
            text[Int.random(in: 0..<text.count)] = Character(UnicodeScalar(UInt8.random(in: 32...126)))
            return String(text)
        }
        for input in inputs {
            let expected = Self.isHyphenatedHex(input) ? UUID(uuidString: input) : nil
            #expect(Self.isHyphenatedHex(input) == (expected != nil), "\(input.debugDescription)")
            #expect(UUID(hyphenated: input) == expected, "\(input.debugDescription)")
            #expect(UUID(hyphenated: input[...]) == expected, "\(input.debugDescription)")
        }
    }
}
