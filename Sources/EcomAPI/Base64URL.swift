import Foundation

/// Base64url without padding (RFC 4648 §5), as JWTs, refresh tokens and pagination cursors use it.
extension Data {
    /// The URL-safe alphabet, no padding; one pass over the standard encoding.
    package func base64URLEncodedString() -> String {
        let base64 = base64EncodedString()
        var url = [UInt8]()
        url.reserveCapacity(base64.utf8.count)
        for byte in base64.utf8 {
            switch byte {
            case UInt8(ascii: "+"): url.append(UInt8(ascii: "-"))
            case UInt8(ascii: "/"): url.append(UInt8(ascii: "_"))
            case UInt8(ascii: "="): break
            default: url.append(byte)
            }
        }
        return String(decoding: url, as: UTF8.self)
    }

    /// Decodes base64url with or without padding; nil for anything else.
    package init?(base64URL text: String) {
        var base64 = Array(text.utf8)
        for index in base64.indices {
            switch base64[index] {
            case UInt8(ascii: "-"): base64[index] = UInt8(ascii: "+")
            case UInt8(ascii: "_"): base64[index] = UInt8(ascii: "/")
            default: break
            }
        }
        base64 += repeatElement(UInt8(ascii: "="), count: (4 - base64.count % 4) % 4)
        self.init(base64Encoded: Data(base64))
    }
}
