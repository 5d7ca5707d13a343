import Foundation

package enum Role: String, Codable, Sendable, CaseIterable {
    case user
    case admin
    /// Carried only by service tokens; never given to an account.
    case service
}

/// An account as the API shows it. Never carries the password hash.
package struct User: Codable, Sendable, Equatable {
    @LowercaseUUID package var id: UUID
    package var email: String
    package var role: Role
    package var disabled: Bool
    package var createdAt: Date

    package init(id: UUID, email: String, role: Role, disabled: Bool, createdAt: Date) {
        self.id = id
        self.email = email
        self.role = role
        self.disabled = disabled
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, email, role, disabled
        case createdAt = "created_at"
    }
}

/// Body of `POST /api/users` and `POST /api/login`.
package struct Credentials: Codable, Sendable {
    package var email: String
    package var password: String

    package init(email: String, password: String) {
        self.email = email
        self.password = password
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case email, password
    }
}

/// Answer to login and refresh: a short-lived access token and the refresh token that replaces the one presented.
package struct TokenPair: Codable, Sendable {
    package var token: String
    package var refreshToken: String
    package var tokenType: String
    /// Seconds until `token` expires.
    package var expiresIn: Int
    package var user: User

    package init(token: String, refreshToken: String, expiresIn: Int, user: User) {
        self.token = token
        self.refreshToken = refreshToken
        self.tokenType = "Bearer"
        self.expiresIn = expiresIn
        self.user = user
    }

    enum CodingKeys: String, CodingKey {
        case token, user
        case refreshToken = "refresh_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
    }
}

/// Body of `POST /api/refresh` and `POST /api/revoke`; browsers send the cookie instead.
package struct RefreshRequest: Codable, Sendable {
    package var refreshToken: String?

    package init(refreshToken: String?) {
        self.refreshToken = refreshToken
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case refreshToken = "refresh_token"
    }
}

/// Body of `POST /api/me/password`.
package struct PasswordChange: Codable, Sendable {
    package var currentPassword: String
    package var newPassword: String

    package init(currentPassword: String, newPassword: String) {
        self.currentPassword = currentPassword
        self.newPassword = newPassword
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case currentPassword = "current_password"
        case newPassword = "new_password"
    }
}

/// Body of `PATCH /admin/users/{id}`: absent fields stay as they are.
package struct UserUpdate: Codable, Sendable {
    package var role: Role?
    package var disabled: Bool?

    package init(role: Role? = nil, disabled: Bool? = nil) {
        self.role = role
        self.disabled = disabled
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case role, disabled
    }
}
