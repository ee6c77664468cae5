-- The trace context of the transaction that wrote an outbox event (W3C
-- traceparent, uber-trace-id), as Kafka headers for the relay to send with
-- it: consumers of order events continue the trace of the change, although
-- the relay publishes later, outside it. NULL when tracing is off.
ALTER TABLE outbox ADD COLUMN trace_headers jsonb;
