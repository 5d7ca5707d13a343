import EcomPostgres

/// The users database, version by version. Applied at start, never edited once released.
package let usersMigrations: [Migration] = [
    Migration(
        version: 1, name: "accounts and refresh tokens",
        sql: """
            CREATE TABLE users (
                id uuid PRIMARY KEY,
                email text NOT NULL,
                password_hash text NOT NULL,
                role text NOT NULL DEFAULT 'user',
                disabled_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                CONSTRAINT users_email_key UNIQUE (email),
                CONSTRAINT users_email_lowercase CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
                CONSTRAINT users_role_check CHECK (role IN ('user', 'admin'))
            );
            CREATE INDEX users_created_at_idx ON users (created_at, id);

            -- One family per sign-in; every refresh rotates the token within its family, and a
            -- token presented twice revokes the family.
            CREATE TABLE refresh_families (
                id uuid PRIMARY KEY,
                user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                created_at timestamptz NOT NULL DEFAULT now(),
                revoked_at timestamptz,
                revoked_reason text
            );
            CREATE INDEX refresh_families_user_idx ON refresh_families (user_id);

            -- Only SHA-256 digests of the tokens are stored.
            CREATE TABLE refresh_tokens (
                token_hash text PRIMARY KEY,
                family_id uuid NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
                created_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                used_at timestamptz
            );
            CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
            CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

            -- Failed sign-ins per account, for throttling.
            CREATE TABLE login_failures (
                key text PRIMARY KEY,
                failures integer NOT NULL,
                last_failure_at timestamptz NOT NULL,
                locked_until timestamptz
            );
            """),
    Migration(
        version: 2, name: "revocation feed",
        sql: """
            -- Access tokens of user_id issued before revoked_at are void. Every service reads this
            -- feed by id; writers take turns (see recordRevocation), so ids become visible in order.
            CREATE TABLE revocations (
                id bigserial PRIMARY KEY,
                user_id uuid NOT NULL,
                revoked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                reason text NOT NULL
            );
            CREATE INDEX revocations_revoked_at_idx ON revocations (revoked_at);
            """),
]
