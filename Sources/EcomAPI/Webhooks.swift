import Crypto
import Foundation

/// A webhook endpoint: where the store POSTs the events an admin chose.
package struct WebhookEndpoint: Codable, Sendable, Equatable {
    @LowercaseUUID package var id: UUID
    package var url: String
    /// Event types or patterns (`order.*`, `stock.#`); empty for every event.
    package var types: [String]
    package var enabled: Bool
    /// Why the store disabled it, when it did.
    package var disabledReason: String?
    /// Failed attempts in a row.
    package var failures: Int
    /// The signing secret: in the answers that make one (creation, rotation), never after.
    package var secret: String?
    package var createdAt: Date
    package var updatedAt: Date

    package init(
        id: UUID, url: String, types: [String], enabled: Bool, disabledReason: String?, failures: Int, secret: String?,
        createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.url = url
        self.types = types
        self.enabled = enabled
        self.disabledReason = disabledReason
        self.failures = failures
        self.secret = secret
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, url, types, enabled, failures, secret
        case disabledReason = "disabled_reason"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// `POST /admin/webhooks`.
package struct WebhookCreate: Codable, Sendable, Equatable {
    package var url: String
    /// Null or absent: every event.
    package var types: [String]?

    package init(url: String, types: [String]?) {
        self.url = url
        self.types = types
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case url, types
    }
}

/// `PATCH /admin/webhooks/{id}`: only the fields given change.
package struct WebhookUpdate: Codable, Sendable, Equatable {
    package var url: String?
    package var types: [String]?
    package var enabled: Bool?

    package init(url: String? = nil, types: [String]? = nil, enabled: Bool? = nil) {
        self.url = url
        self.types = types
        self.enabled = enabled
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case url, types, enabled
    }
}

/// One event on its way to one endpoint, with its last attempt.
package struct WebhookDelivery: Codable, Sendable, Equatable {
    package var id: Int64
    @LowercaseUUID package var eventID: UUID
    package var type: String
    /// `pending` (waiting for its next attempt; a test delivery also before its first), `delivered`, or `failed` (given up).
    package var state: String
    package var attempts: Int
    package var lastStatus: Int?
    package var lastError: String?
    package var lastDurationMs: Int?
    package var nextAttemptAt: Date?
    package var createdAt: Date
    package var deliveredAt: Date?

    package init(
        id: Int64, eventID: UUID, type: String, state: String, attempts: Int, lastStatus: Int?, lastError: String?,
        lastDurationMs: Int?, nextAttemptAt: Date?, createdAt: Date, deliveredAt: Date?
    ) {
        self.id = id
        self.eventID = eventID
        self.type = type
        self.state = state
        self.attempts = attempts
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.lastDurationMs = lastDurationMs
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
        self.deliveredAt = deliveredAt
    }

    enum CodingKeys: String, CodingKey {
        case id, type, state, attempts
        case eventID = "event_id"
        case lastStatus = "last_status"
        case lastError = "last_error"
        case lastDurationMs = "last_duration_ms"
        case nextAttemptAt = "next_attempt_at"
        case createdAt = "created_at"
        case deliveredAt = "delivered_at"
    }
}

/// `webhook.disabled`: the store stopped delivering to an endpoint that kept failing.
package struct WebhookDisabled: Codable, Sendable, Equatable {
    @LowercaseUUID package var endpointID: UUID
    package var url: String
    package var failures: Int
    package var reason: String

    package init(endpointID: UUID, url: String, failures: Int, reason: String) {
        self.endpointID = endpointID
        self.url = url
        self.failures = failures
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case url, failures, reason
        case endpointID = "endpoint_id"
    }
}

/// How a delivery is signed: `Ecom-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
/// `"<t>.<body>"` with the endpoint's secret (a second `v1=` while a rotated-out secret is still
/// valid). A receiver recomputes it with its secret, compares in constant time, and refuses a
/// timestamp too far from its clock.
package enum WebhookSignature {
    package static let header = "Ecom-Signature"
    package static let eventIDHeader = "Ecom-Event-Id"
    package static let eventTypeHeader = "Ecom-Event-Type"

    /// What is signed.
    package static func signedPayload(timestamp: Int, body: String) -> String {
        "\(timestamp).\(body)"
    }

    /// The hex HMAC-SHA256 of the signed payload with `secret`.
    package static func signature(secret: String, timestamp: Int, body: String) -> String {
        hex(HMAC<SHA256>.authenticationCode(
            for: Data(signedPayload(timestamp: timestamp, body: body).utf8), using: SymmetricKey(data: Data(secret.utf8))))
    }

    /// The `Ecom-Signature` value: one `v1=` per secret still valid, the current one first.
    package static func value(secrets: [String], timestamp: Int, body: String) -> String {
        (["t=\(timestamp)"] + secrets.map { "v1=" + signature(secret: $0, timestamp: timestamp, body: body) }).joined(separator: ",")
    }

    /// A new endpoint secret: `whsec_` and 32 random bytes, hex.
    package static func newSecret() -> String {
        "whsec_" + hex(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// Lowercase hex digits of `bytes`.
    private static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
