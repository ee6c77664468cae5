// The venue's clock: a straight line from wall time to venue time, anchored
// when the journal session opened, so that a replay maps every journalled
// command to the venue time it had the first time. Speed 1 with equal anchors
// is the real clock; a set clock starts the day wherever a test or a demo
// wants it, and a speed of 390 runs a 6.5-hour day in a minute.

export interface VenueClockSettings {
  /** Wall time (ms since the epoch) the venue time below corresponds to. */
  readonly wallAnchorMs: number;
  readonly venueAnchorMs: number;
  /** Venue milliseconds per wall millisecond; 1 is real time. */
  readonly speed: number;
}

export const REAL_CLOCK: VenueClockSettings = Object.freeze({ wallAnchorMs: 0, venueAnchorMs: 0, speed: 1 });

export function assertClock(clock: VenueClockSettings): void {
  if (!(clock.speed > 0 && clock.speed <= 100_000) || !Number.isFinite(clock.wallAnchorMs) || !Number.isFinite(clock.venueAnchorMs)) {
    throw new Error(`invalid venue clock ${JSON.stringify(clock)}`);
  }
}

export const venueTimeMs = (clock: VenueClockSettings, wallMs: number): number =>
  clock.venueAnchorMs + Math.floor((wallMs - clock.wallAnchorMs) * clock.speed);

/** The first wall time whose venue time is at least `venueMs`. */
export const wallTimeMs = (clock: VenueClockSettings, venueMs: number): number =>
  clock.wallAnchorMs + Math.ceil((venueMs - clock.venueAnchorMs) / clock.speed);
