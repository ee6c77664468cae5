-- The venue's schedule, clock and engine settings (ADR 0019), fixed when a
-- session opens so that a replay maps every command to the venue time and the
-- rules it had the first time. Sessions from before were always open on the real clock.
ALTER TABLE exchange_sessions
  ADD COLUMN venue jsonb NOT NULL DEFAULT '{"schedule":"always-open","clock":{"wallAnchorMs":0,"venueAnchorMs":0,"speed":1},"engine":{}}';

-- "clock": the venue's clock ran (an auction, a VI's end or the close came due).
ALTER TABLE exchange_commands DROP CONSTRAINT exchange_commands_kind_check;
ALTER TABLE exchange_commands ADD CONSTRAINT exchange_commands_kind_check CHECK (kind IN ('submit', 'cancel', 'close', 'clock'));
