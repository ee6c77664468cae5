-- One-minute candles, written behind the in-memory market state (ADR 0010).
-- A row holds absolute values for its minute, so a repeated flush overwrites
-- it with the same or newer figures.
CREATE TABLE candles (
  symbol          text NOT NULL CHECK (symbol ~ '^[0-9A-Z]{6}$'),
  start_time      timestamptz NOT NULL,
  open_price_krw  bigint NOT NULL CHECK (open_price_krw > 0),
  high_price_krw  bigint NOT NULL,
  low_price_krw   bigint NOT NULL,
  close_price_krw bigint NOT NULL,
  volume          bigint NOT NULL CHECK (volume >= 0),
  PRIMARY KEY (symbol, start_time),
  CHECK (low_price_krw <= open_price_krw AND open_price_krw <= high_price_krw),
  CHECK (low_price_krw <= close_price_krw AND close_price_krw <= high_price_krw)
);
