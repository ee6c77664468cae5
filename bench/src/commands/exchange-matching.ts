import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Engine, type SubmitInput } from "@kuku/exchange/engine";
import { MarketMaker } from "@kuku/exchange/market-maker";
import { command, int } from "../lib/command.js";
import { Histogram, table } from "../lib/stats.js";

const SYMBOL = "005930";
const REFERENCE_KRW = 70_000n;
const TICK_KRW = 100n; // the KRX tick for 50,000..200,000 won

type ClassicInput = SubmitInput & { readonly type: "limit" | "market"; readonly timeInForce: "day" | "ioc" };

/** A deterministic order flow around the reference price: limits (DAY and IOC) and market orders. */
export function orderFlow(count: number, seed: number): ClassicInput[] {
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  return Array.from({ length: count }, (_, i) => {
    const side = random() < 0.5 ? "buy" : "sell";
    const kind = random();
    const quantity = 1 + Math.floor(random() * 100);
    if (kind < 0.1) return { clientOrderId: `o-${i}`, symbol: SYMBOL, side, type: "market", timeInForce: "ioc", quantity, priceKrw: 0n };
    const offsetTicks = BigInt(Math.floor(random() * 11) - 5);
    return {
      clientOrderId: `o-${i}`,
      symbol: SYMBOL,
      side,
      type: "limit",
      timeInForce: kind < 0.3 ? "ioc" : "day",
      quantity,
      priceKrw: REFERENCE_KRW + offsetTicks * TICK_KRW,
    };
  });
}

/**
 * The classic flow with KRX's order types mixed in: stop orders resting far
 * from the market (1 in 10; most never trigger, as in life), FOK, GTC, 최유리
 * and 최우선 limits, and an amend now and then of an order still working.
 */
export function krxOrderFlow(count: number, seed: number): SubmitInput[] {
  const classic = orderFlow(count, seed);
  return classic.map((input, i): SubmitInput => {
    switch (i % 20) {
      case 1:
      case 11: {
        const stopPriceKrw = REFERENCE_KRW + (input.side === "buy" ? 1n : -1n) * BigInt(20 + (i % 7)) * TICK_KRW;
        return { ...input, type: "stop", timeInForce: "day", priceKrw: 0n, stopPriceKrw };
      }
      case 3:
        return input.type === "limit" ? { ...input, timeInForce: "fok" } : input;
      case 5:
        return input.type === "limit" ? { ...input, timeInForce: "gtc" } : input;
      case 7:
        return { ...input, type: "best", timeInForce: "day", priceKrw: 0n };
      case 9:
        return { ...input, type: "top", timeInForce: "day", priceKrw: 0n };
      case 13: {
        const previous = classic[i - 1]!;
        return previous.type === "limit" && previous.timeInForce === "day"
          ? { ...previous, clientOrderId: `a-${i}`, quantity: Math.max(1, previous.quantity - 1), amends: previous.clientOrderId }
          : input;
      }
      default:
        return input;
    }
  });
}

/** One run of a flow through a fresh engine and market maker. */
export function runFlow(flow: readonly SubmitInput[], run: number) {
  const engine = new Engine(
    [{ symbol: SYMBOL, name: "Samsung Electronics", referencePriceKrw: REFERENCE_KRW, market: "KOSPI" }],
    `bench${run}`,
  );
  const maker = new MarketMaker(engine, { seed: 42, levels: 10, minQuantity: 100, maxQuantity: 1_000 });
  maker.quoteAll();
  const latency = new Histogram();
  let executions = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < flow.length; i++) {
    // Time every 64th order only: the clock read costs as much as a match.
    if ((i & 63) === 0) {
      const t0 = process.hrtime.bigint();
      executions += engine.submit(flow[i]!).executions.length;
      latency.record(Number(process.hrtime.bigint() - t0) / 1_000);
    } else {
      executions += engine.submit(flow[i]!).executions.length;
    }
    if ((i & 1023) === 0) maker.quote(SYMBOL);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { executions, seconds, latency };
}

export const exchangeMatching = command({
  name: "exchange matching",
  summary: "in-process matching engine throughput (orders/s) and per-order latency",
  options: {
    orders: int("orders submitted per run", 1000000),
    runs: int("runs (the first warms the JIT up)", 3),
    seed: int("order flow seed", 1, 0),
  },
  async run(values) {
    const { orders: count, runs } = values;
    const flows = { classic: orderFlow(count, values.seed), krx: krxOrderFlow(count, values.seed) };
    const rows: (string | number)[][] = [];
    const best = { classic: 0, krx: 0 };
    // Each run starts from a collected heap, not with the last run's million orders.
    setFlagsFromString("--expose-gc");
    const collect = runInNewContext("gc") as () => void;
    // The two flows alternate run by run, so both see the same machine (it is shared).
    for (let run = 1; run <= runs; run++) {
      for (const name of ["classic", "krx"] as const) {
        collect();
        const { executions, seconds, latency } = runFlow(flows[name], run);
        const perSecond = Math.round(count / seconds);
        if (run > 1) best[name] = Math.max(best[name], perSecond);
        rows.push([
          run,
          name,
          count,
          executions,
          seconds.toFixed(2),
          perSecond,
          latency.percentile(50).toFixed(2),
          latency.percentile(99).toFixed(2),
        ]);
      }
    }
    console.log(`exchange matching — one symbol, ${count} orders per run`);
    console.log("  classic: 10 % market, 20 % IOC, 70 % DAY limits within ±5 ticks");
    console.log("  krx: the same with 10 % stop orders (resting 20+ ticks away), 5 % each FOK, GTC, 최유리, 최우선 and amends");
    console.log(table(["run", "flow", "orders", "executions", "seconds", "orders/s", "p50 µs", "p99 µs"], rows));
    console.log(`best after warm-up: classic ${best.classic} orders/s, krx ${best.krx} orders/s (goal 500,000)`);
  },
});
