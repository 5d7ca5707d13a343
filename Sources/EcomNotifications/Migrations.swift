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
]
