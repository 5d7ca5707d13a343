import EcomMessaging
import EcomPostgres

/// The notifications database, version by version, then the event tables the messaging module
/// owns. Applied at start, never edited once released.
package let notificationsMigrations: [Migration] = notificationsSchema + messagingMigrations(startingAt: 100)

private let notificationsSchema: [Migration] = [
    Migration(
        version: 1, name: "event log and order owners",
        sql: """
            -- Every store event this service received, in the order it was logged. Rows are
            -- added under one advisory lock held until commit (EventLog.append), so seq is also
            -- the order of commits: a reader that has seen seq n has seen every row before it.
            CREATE TABLE event_log (
                seq bigserial PRIMARY KEY,
                event_id uuid NOT NULL UNIQUE,
                type text NOT NULL,
                -- The order the event is about, if any, and the buyer who may follow it.
                order_id uuid,
                user_id uuid,
                occurred_at timestamptz NOT NULL,
                logged_at timestamptz NOT NULL DEFAULT now(),
                body text NOT NULL
            );
            CREATE INDEX event_log_user_idx ON event_log (user_id, seq) WHERE user_id IS NOT NULL;
            CREATE INDEX event_log_order_idx ON event_log (order_id, seq) WHERE order_id IS NOT NULL;
            CREATE INDEX event_log_logged_at_idx ON event_log (logged_at);

            -- Whose each order is, from its order.created: the order's later events name only its
            -- id. Kept past the log's retention, since an order can be shipped weeks later.
            CREATE TABLE order_owners (
                order_id uuid PRIMARY KEY,
                user_id uuid NOT NULL,
                logged_at timestamptz NOT NULL DEFAULT now()
            );
            """),
    Migration(
        version: 2, name: "webhook endpoints, deliveries and attempts",
        sql: """
            -- Where events are POSTed. type_regex is the endpoint's patterns as one regular
            -- expression over '.' || type (EventTypePattern.regex), so that the events an
            -- endpoint wants are found in one statement.
            CREATE TABLE webhook_endpoints (
                id uuid PRIMARY KEY,
                url text NOT NULL,
                types text[] NOT NULL,
                type_regex text NOT NULL,
                secret text NOT NULL,
                -- A rotated-out secret still signs deliveries until it expires.
                previous_secret text,
                previous_secret_expires_at timestamptz,
                enabled boolean NOT NULL DEFAULT true,
                disabled_reason text,
                -- Failed attempts in a row; reaching the limit disables the endpoint.
                failures integer NOT NULL DEFAULT 0,
                -- Which dispatcher delivers to it, until when.
                leased_until timestamptz,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );

            -- One event on its way to one endpoint, delivered in event_seq order per endpoint.
            CREATE TABLE webhook_deliveries (
                id bigserial PRIMARY KEY,
                endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
                event_seq bigint NOT NULL,
                event_id uuid NOT NULL,
                type text NOT NULL,
                body text NOT NULL,
                state text NOT NULL DEFAULT 'pending' CONSTRAINT webhook_deliveries_state_check CHECK (state IN ('pending', 'delivered', 'failed')),
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                last_status integer,
                last_error text,
                last_duration_ms integer,
                created_at timestamptz NOT NULL DEFAULT now(),
                delivered_at timestamptz,
                CONSTRAINT webhook_deliveries_endpoint_event_key UNIQUE (endpoint_id, event_id)
            );
            CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (endpoint_id, event_seq, id) WHERE state = 'pending';
            CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);

            -- Every attempt, for the delivery log.
            CREATE TABLE webhook_attempts (
                delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
                attempted_at timestamptz NOT NULL DEFAULT now(),
                status integer,
                error text,
                duration_ms integer NOT NULL
            );
            CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id);
            """),
    Migration(
        version: 3, name: "webhook deliveries queued by the dispatcher from a cursor over the log",
        sql: """
            -- The last logged event the endpoint's dispatcher has queued deliveries for (or passed
            -- over, for a type the endpoint does not want). Deliveries are queued from the log a
            -- batch at a time by the dispatcher that delivers them, not by the statement that
            -- logs each event, so ten endpoints do not make logging ten times the work.
            ALTER TABLE webhook_endpoints ADD COLUMN cursor bigint NOT NULL DEFAULT 0;
            UPDATE webhook_endpoints SET cursor = (SELECT COALESCE(max(seq), 0) FROM event_log);

            -- A delivery of a logged event reads the event from the log when it is sent, rather
            -- than keeping a copy: rows a tenth the size, written and rewritten once per endpoint.
            -- Only a test delivery, whose event is not logged, carries its body.
            ALTER TABLE webhook_deliveries ALTER COLUMN body DROP NOT NULL;
            """),
]
