// Write-behind for candles: they go to PostgreSQL in one batch per interval,
// never on the event path. A failed batch is put back for the next interval;
// stopping writes what is left.
import type { Logger } from "@kuku/platform";
import type pg from "pg";
import type { CandleBuilder } from "../domain/candles.js";
import * as store from "../store/candle-store.js";

export interface CandleWriterOptions {
  readonly candles: CandleBuilder;
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly intervalMs: number;
}

export class CandleWriter {
  /** Batches are written one after another, so a later figure for a minute is never overwritten by an earlier one. */
  #flushing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: CandleWriterOptions) {}

  start(): void {
    this.#timer = setInterval(() => this.#flush(), this.options.intervalMs);
  }

  /** Stops the timer and writes whatever changed since the last batch. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#flush();
    await this.#flushing;
  }

  #flush(): void {
    const { candles, pool, logger } = this.options;
    const batch = candles.takeDirty();
    this.#flushing = this.#flushing
      .then(() => store.upsertCandles(pool, batch))
      .catch((error: unknown) => {
        candles.restore(batch);
        logger.warn({ err: error, candles: batch.length }, "candle flush failed; retrying next interval");
      });
  }
}
