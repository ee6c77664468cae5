-- The redlock-fenced balance guard (ADR 0008): the fencing token of the last
-- lock holder that wrote each balance, and the sequence the tokens come
-- from (taken after each lock grant, so later holders get larger tokens).
ALTER TABLE balances ADD COLUMN fence bigint NOT NULL DEFAULT 0;
CREATE SEQUENCE balance_fence;
