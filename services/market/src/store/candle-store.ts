// The only SQL of the market service: candles in PostgreSQL.
import type pg from "pg";
import type { Candle } from "../domain/candles.js";

/** One statement for the whole batch; later figures for a minute replace earlier ones. */
export async function upsertCandles(db: pg.Pool, candles: readonly Candle[]): Promise<void> {
  if (candles.length === 0) return;
  await db.query(
    `INSERT INTO candles (symbol, start_time, open_price_krw, high_price_krw, low_price_krw, close_price_krw, volume)
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
     ON CONFLICT (symbol, start_time) DO UPDATE SET
       high_price_krw = EXCLUDED.high_price_krw, low_price_krw = EXCLUDED.low_price_krw,
       close_price_krw = EXCLUDED.close_price_krw, volume = EXCLUDED.volume`,
    [
      candles.map((c) => c.symbol),
      candles.map((c) => c.startTime),
      candles.map((c) => c.openPriceKrw.toString()),
      candles.map((c) => c.highPriceKrw.toString()),
      candles.map((c) => c.lowPriceKrw.toString()),
      candles.map((c) => c.closePriceKrw.toString()),
      candles.map((c) => c.volume.toString()),
    ],
  );
}

interface CandleRow {
  symbol: string;
  start_time: Date;
  open_price_krw: string;
  high_price_krw: string;
  low_price_krw: string;
  close_price_krw: string;
  volume: string;
}

/** The latest `limit` one-minute candles of a symbol, oldest first. */
export async function latestCandles(db: pg.Pool, symbol: string, limit: number): Promise<Candle[]> {
  const { rows } = await db.query<CandleRow>(
    `SELECT * FROM (SELECT * FROM candles WHERE symbol = $1 ORDER BY start_time DESC LIMIT $2) latest ORDER BY start_time`,
    [symbol, limit],
  );
  return rows.map(toCandle);
}

/**
 * The latest `limit` daily candles of a symbol, oldest first, built from its
 * minutes: a day is a calendar day in Korea time (KRX trades 08:30-15:30 KST,
 * so a day never straddles midnight there), opened by its first minute's open
 * and closed by its last minute's close.
 */
export async function latestDailyCandles(db: pg.Pool, symbol: string, limit: number): Promise<Candle[]> {
  const { rows } = await db.query<CandleRow>(
    `WITH minutes AS (
       SELECT *, date_trunc('day', start_time AT TIME ZONE 'Asia/Seoul') AS day FROM candles WHERE symbol = $1),
     days AS (
       SELECT day, min(start_time) AS first_minute, max(start_time) AS last_minute,
              max(high_price_krw) AS high_price_krw, min(low_price_krw) AS low_price_krw, sum(volume) AS volume
       FROM minutes GROUP BY day ORDER BY day DESC LIMIT $2)
     SELECT $1 AS symbol, d.day AT TIME ZONE 'Asia/Seoul' AS start_time,
            o.open_price_krw, d.high_price_krw, d.low_price_krw, c.close_price_krw, d.volume
     FROM days d
     JOIN candles o ON o.symbol = $1 AND o.start_time = d.first_minute
     JOIN candles c ON c.symbol = $1 AND c.start_time = d.last_minute
     ORDER BY d.day`,
    [symbol, limit],
  );
  return rows.map(toCandle);
}

function toCandle(r: CandleRow): Candle {
  return {
    symbol: r.symbol,
    startTime: r.start_time,
    openPriceKrw: BigInt(r.open_price_krw),
    highPriceKrw: BigInt(r.high_price_krw),
    lowPriceKrw: BigInt(r.low_price_krw),
    closePriceKrw: BigInt(r.close_price_krw),
    volume: BigInt(r.volume),
  };
}
