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

    @Test("a random id is a version 4 UUID of the RFC 9562 variant, and ten thousand of them are all different")
    func random() {
        let ids = (0..<10_000).map { _ in UUID.random() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(100) {
            #expect(id.uuid.6 >> 4 == 4, "\(id)")
            #expect(id.uuid.8 >> 6 == 0b10, "\(id)")
            // Foundation reads it back as the same id, with the same version digit.
            #expect(UUID(uuidString: id.uuidString) == id)
            #expect(Array(id.lowercased)[14] == "4")
        }
        // Every random bit varies: OR-ing and AND-ing a thousand ids leaves only the fixed bits.
        var any = [UInt8](repeating: 0, count: 16), all = [UInt8](repeating: 255, count: 16)
        for id in ids.prefix(1000) {
            withUnsafeBytes(of: id.uuid) { bytes in
                for index in 0..<16 {
                    any[index] |= bytes[index]
                    all[index] &= bytes[index]
                }
            }
        }
        #expect(any == [255, 255, 255, 255, 255, 255, 0x4F, 255, 0xBF, 255, 255, 255, 255, 255, 255, 255])
        #expect(all == [0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 0])
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
