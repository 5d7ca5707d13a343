import EcomMessaging
import EcomPostgres

/// The products database, version by version, then the event tables from version 100. Applied at
/// start, never edited once released.
package let productsMigrations: [Migration] = catalogMigrations + messagingMigrations(startingAt: 100)

private let catalogMigrations: [Migration] = [
    Migration(
        version: 1, name: "catalog, stock ledger and reservations",
        sql: """
            -- Trigram indexes keep `ILIKE '%term%'` search fast on a large catalog.
            CREATE EXTENSION IF NOT EXISTS pg_trgm;

            -- The bounds mirror the API's validation, so no path around it can store a product the API
            -- would refuse. Stock has no upper bound here: releasing a reservation may lift it past the
            -- bound an admin can set, and that must never fail.
            CREATE TABLE products (
                id uuid PRIMARY KEY,
                sku text NOT NULL,
                name text NOT NULL,
                description text NOT NULL DEFAULT '',
                price_cents bigint NOT NULL,
                stock integer NOT NULL,
                is_active boolean NOT NULL DEFAULT true,
                -- Archived products leave the catalog but stay resolvable for past orders and carts.
                archived_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                CONSTRAINT products_sku_key UNIQUE (sku),
                CONSTRAINT products_sku_check CHECK (sku ~ '^[A-Za-z0-9._-]{1,64}$'),
                CONSTRAINT products_name_check CHECK (name = btrim(name) AND char_length(name) BETWEEN 1 AND 200),
                CONSTRAINT products_description_check CHECK (char_length(description) <= 5000),
                CONSTRAINT products_price_check CHECK (price_cents BETWEEN 1 AND 100000000000),
                CONSTRAINT products_stock_check CHECK (stock >= 0)
            );
            -- Keyset pagination by (name, id): the public catalog's own partial index, and one for admins.
            CREATE INDEX products_catalog_idx ON products (name, id) WHERE is_active AND archived_at IS NULL;
            CREATE INDEX products_name_id_idx ON products (name, id);
            CREATE INDEX products_name_trgm_idx ON products USING gin (name gin_trgm_ops);
            CREATE INDEX products_description_trgm_idx ON products USING gin (description gin_trgm_ops);

            -- Every stock change that is not a reservation or a release, so that for each product
            -- sum(delta) = stock + the quantities its live reservations hold.
            CREATE TABLE stock_ledger (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                product_id uuid NOT NULL REFERENCES products (id),
                delta integer NOT NULL,
                reason text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                CONSTRAINT stock_ledger_delta_check CHECK (delta <> 0),
                CONSTRAINT stock_ledger_reason_check CHECK (char_length(reason) BETWEEN 1 AND 200)
            );
            CREATE INDEX stock_ledger_product_idx ON stock_ledger (product_id, created_at);

            -- One row per order, locked (or inserted) first by every handler of that order's events, so
            -- `order.created` and `order.cancelled` serialize whatever order they arrive in.
            CREATE TABLE reservations (
                order_id uuid PRIMARY KEY,
                state text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                CONSTRAINT reservations_state_check
                    CHECK (state IN ('reserved', 'released', 'cancelled_before_reserved', 'rejected'))
            );

            -- What a reservation took, one row per product; kept after release as history.
            CREATE TABLE reservation_lines (
                order_id uuid NOT NULL REFERENCES reservations (order_id),
                product_id uuid NOT NULL REFERENCES products (id),
                quantity integer NOT NULL,
                PRIMARY KEY (order_id, product_id),
                CONSTRAINT reservation_lines_quantity_check CHECK (quantity > 0)
            );
            CREATE INDEX reservation_lines_product_idx ON reservation_lines (product_id);
            """),
    Migration(
        version: 2, name: "units on hand and held apart; shipping consumes a reservation",
        sql: """
            -- `stock` was what could be reserved: units on hand are that plus what live reservations
            -- hold, and the ledger already summed to exactly this.
            ALTER TABLE products RENAME COLUMN stock TO on_hand;
            ALTER TABLE products RENAME CONSTRAINT products_stock_check TO products_on_hand_check;
            ALTER TABLE products ADD COLUMN held integer NOT NULL DEFAULT 0;
            UPDATE products AS p SET on_hand = p.on_hand + h.quantity, held = h.quantity
            FROM (
                SELECT l.product_id, sum(l.quantity)::integer AS quantity
                FROM reservation_lines AS l JOIN reservations AS r USING (order_id)
                WHERE r.state = 'reserved' GROUP BY l.product_id
            ) AS h
            WHERE p.id = h.product_id;
            -- What is available, on_hand - held, is never negative.
            ALTER TABLE products ADD CONSTRAINT products_held_check CHECK (held >= 0 AND held <= on_hand);

            -- `shipped`: the reserved units left the warehouse. `shipped_before_reserved`: the ship
            -- came first, so a late `order.created` reserves nothing.
            ALTER TABLE reservations DROP CONSTRAINT reservations_state_check;
            ALTER TABLE reservations ADD CONSTRAINT reservations_state_check
                CHECK (state IN ('reserved', 'released', 'cancelled_before_reserved', 'rejected', 'shipped', 'shipped_before_reserved'));
            """),
    Migration(
        version: 3, name: "a product's own low-stock threshold",
        sql: """
            -- NULL: the store's threshold (ECOM_LOW_STOCK_THRESHOLD) applies.
            ALTER TABLE products ADD COLUMN low_stock_threshold integer
                CONSTRAINT products_low_stock_threshold_check CHECK (low_stock_threshold BETWEEN 0 AND 1000000);
            """),
]
