import Crypto
import EcomAPI
import Foundation

/// Hand-built JWS tokens with any algorithm, key and claims: what an attacker could send.
enum TokenForge {
    static func header(_ algorithm: String) -> String {
        Data(#"{"alg":"\#(algorithm)","typ":"JWT"}"#.utf8).base64URLEncodedString()
    }

    /// `claims` signed with `algorithm` (`HS256`, `HS384`, `HS512`, or `none` for no signature) and `key`.
    static func sign(_ claims: [String: Any], algorithm: String = "HS256", key: String = ServerProcess.secret) -> String {
        let payload = (try? JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])) ?? Data()
        let input = header(algorithm) + "." + payload.base64URLEncodedString()
        let key = SymmetricKey(data: Data(key.utf8))
        let message = Data(input.utf8)
        let signature: Data
        switch algorithm {
        case "HS256": signature = Data(HMAC<SHA256>.authenticationCode(for: message, using: key))
        case "HS384": signature = Data(HMAC<SHA384>.authenticationCode(for: message, using: key))
        case "HS512": signature = Data(HMAC<SHA512>.authenticationCode(for: message, using: key))
        default: signature = Data()
        }
        return input + "." + signature.base64URLEncodedString()
    }
}
