-- Orders, their fills, their transition history, the transactional outbox
-- and the consumers' dedupe table. The order service's own database: it
-- never reads the ledger's tables, it asks the ledger over gRPC.

CREATE TABLE orders (
  order_id            uuid PRIMARY KEY,
  user_id             text NOT NULL,
  idempotency_key     text NOT NULL,
  request_hash        bytea NOT NULL,
  symbol              text NOT NULL CHECK (symbol ~ '^[0-9A-Z]{6}$'),
  side                text NOT NULL CHECK (side IN ('buy', 'sell')),
  type                text NOT NULL CHECK (type IN ('limit', 'market')),
  time_in_force       text NOT NULL CHECK (time_in_force IN ('day', 'ioc')),
  quantity            bigint NOT NULL CHECK (quantity > 0),
  limit_price_krw     bigint NOT NULL CHECK (limit_price_krw >= 0),
  filled_quantity     bigint NOT NULL DEFAULT 0,
  filled_notional_krw bigint NOT NULL DEFAULT 0 CHECK (filled_notional_krw >= 0),
  fees_krw            bigint NOT NULL DEFAULT 0 CHECK (fees_krw >= 0),
  state               text NOT NULL CHECK (state IN ('received', 'sent', 'accepted', 'partially_filled', 'filled',
                        'settled', 'rejected', 'cancel_requested', 'cancelled', 'expired', 'unknown')),
  reject_reason       text NOT NULL DEFAULT '',
  hold_id             uuid,
  hold_amount_minor   bigint NOT NULL CHECK (hold_amount_minor > 0),
  -- Whether what the hold still reserved was given back once the order came to rest.
  hold_released       boolean NOT NULL DEFAULT false,
  version             bigint NOT NULL DEFAULT 0,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  -- One order per key and user: the idempotency key of PlaceOrder.
  UNIQUE (user_id, idempotency_key),
  CONSTRAINT never_overfilled CHECK (filled_quantity BETWEEN 0 AND quantity)
);
CREATE INDEX orders_by_user ON orders (user_id, created_at DESC, order_id DESC);
-- What the sweeper and the reconciler look at: orders not yet at rest.
CREATE INDEX orders_in_flight ON orders (state, updated_at)
  WHERE state IN ('received', 'sent', 'unknown', 'filled', 'cancelled', 'rejected', 'expired');

-- One row per execution of one of our orders: the execution id makes a
-- redelivered or duplicated execution a no-op.
CREATE TABLE fills (
  execution_id text PRIMARY KEY,
  order_id     uuid NOT NULL REFERENCES orders (order_id),
  quantity     bigint NOT NULL CHECK (quantity > 0),
  price_krw    bigint NOT NULL CHECK (price_krw > 0),
  fee_krw      bigint NOT NULL CHECK (fee_krw >= 0),
  executed_at  timestamptz NOT NULL,
  settled_at   timestamptz
);
CREATE INDEX fills_by_order ON fills (order_id);
CREATE INDEX fills_unsettled ON fills (order_id) WHERE settled_at IS NULL;

CREATE TABLE order_transitions (
  transition_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id      uuid NOT NULL REFERENCES orders (order_id),
  from_state    text,
  to_state      text NOT NULL,
  reason        text NOT NULL DEFAULT '',
  occurred_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_transitions_by_order ON order_transitions (order_id, transition_id);

-- Transactional outbox: written in the same transaction as the change it
-- announces; a relay publishes it to Kafka and marks it.
CREATE TABLE outbox (
  seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id     uuid NOT NULL UNIQUE,
  topic        text NOT NULL,
  key          text NOT NULL,
  payload      bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;

-- Idempotent consumers: an event id is processed once per consumer.
CREATE TABLE processed_events (
  consumer     text NOT NULL,
  event_id     text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
