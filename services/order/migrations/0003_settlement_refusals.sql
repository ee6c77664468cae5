-- What the ledger last refused of an order's settlement (a fill's settle or
-- the release of the rest of its hold), while it stays refused: the order is
-- then left where it was (FILLED, or its hold not released), the refusal is
-- kept here for operators and the kuku_orders_settlement_refused gauge, and
-- the reconciler tries again once the refusal is older than its grace
-- period. A settlement that goes through clears it.
ALTER TABLE orders
  ADD COLUMN settlement_refusal    text,
  ADD COLUMN settlement_refused_at timestamptz,
  ADD COLUMN settlement_refusals   integer NOT NULL DEFAULT 0;
CREATE INDEX orders_settlement_refused ON orders (settlement_refused_at) WHERE settlement_refusal IS NOT NULL;
