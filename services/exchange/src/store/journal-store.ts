// The journal in PostgreSQL: sessions and their commands, nothing else.
import type pg from "pg";
import type { OrderType, Side, SubmitInput, TimeInForce } from "../domain/engine.js";
import type { MarketMakerOptions } from "../domain/market-maker.js";
import type { Command, VenueSettings } from "../domain/venue.js";

type Queryable = pg.Pool | pg.PoolClient;

export interface SessionRecord {
  readonly session: string;
  readonly openedAt: Date;
  readonly marketMaker: MarketMakerOptions;
  /** The schedule, clock and engine rules the session was opened with. */
  readonly venue: VenueSettings;
  /** Commands up to this sequence have had their events acknowledged by Kafka. */
  readonly publishedThrough: bigint;
}

export interface JournaledCommand {
  readonly sequence: bigint;
  readonly command: Command;
}

/** The session to resume: the newest one. */
export async function latestSession(db: Queryable): Promise<SessionRecord | undefined> {
  const { rows } = await db.query<{
    session: string;
    opened_at: Date;
    market_maker: MarketMakerOptions;
    venue: VenueSettings;
    published_through: string;
  }>("SELECT session, opened_at, market_maker, venue, published_through FROM exchange_sessions ORDER BY opened_at DESC, session LIMIT 1");
  const row = rows[0];
  return row === undefined
    ? undefined
    : {
        session: row.session,
        openedAt: row.opened_at,
        marketMaker: row.market_maker,
        venue: row.venue,
        publishedThrough: BigInt(row.published_through),
      };
}

export async function openSession(
  db: Queryable,
  session: string,
  openedAt: Date,
  marketMaker: MarketMakerOptions,
  venue: VenueSettings,
): Promise<SessionRecord> {
  await db.query("INSERT INTO exchange_sessions (session, opened_at, market_maker, venue) VALUES ($1, $2, $3, $4)", [
    session,
    openedAt,
    JSON.stringify(marketMaker),
    JSON.stringify(venue),
  ]);
  return { session, openedAt, marketMaker, venue, publishedThrough: 0n };
}

/** The session's commands after `afterSequence`, in order, at most `limit` of them. */
export async function readCommands(db: Queryable, session: string, afterSequence: bigint, limit: number): Promise<JournaledCommand[]> {
  const { rows } = await db.query<{ sequence: string; kind: Command["kind"]; payload: Payload; entered_at: Date }>(
    "SELECT sequence, kind, payload, entered_at FROM exchange_commands WHERE session = $1 AND sequence > $2 ORDER BY sequence LIMIT $3",
    [session, afterSequence, limit],
  );
  return rows.map((r) => ({ sequence: BigInt(r.sequence), command: decode(r.kind, r.payload, r.entered_at) }));
}

/**
 * Appends commands `firstSequence`, `firstSequence + 1`, … in one statement
 * (one commit for the whole group), and records how far Kafka has got.
 * A sequence already taken fails the statement: a second writer, never a silent fork.
 */
export async function appendCommands(
  db: Queryable,
  session: string,
  firstSequence: bigint,
  commands: readonly Command[],
  publishedThrough: bigint,
): Promise<void> {
  if (commands.length === 0) throw new Error("invariant violated: an empty append");
  await db.query(
    `WITH progress AS (
       UPDATE exchange_sessions SET published_through = GREATEST(published_through, $6) WHERE session = $1
     )
     INSERT INTO exchange_commands (session, sequence, kind, payload, entered_at)
     SELECT $1, $2::bigint + ordinality - 1, kind, payload, entered_at
       FROM unnest($3::text[], $4::jsonb[], $5::timestamptz[]) WITH ORDINALITY AS c(kind, payload, entered_at, ordinality)`,
    [
      session,
      firstSequence,
      commands.map((c) => c.kind),
      commands.map((c) => JSON.stringify(encode(c))),
      commands.map((c) => c.at),
      publishedThrough,
    ],
  );
}

export async function recordPublished(db: Queryable, session: string, publishedThrough: bigint): Promise<void> {
  await db.query("UPDATE exchange_sessions SET published_through = GREATEST(published_through, $2) WHERE session = $1", [
    session,
    publishedThrough,
  ]);
}

// --- rows -----------------------------------------------------------------------

/** JSON has no bigint: the price travels as a decimal string. */
type Payload =
  | {
      clientOrderId: string;
      symbol: string;
      side: Side;
      type: OrderType;
      timeInForce: TimeInForce;
      quantity: number;
      priceKrw: string;
      stopPriceKrw?: string;
      amends?: string;
      /** Absent in journals written before the amendment cap: no cap, as then. */
      amendsFilledQuantity?: number;
      refusal?: string;
    }
  | { clientOrderId: string }
  | Record<string, never>;

function encode(command: Command): Payload {
  switch (command.kind) {
    case "submit": {
      const { input, refusal } = command;
      return {
        ...input,
        priceKrw: input.priceKrw.toString(),
        ...(input.stopPriceKrw === undefined ? {} : { stopPriceKrw: input.stopPriceKrw.toString() }),
        ...(refusal === undefined ? {} : { refusal }),
      };
    }
    case "cancel":
      return { clientOrderId: command.clientOrderId };
    case "close":
    case "clock":
      return {};
  }
}

function decode(kind: Command["kind"], payload: Payload, at: Date): Command {
  switch (kind) {
    case "submit": {
      const p = payload as Extract<Payload, { priceKrw: string }>;
      const input: SubmitInput = {
        clientOrderId: p.clientOrderId,
        symbol: p.symbol,
        side: p.side,
        type: p.type,
        timeInForce: p.timeInForce,
        quantity: p.quantity,
        priceKrw: BigInt(p.priceKrw),
        ...(p.stopPriceKrw === undefined ? {} : { stopPriceKrw: BigInt(p.stopPriceKrw) }),
        ...(p.amends === undefined ? {} : { amends: p.amends }),
        ...(p.amendsFilledQuantity === undefined ? {} : { amendsFilledQuantity: p.amendsFilledQuantity }),
      };
      return p.refusal === undefined ? { kind, at, input } : { kind, at, input, refusal: p.refusal };
    }
    case "cancel":
      return { kind, at, clientOrderId: (payload as { clientOrderId: string }).clientOrderId };
    case "close":
    case "clock":
      return { kind, at };
  }
}
