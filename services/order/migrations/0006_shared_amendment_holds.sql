-- An amendment (정정) shares the hold of the order it amends (ADR 0019, "The
-- order path"): the replacement is entered with that hold, adds to it only
-- what its worst case needs beyond what the original already reserves (often
-- nothing: hold_amount_minor may be 0), and the hold is released once every
-- order sharing it is done.
ALTER TABLE orders DROP CONSTRAINT orders_hold_amount_minor_check,
  ADD CONSTRAINT orders_hold_amount_minor_check CHECK (hold_amount_minor >= 0),
  -- Set on both orders when a replacement joins the hold, under the original's row lock.
  ADD COLUMN hold_shared boolean NOT NULL DEFAULT false,
  -- The original's filled quantity when the amendment was made: the venue caps
  -- the replacement by what the original filled after it.
  ADD COLUMN amends_filled_quantity bigint CHECK (amends_filled_quantity >= 0);
-- The members of a shared hold; only amended orders are in it.
CREATE INDEX orders_shared_holds ON orders (hold_id) WHERE hold_shared;
