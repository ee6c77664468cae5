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

/** The exchange's master, read again once it is older than `maxAgeMs` (one read in flight at a time). */
export class ExchangeInstruments implements Instruments {
  #current: { readonly at: number; readonly bySymbol: Promise<ReadonlyMap<string, Instrument>> } | undefined;

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
      const bySymbol = this.exchange
        .listInstruments({}, { timeoutMs: this.timeoutMs })
        .then(
          ({ instruments }) => new Map(instruments.map((i) => [i.symbol, { symbol: i.symbol, referencePriceKrw: i.referencePriceKrw }])),
        );
      // A failed read is not kept: the next order asks again.
      bySymbol.catch(() => {
        if (this.#current?.bySymbol === bySymbol) this.#current = undefined;
      });
      this.#current = { at: now, bySymbol };
    }
    return this.#current.bySymbol;
  }
}
