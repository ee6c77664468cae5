// The instrument master as the order service reads it: the venue rolls the
// reference price (and with it the daily limits) at every close, so a copy
// read once at start would check and hold a new day's orders by an old day's
// limits (a market buy held below the upper limit it can fill at).
import type { Client } from "@connectrpc/connect";
import type { ExchangeService } from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import type { Instrument } from "../domain/order.js";

export interface Instruments {
  get(symbol: string): Promise<Instrument | undefined>;
}

/**
 * The exchange's master, read again once it is older than `maxAgeMs` (one
 * read in flight at a time). When that read fails (the exchange down, its
 * breaker open) the last master read answers: orders still go out and meet
 * the venue's own checks, or go in doubt and are reconciled, as they did when
 * the master was read once at start; refusing every order while the venue
 * is away took that path away (the exchange-down drill saw no order in doubt).
 */
export class ExchangeInstruments implements Instruments {
  #current: { readonly at: number; readonly bySymbol: Promise<ReadonlyMap<string, Instrument>> } | undefined;
  #lastRead: ReadonlyMap<string, Instrument> | undefined;

  constructor(
    private readonly exchange: Client<typeof ExchangeService>,
    private readonly maxAgeMs: number,
    private readonly timeoutMs: number,
  ) {}

  async get(symbol: string): Promise<Instrument | undefined> {
    return (await this.all()).get(symbol);
  }

  all(): Promise<ReadonlyMap<string, Instrument>> {
    const now = Date.now();
    if (this.#current === undefined || now - this.#current.at > this.maxAgeMs) {
      const read = this.exchange.listInstruments({}, { timeoutMs: this.timeoutMs }).then(({ instruments }) => {
        const bySymbol = new Map(instruments.map((i) => [i.symbol, { symbol: i.symbol, referencePriceKrw: i.referencePriceKrw }]));
        this.#lastRead = bySymbol;
        return bySymbol;
      });
      const bySymbol = read.catch((error: unknown) => {
        // A failed read is not kept: the next order asks again (fast while the breaker is open).
        if (this.#current?.bySymbol === bySymbol) this.#current = undefined;
        if (this.#lastRead === undefined) throw error;
        return this.#lastRead;
      });
      this.#current = { at: now, bySymbol };
    }
    return this.#current.bySymbol;
  }
}
