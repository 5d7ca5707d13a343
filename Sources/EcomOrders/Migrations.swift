import EcomMessaging
import EcomPostgres

/// The orders database, version by version.
package let ordersMigrations: [Migration] =
    [
        Migration(
            version: 1, name: "orders, lines and idempotency keys",
            sql: """
                CREATE TABLE orders (
                    id uuid PRIMARY KEY,
                    user_id uuid NOT NULL,
                    status text NOT NULL,
                    reason text,
                    total_cents bigint NOT NULL CHECK (total_cents >= 0),
                    -- The cart version the order was made from: one order per version, so racing
                    -- checkouts of one cart make one order.
                    cart_version bigint NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    CONSTRAINT orders_status_check CHECK (status IN ('pending', 'confirmed', 'rejected', 'cancelled', 'shipped', 'delivered')),
                    CONSTRAINT orders_user_cart_version_key UNIQUE (user_id, cart_version)
                );
                CREATE INDEX orders_user_idx ON orders (user_id, created_at DESC, id DESC);
                CREATE INDEX orders_status_idx ON orders (status, created_at DESC, id DESC);

                CREATE TABLE order_lines (
                    order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
                    product_id uuid NOT NULL,
                    name text NOT NULL,
                    unit_price_cents bigint NOT NULL CHECK (unit_price_cents > 0),
                    quantity integer NOT NULL CHECK (quantity > 0),
                    PRIMARY KEY (order_id, product_id)
                );

                -- Idempotency-Key of POST /api/orders, per user: in progress while the first request
                -- runs, then the order it made and the status it answered.
                CREATE TABLE idempotency_keys (
                    user_id uuid NOT NULL,
                    key text NOT NULL,
                    state text NOT NULL CHECK (state IN ('in_progress', 'done')),
                    order_id uuid,
                    status_code integer,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (user_id, key)
                );
                """),
        Migration(
            version: 2, name: "announce orders shipped before shipping published order.shipped",
            sql: """
                -- Until this version shipping published nothing, so the products service still holds the
                -- units of orders shipped earlier: announce each once, as shipping now does. A new
                -- database has no orders, and no outbox yet either (it comes with version 100).
                DO $$
                BEGIN
                    IF to_regclass('outbox') IS NOT NULL THEN
                        INSERT INTO outbox (event_id, routing_key, body)
                        SELECT s.event_id, 'order.shipped', jsonb_build_object(
                            'id', s.event_id, 'type', 'order.shipped',
                            'occurred_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                            'data', jsonb_build_object('order_id', s.order_id))::text
                        FROM (
                            SELECT gen_random_uuid() AS event_id, id AS order_id FROM orders
                            WHERE status IN ('shipped', 'delivered') ORDER BY updated_at
                        ) AS s;
                    END IF;
                END $$;
                """),
        Migration(
            version: 3, name: "the lines a rejected order could not reserve",
            sql: """
                -- [{product_id, requested, available}] of a rejected order; names come from order_lines.
                -- Orders rejected before this version have none and show an empty list.
                ALTER TABLE orders ADD COLUMN rejected_lines jsonb;
                """),
    ] + messagingMigrations(startingAt: 100)
