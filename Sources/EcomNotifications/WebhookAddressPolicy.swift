import Foundation

/// Which endpoint URLs the store may POST to: `https://` to public addresses, unless the server
/// allows plain HTTP and private addresses (`ECOM_WEBHOOK_ALLOW_INSECURE`), so that a webhook
/// cannot be aimed at the services behind the store.
enum WebhookAddressPolicy {
    /// Why `url` may not be an endpoint at all, judged from the URL alone.
    static func urlProblem(_ url: String, allowInsecure: Bool) -> String? {
        guard url.utf8.count <= 2048, let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { return "url must be an absolute http(s) URL of at most 2048 characters" }
        guard components.user == nil, components.password == nil else { return "url must not carry credentials" }
        guard scheme == "https" || (scheme == "http" && allowInsecure) else {
            return allowInsecure
                ? "url must be http or https"
                : "url must be https (the server allows plain http only when started with ECOM_WEBHOOK_ALLOW_INSECURE=1)"
        }
        // What the URL alone says is inside: an address written out, or localhost. A name is
        // judged by what it resolves to, at each delivery.
        if !allowInsecure {
            let name = unbracketed(host)
            let bare = name.hasSuffix(".") ? String(name.dropLast()).lowercased() : name.lowercased()
            if bare == "localhost" || bare.hasSuffix(".localhost") || (isAddress(bare) && isInternal(bare)) {
                return "url must not point at \(host), a loopback, private or link-local address "
                    + "(allowed only when the server is started with ECOM_WEBHOOK_ALLOW_INSECURE=1)"
            }
        }
        return nil
    }

    /// A URL's host as a name or address: an IPv6 address without its brackets.
    private static func unbracketed(_ host: String) -> String {
        host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
    }

    /// Whether `text` is an IPv4 or IPv6 address in its usual notation.
    static func isAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// Why a delivery to `url` is refused now: its scheme, or an address it resolves to.
    static func refusal(of url: String, allowInsecure: Bool) async -> String? {
        if let problem = urlProblem(url, allowInsecure: allowInsecure) { return problem }
        guard !allowInsecure, let host = URLComponents(string: url)?.host else { return nil }
        let addresses = await resolve(unbracketed(host))
        guard !addresses.isEmpty else { return "cannot resolve \(host)" }
        if let inside = addresses.first(where: isInternal) {
            return "\(host) resolves to \(inside), a loopback, private or link-local address "
                + "(allowed only when the server is started with ECOM_WEBHOOK_ALLOW_INSECURE=1)"
        }
        return nil
    }

    /// The host's addresses, as text.
    static func resolve(_ host: String) async -> [String] {
        await withCheckedContinuation { continuation in
            // getaddrinfo blocks: off the cooperative pool.
            Thread.detachNewThread {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else {
                    continuation.resume(returning: [])
                    return
                }
                defer { freeaddrinfo(first) }
                var addresses: [String] = []
                var entry: UnsafeMutablePointer<addrinfo>? = first
                while let current = entry {
                    var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                    if getnameinfo(current.pointee.ai_addr, current.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                        addresses.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                    }
                    entry = current.pointee.ai_next
                }
                continuation.resume(returning: addresses)
            }
        }
    }

    /// Loopback, private, link-local, carrier-grade NAT, unspecified and unique-local addresses.
    static func isInternal(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return isInternal(v4: UInt32(bigEndian: v4.s_addr)) }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return true }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return isInternal(v4: bytes[12...].reduce(0) { $0 << 8 | UInt32($1) })
        }
        if bytes.allSatisfy({ $0 == 0 }) || bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
        return bytes[0] & 0xfe == 0xfc || (bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80)
    }

    private static func isInternal(v4 address: UInt32) -> Bool {
        let ranges: [(UInt32, Int)] = [
            (0x0000_0000, 8), (0x0a00_0000, 8), (0x6440_0000, 10), (0x7f00_0000, 8), (0xa9fe_0000, 16), (0xac10_0000, 12),
            (0xc0a8_0000, 16),
        ]
        return ranges.contains { base, bits in address >> (32 - UInt32(bits)) == base >> (32 - UInt32(bits)) }
    }
}
