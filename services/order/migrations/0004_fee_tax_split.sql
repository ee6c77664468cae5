-- The securities transaction tax apart from the commission (issue 18): each
-- fill keeps its own tax, and is settled with the commission and the tax as
-- separate ledger postings. NULL marks a fill recorded before the split: its
-- fee_krw is commission and tax together, settled (if it ever needs to be
-- again) exactly as it was, so a replay keeps its request's payload.
ALTER TABLE fills ADD COLUMN tax_krw bigint CHECK (tax_krw >= 0);
-- A user's fills by time, for the fills list, the statement and the P&L.
CREATE INDEX fills_by_order_time ON fills (order_id, executed_at, execution_id);
