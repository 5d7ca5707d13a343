import EcomPostgres

/// The outbox and inbox tables of a service database that publishes or consumes events.
///
/// The outbox holds events written in the same transaction as the change they announce; the
/// relay publishes them after commit and marks them sent. The inbox holds events delivered to
/// this service, one row per event id, so a second delivery of the same event is ignored; a row
/// is processed in the same transaction as its effect, retried with backoff, and parked after
/// repeated failures.
package func messagingMigrations(startingAt version: Int) -> [Migration] {
    [
        Migration(
            version: version, name: "event outbox and inbox",
            sql: """
                CREATE TABLE outbox (
                    seq bigserial PRIMARY KEY,
                    event_id uuid NOT NULL UNIQUE,
                    routing_key text NOT NULL,
                    body text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    -- A relay holds unsent rows for a while so that two relays rarely publish the same row.
                    claimed_until timestamptz,
                    sent_at timestamptz
                );
                CREATE INDEX outbox_unsent_idx ON outbox (seq) WHERE sent_at IS NULL;

                CREATE TABLE inbox (
                    event_id uuid PRIMARY KEY,
                    routing_key text NOT NULL,
                    body text NOT NULL,
                    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                    attempts integer NOT NULL DEFAULT 0,
                    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                    last_error text,
                    parked_at timestamptz,
                    processed_at timestamptz
                );
                CREATE INDEX inbox_due_idx ON inbox (next_attempt_at, received_at)
                    WHERE processed_at IS NULL AND parked_at IS NULL;
                CREATE INDEX inbox_parked_idx ON inbox (parked_at, event_id) WHERE parked_at IS NOT NULL;
                """)
    ]
}
