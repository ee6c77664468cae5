-- The venue's order types and times in force (ADR 0019): KRX's priced-by-the-
-- book types, conditional limits, stops with their trigger price, FOK and GTC;
-- and WAITING, a stop the venue holds until its stop price trades.
-- Postgres names an inline column CHECK <table>_<column>_check.
ALTER TABLE orders DROP CONSTRAINT orders_type_check,
  ADD CONSTRAINT orders_type_check CHECK (type IN ('limit', 'market', 'best', 'top', 'conditional', 'stop', 'stop_limit')),
  DROP CONSTRAINT orders_time_in_force_check,
  ADD CONSTRAINT orders_time_in_force_check CHECK (time_in_force IN ('day', 'ioc', 'fok', 'gtc')),
  DROP CONSTRAINT orders_state_check,
  ADD CONSTRAINT orders_state_check CHECK (state IN ('received', 'sent', 'accepted', 'partially_filled', 'filled',
    'settled', 'rejected', 'cancel_requested', 'cancelled', 'expired', 'unknown', 'waiting')),
  ADD COLUMN stop_price_krw bigint NOT NULL DEFAULT 0 CHECK (stop_price_krw >= 0);

-- An amendment (정정) is an order of its own replacing a working one, as KRX
-- gives it its own order number; this names the original.
ALTER TABLE orders ADD COLUMN amends_order_id uuid REFERENCES orders (order_id);
-- What the reconciler looks at: originals whose replacement the venue has taken.
CREATE INDEX orders_amendments ON orders (amends_order_id) WHERE amends_order_id IS NOT NULL;
