import EcomMessaging
import EcomPostgres

/// The carts database, version by version, then the event tables the messaging module owns.
/// Applied at start, never edited once released.
package let cartMigrations: [Migration] = cartSchema + messagingMigrations(startingAt: 100)

private let cartSchema: [Migration] = [
    Migration(
        version: 1, name: "carts, lines and applied orders",
        sql: """
            -- One number line for every cart: a version taken from it is never handed out again,
            -- not even to the same cart after it has been cleared and refilled.
            CREATE SEQUENCE cart_versions;

            -- One row per user who ever edited a cart. Every edit takes a new version here and
            -- holds this row's lock until it commits, so one user's edits run one at a time.
            CREATE TABLE carts (
                user_id uuid PRIMARY KEY,
                version bigint NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            );

            -- The upper bound is CartLimits.maximumQuantity.
            CREATE TABLE cart_items (
                id uuid PRIMARY KEY,
                user_id uuid NOT NULL REFERENCES carts (user_id) ON DELETE CASCADE,
                product_id uuid NOT NULL,
                quantity integer NOT NULL,
                added_at timestamptz NOT NULL DEFAULT now(),
                CONSTRAINT cart_items_user_product_key UNIQUE (user_id, product_id),
                CONSTRAINT cart_items_quantity_check CHECK (quantity BETWEEN 1 AND 1000)
            );

            -- Orders whose lines have left the cart: the removal runs once per order, whether
            -- the orders service's call or the order.created event arrives first.
            CREATE TABLE applied_orders (
                order_id uuid PRIMARY KEY,
                user_id uuid NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """),
    Migration(
        version: 2, name: "per-order state: removed, restoring, restored",
        sql: """
            -- A rejected order's lines come back to the cart once: 'restoring' holds them until the
            -- catalog has said which products are still for sale, 'restored' once they are back. A
            -- row in any state makes a late order.created remove nothing.
            ALTER TABLE applied_orders
                ADD COLUMN state text NOT NULL DEFAULT 'removed'
                    CONSTRAINT applied_orders_state_check CHECK (state IN ('removed', 'restoring', 'restored')),
                ADD COLUMN restore_lines jsonb,
                ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
            CREATE INDEX applied_orders_restoring_idx ON applied_orders (updated_at) WHERE state = 'restoring';
            """),
]
