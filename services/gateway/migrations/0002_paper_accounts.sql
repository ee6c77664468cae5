-- A user's paper accounts. Each is its own owner in the ledger and the order
-- service (owner id = account_id); the first account's id is the user's own,
-- so accounts opened before this table existed are that account. Rows are
-- never deleted: a reset posts journal entries and records when.
CREATE TABLE paper_accounts (
  account_id        uuid PRIMARY KEY,
  user_id           uuid NOT NULL REFERENCES users (user_id),
  name              text NOT NULL,
  starting_cash_krw bigint NOT NULL CHECK (starting_cash_krw >= 0),
  -- The CreateAccount request that opened it: a repeat answers the same row.
  create_request_id text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  reset_at          timestamptz
);
CREATE INDEX paper_accounts_user ON paper_accounts (user_id, created_at);
CREATE UNIQUE INDEX paper_accounts_name_key ON paper_accounts (user_id, lower(name));
CREATE UNIQUE INDEX paper_accounts_request_key ON paper_accounts (user_id, create_request_id);
