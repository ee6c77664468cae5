-- The exchange's journal (ADR 0016): every command that changed the venue,
-- in the order it was applied, written before it is applied or answered.
-- The venue is rebuilt by replaying it; nothing else is stored.
CREATE TABLE exchange_sessions (
  session text PRIMARY KEY CHECK (session ~ '^[0-9A-Za-z]{1,16}$'),
  opened_at timestamptz NOT NULL,
  -- The market maker's settings: replay must quote exactly as the first run did.
  market_maker jsonb NOT NULL,
  -- Commands up to here have had their events acknowledged by Kafka; later
  -- ones are published again after a restart (consumers drop duplicates by event id).
  published_through bigint NOT NULL DEFAULT 0 CHECK (published_through >= 0)
);

CREATE TABLE exchange_commands (
  session text NOT NULL REFERENCES exchange_sessions,
  sequence bigint NOT NULL CHECK (sequence > 0),
  kind text NOT NULL CHECK (kind IN ('submit', 'cancel', 'close')),
  payload jsonb NOT NULL,
  entered_at timestamptz NOT NULL,
  PRIMARY KEY (session, sequence)
);
