-- The ledger: accounts, an append-only double-entry journal, balances kept
-- current per account, and holds (reservations) for open orders.
-- Amounts are BIGINT minor units (1 won, 1 share), never floating point.

CREATE TABLE accounts (
  account_id uuid PRIMARY KEY,
  owner_id   text NOT NULL CHECK (length(owner_id) BETWEEN 1 AND 128),
  asset      text NOT NULL CHECK (asset ~ '^(KRW|[0-9A-Z]{6})$'),
  -- 1 user, 2 external, 3 clearing, 4 fees (kuku.ledger.v1.AccountKind)
  kind       smallint NOT NULL CHECK (kind BETWEEN 1 AND 4),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner_id, asset)
);

-- Current balances, materialised so reads and overdraft checks are one row;
-- VerifyIntegrity recomputes them from postings and holds.
CREATE TABLE balances (
  account_id  uuid PRIMARY KEY REFERENCES accounts (account_id),
  kind        smallint NOT NULL,
  total_minor bigint NOT NULL DEFAULT 0,
  held_minor  bigint NOT NULL DEFAULT 0 CHECK (held_minor >= 0),
  version     bigint NOT NULL DEFAULT 0,
  -- A customer's available (total - held) never goes below zero, whatever
  -- the service does: the database refuses the row.
  CONSTRAINT user_never_overdrawn CHECK (kind <> 1 OR total_minor - held_minor >= 0)
);

CREATE TABLE entries (
  entry_id   uuid PRIMARY KEY,
  request_id text NOT NULL UNIQUE,
  -- 1 deposit, 2 withdrawal, 3 transfer, 4 settlement, 5 reversal
  kind       smallint NOT NULL CHECK (kind BETWEEN 1 AND 5),
  created_at timestamptz NOT NULL DEFAULT now(),
  metadata   jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE postings (
  -- Orders history: increases with every posting, so it is the cursor.
  posting_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  entry_id     uuid NOT NULL REFERENCES entries (entry_id),
  account_id   uuid NOT NULL REFERENCES accounts (account_id),
  asset        text NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor <> 0)
);
CREATE INDEX postings_by_entry ON postings (entry_id);
-- History of one account, newest first: an index-only walk from the cursor.
CREATE INDEX postings_by_account ON postings (account_id, posting_id DESC);

-- Every entry sums to zero per asset, checked by PostgreSQL at commit, so a
-- bug in the service cannot commit an unbalanced entry.
CREATE FUNCTION check_entry_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad record;
BEGIN
  SELECT asset, sum(amount_minor) AS total INTO bad
    FROM postings WHERE entry_id = NEW.entry_id
    GROUP BY asset HAVING sum(amount_minor) <> 0
    LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'entry % does not balance: % sums to %', NEW.entry_id, bad.asset, bad.total
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER postings_balance_per_entry
  AFTER INSERT ON postings
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION check_entry_balances();

-- A posting's asset is its account's asset.
CREATE FUNCTION check_posting_asset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.asset IS DISTINCT FROM (SELECT asset FROM accounts WHERE account_id = NEW.account_id) THEN
    RAISE EXCEPTION 'posting asset % does not match account %', NEW.asset, NEW.account_id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER postings_asset_matches_account
  BEFORE INSERT ON postings
  FOR EACH ROW EXECUTE FUNCTION check_posting_asset();

-- History is append-only: corrections are new (reversal) entries.
CREATE FUNCTION refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
  FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
  FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();

CREATE TABLE holds (
  hold_id        uuid PRIMARY KEY,
  account_id     uuid NOT NULL REFERENCES accounts (account_id),
  amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
  settled_minor  bigint NOT NULL DEFAULT 0 CHECK (settled_minor >= 0),
  released_minor bigint NOT NULL DEFAULT 0 CHECK (released_minor >= 0),
  reference      text NOT NULL DEFAULT '',
  created_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT hold_not_overdrawn CHECK (settled_minor + released_minor <= amount_minor)
);
CREATE INDEX holds_open_by_account ON holds (account_id)
  WHERE settled_minor + released_minor < amount_minor;

-- Idempotency: one row per mutating request id, written in the same
-- transaction as its effect, holding the response a replay returns.
CREATE TABLE requests (
  request_id   text PRIMARY KEY,
  operation    text NOT NULL,
  payload_hash bytea NOT NULL,
  response     bytea,
  created_at   timestamptz NOT NULL DEFAULT now()
);
