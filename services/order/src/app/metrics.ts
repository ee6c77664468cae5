// The order service's business metrics, on the platform's (prom-client's
// default) registry next to the RPC, PostgreSQL, Kafka and runtime ones.

import { promClient } from "@kuku/platform";
import type pg from "pg";
import { ORDER_STATES } from "../domain/state-machine.js";
import { countOrdersByState, countSettlementRefused } from "../store/order-store.js";

export interface OrderMetrics {
  /** An order went UNKNOWN: the exchange did not answer in time. */
  unknown(): void;
  /** A fill was settled in the ledger, `lagS` seconds after its execution. */
  settled(lagS: number): void;
  /** The ledger refused an order's settlement (its fills' settles and its release, a linked chain). */
  settlementRefused(): void;
  /** A batch of `size` orders took one step of intake (insert, hold, submit, record) together. */
  intakeBatch(step: string, size: number): void;
}

export function createOrderMetrics(pool: pg.Pool): OrderMetrics {
  // Read from the database at scrape time: the truth shared by every
  // replica (so aggregate with max(), not sum()), and right after a restart.
  new promClient.Gauge({
    name: "kuku_orders",
    help: "Orders in each state (every state listed, zero included).",
    labelNames: ["state"],
    async collect() {
      let counts: Map<string, number>;
      try {
        counts = await countOrdersByState(pool);
      } catch {
        // A database outage must not fail the whole scrape (it is when the other series matter most): the series go absent.
        this.reset();
        return;
      }
      for (const state of ORDER_STATES) this.set({ state }, counts.get(state) ?? 0);
    },
  });
  const unknown = new promClient.Counter({
    name: "kuku_orders_unknown_total",
    help: "Orders this replica marked UNKNOWN because the exchange did not answer in time.",
  });
  const settlementLag = new promClient.Histogram({
    name: "kuku_settlement_lag_seconds",
    help: "Time from a fill's execution at the exchange to its settlement in the ledger.",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  });
  new promClient.Gauge({
    name: "kuku_orders_settlement_refused",
    help: "Orders whose settlement the ledger refused and that no later try has settled (read from the database).",
    async collect() {
      try {
        this.set(await countSettlementRefused(pool));
      } catch {
        this.reset();
      }
    },
  });
  const refused = new promClient.Counter({
    name: "kuku_settlement_refusals_total",
    help: "Settlements of an order (its fills and its release, one linked chain) the ledger refused; each retry that is refused again counts.",
  });
  const intakeBatch = new promClient.Histogram({
    name: "kuku_order_intake_batch_size",
    help: "Orders per batch at each step of intake (insert, hold, submit, record): the work PlaceOrders shared.",
    labelNames: ["step"],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  });
  return {
    unknown: () => unknown.inc(),
    settled: (lagS) => settlementLag.observe(lagS),
    settlementRefused: () => refused.inc(),
    intakeBatch: (step, size) => intakeBatch.observe({ step }, size),
  };
}
