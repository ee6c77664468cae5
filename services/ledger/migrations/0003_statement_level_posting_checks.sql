-- The posting checks of 0001, once per statement instead of once per row
-- (ADR 0018): a group-commit batch inserts hundreds of postings in one
-- statement, and the per-row triggers (one lookup of the account, one sum
-- over the entry's postings per posting) were a quarter of PostgreSQL's CPU
-- per transfer. Measured with `kuku-bench ledger transfers --batch 200`.
--
-- Not weaker: every statement's postings must sum to zero per entry and
-- asset, so every entry does (it is the sum of its statements, and history
-- is append-only). It is stricter only for a writer that spreads one
-- entry's postings over several unbalanced statements, which no writer does.

CREATE FUNCTION check_inserted_postings() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad record;
BEGIN
  SELECT entry_id, asset, sum(amount_minor) AS total INTO bad
    FROM inserted GROUP BY entry_id, asset HAVING sum(amount_minor) <> 0
    LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'entry % does not balance: % sums to %', bad.entry_id, bad.asset, bad.total
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT i.asset, i.account_id INTO bad
    FROM inserted i JOIN accounts a USING (account_id)
    WHERE i.asset IS DISTINCT FROM a.asset
    LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'posting asset % does not match account %', bad.asset, bad.account_id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER postings_balance_and_asset_per_statement
  AFTER INSERT ON postings
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION check_inserted_postings();

DROP TRIGGER postings_balance_per_entry ON postings;
DROP TRIGGER postings_asset_matches_account ON postings;
DROP FUNCTION check_entry_balances();
DROP FUNCTION check_posting_asset();
