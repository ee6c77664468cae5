// A market that moves by itself, replayably: a seeded price process per
// symbol (geometric Brownian motion with rare jumps) gives each a fair value,
// and a population of background traders places and cancels real orders
// through the engine around it: noise traders on both sides, momentum traders
// chasing the last move, mean-reversion traders leaning on the fair value.
// Everything comes from one seed and the venue's clock, so the same seed and
// the same user orders give the same tape, byte for byte.
import { roundToTick, tickSizeKrw } from "@kuku/platform/krx";
import type { Engine, Execution, Listing, Side } from "./engine.js";
import { prng } from "./market-maker.js";

export interface BackgroundFlowOptions {
  readonly seed: number;
  /** Venue time between two rounds of orders. */
  readonly intervalMs: number;
  /** Orders per round, over random symbols; 0 switches the flow off. */
  readonly ordersPerTick: number;
  /** Each fair value's standard deviation over one trading day (6.5 hours), in basis points. */
  readonly dailyVolatilityBp: number;
}

const TRADING_DAY_MS = 6.5 * 60 * 60 * 1000;
/** Background orders a symbol keeps resting; older ones are cancelled. */
const RESTING_MAX = 40;

export class BackgroundFlow {
  readonly #random: () => number;
  readonly #fair = new Map<string, number>();
  readonly #resting = new Map<string, string[]>();
  readonly #previousLast = new Map<string, bigint>();
  #sequence = 0;

  constructor(
    private readonly engine: Engine,
    private readonly options: BackgroundFlowOptions,
  ) {
    if (options.intervalMs < 1 || options.ordersPerTick < 0 || options.dailyVolatilityBp < 0) {
      throw new Error(`invalid background flow options ${JSON.stringify(options)}`);
    }
    this.#random = prng(options.seed);
  }

  /** One round: every fair value moves one step, then `ordersPerTick` orders are placed. */
  tick(): { executions: Execution[]; symbols: Set<string> } {
    const listings = [...this.engine.listings()];
    for (const listing of listings) this.#step(listing);
    const executions: Execution[] = [];
    const symbols = new Set<string>();
    for (let n = 0; n < this.options.ordersPerTick; n++) {
      const listing = listings[Math.floor(this.#random() * listings.length)]!;
      if (listing.mode === "closed") continue;
      executions.push(...this.#trade(listing));
      symbols.add(listing.instrument.symbol);
    }
    return { executions, symbols };
  }

  /** The fair value one interval later: log-normal diffusion plus, about once a day, a jump. */
  #step(listing: Readonly<Listing>): void {
    const symbol = listing.instrument.symbol;
    const fair = this.#fair.get(symbol) ?? Number(listing.referencePriceKrw);
    const dt = this.options.intervalMs / TRADING_DAY_MS;
    const sigma = this.options.dailyVolatilityBp / 10_000;
    let move = -0.5 * sigma * sigma * dt + sigma * Math.sqrt(dt) * this.#gaussian();
    if (this.#random() < dt) move += 3 * sigma * this.#gaussian();
    const { lowerLimitKrw, upperLimitKrw } = listing.limits;
    this.#fair.set(symbol, Math.min(Number(upperLimitKrw), Math.max(Number(lowerLimitKrw), fair * Math.exp(move))));
  }

  #trade(listing: Readonly<Listing>): readonly Execution[] {
    const symbol = listing.instrument.symbol;
    const fairKrw = this.#onLadder(listing, this.#fair.get(symbol)!);
    const lastKrw = listing.lastPriceKrw ?? listing.referencePriceKrw;
    const previousKrw = this.#previousLast.get(symbol) ?? lastKrw;
    this.#previousLast.set(symbol, lastKrw);
    const kind = this.#random();
    // Noise: either side, a few ticks around the fair value. Momentum: with the last move. Mean reversion: towards fair.
    const side: Side =
      kind < 0.6
        ? this.#random() < 0.5
          ? "buy"
          : "sell"
        : kind < 0.8
          ? lastKrw >= previousKrw
            ? "buy"
            : "sell"
          : lastKrw <= fairKrw
            ? "buy"
            : "sell";
    const ticks = BigInt(Math.floor(this.#random() * 7) - 3);
    const priceKrw = this.#onLadder(listing, Number(fairKrw + ticks * tickSizeKrw(fairKrw)));
    const quantity = 1 + Math.floor(this.#random() * 50);
    const clientOrderId = `bg-${symbol}-${++this.#sequence}`;
    const result = this.engine.submit({ clientOrderId, symbol, side, type: "limit", timeInForce: "day", quantity, priceKrw });
    if (result.order.remaining > 0) this.#remember(symbol, clientOrderId);
    return result.executions;
  }

  /** Keeps a bounded number of background orders resting per symbol: the oldest is cancelled. */
  #remember(symbol: string, clientOrderId: string): void {
    const resting = this.#resting.get(symbol) ?? [];
    resting.push(clientOrderId);
    this.#resting.set(symbol, resting);
    if (resting.length > RESTING_MAX) this.engine.cancel(resting.shift()!);
  }

  #onLadder(listing: Readonly<Listing>, priceKrw: number): bigint {
    const { lowerLimitKrw, upperLimitKrw } = listing.limits;
    const rounded = roundToTick(BigInt(Math.max(1, Math.round(priceKrw))), "down");
    if (rounded > upperLimitKrw) return upperLimitKrw;
    // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.max cannot take
    return rounded < lowerLimitKrw ? lowerLimitKrw : rounded;
  }

  /** Box-Muller: a standard normal draw from two uniform ones. */
  #gaussian(): number {
    const u = 1 - this.#random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.#random());
  }
}
