// Reconciliation: orders whose fate is unknown are resolved from the
// exchange's record, and ledger work left over by a crash or an outage is
// finished; at start-up (orders left in doubt by the last run), then on a
// schedule.
import type { Client } from "@connectrpc/connect";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import { forEachConcurrently, type Logger } from "@kuku/platform";
import type pg from "pg";
import { type Order, WORKING_STATES } from "../domain/order.js";
import { FILLS_FINISHED_STATES } from "../domain/state-machine.js";
import * as store from "../store/order-store.js";
import type { Cancellation } from "./cancellation.js";
import { reportFromProto } from "./convert.js";
import type { Intake } from "./intake.js";
import type { Settlement } from "./settlement.js";

/** Orders looked at per round; the next round takes the rest. */
const BATCH_SIZE = 200;

export interface ReconcilerDeps {
  readonly pool: pg.Pool;
  readonly exchange: Client<typeof exchange.ExchangeService>;
  readonly exchangeTimeoutMs: number;
  /** Orders worked on at once: after an outage hundreds wait, each a few round trips. */
  readonly concurrency: number;
  readonly intervalMs: number;
  /** Ledger work younger than this is the executions consumer's; older work is finished here. */
  readonly settleGraceMs: number;
  readonly intake: Intake;
  readonly cancellation: Cancellation;
  readonly settlement: Settlement;
  readonly logger: Logger;
}

export class Reconciler {
  #timer: ReturnType<typeof setInterval> | undefined;
  #round: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ReconcilerDeps) {}

  /** Reconciles now, then every interval; one round at a time. */
  start(): void {
    this.#round = this.reconcile().then((r) => this.deps.logger.info(r, "start-up reconciliation"));
    this.#timer = setInterval(() => {
      this.#round = this.#round
        .then(() => this.reconcile())
        .catch((error: unknown) => this.deps.logger.error({ err: error }, "reconciliation failed"));
    }, this.deps.intervalMs);
  }

  /** Stops the schedule and waits for the round under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#round.catch(() => undefined);
  }

  /**
   * One round: UNKNOWN, SENT for longer than the exchange timeout, RECEIVED
   * whose hold call failed, CANCEL_REQUESTED whose cancel was lost; then
   * the ledger work of orders no fill can reach any more.
   */
  async reconcile(): Promise<{ resolved: number; settled: number }> {
    const resolved = (await this.#resolveStuck()) + (await this.#followAmended());
    const settled = await this.#settleLeftovers();
    return { resolved, settled };
  }

  async #resolveStuck(): Promise<number> {
    const stale = new Date(Date.now() - this.deps.exchangeTimeoutMs);
    const stuck = await store.ordersStuckIn(this.deps.pool, ["unknown", "sent", "received", "cancel_requested"], stale, BATCH_SIZE);
    let resolved = 0;
    await forEachConcurrently(stuck, this.deps.concurrency, async (order) => {
      try {
        if (order.state === "received") await this.deps.intake.advance(order);
        else if (order.state === "cancel_requested") await this.deps.cancellation.send(order);
        else await this.#resolveInDoubt(order);
        resolved++;
      } catch (error) {
        this.deps.logger.warn({ orderId: order.orderId, state: order.state, err: error }, "reconciliation attempt failed; will retry");
      }
    });
    return resolved;
  }

  /** Originals whose amendment the venue has answered, still working by our record (the in-line follow-up was lost). */
  async #followAmended(): Promise<number> {
    const stale = new Date(Date.now() - this.deps.exchangeTimeoutMs);
    const originals = await store.amendedOriginals(this.deps.pool, WORKING_STATES, stale, BATCH_SIZE);
    let followed = 0;
    await forEachConcurrently(originals, this.deps.concurrency, async (order) => {
      try {
        await this.deps.intake.followOriginal(order.orderId);
        followed++;
      } catch (error) {
        this.deps.logger.warn({ orderId: order.orderId, err: error }, "following an amended original failed; will retry");
      }
    });
    return followed;
  }

  /** The leftover ledger work of a round, in one SubmitBatch (a refused order is recorded, and tried again a grace period later). */
  async #settleLeftovers(): Promise<number> {
    const quietSince = new Date(Date.now() - this.deps.settleGraceMs);
    const unsettled = await store.ordersWithLedgerWork(this.deps.pool, FILLS_FINISHED_STATES, quietSince, BATCH_SIZE);
    try {
      return (await this.deps.settlement.settleOrders(unsettled)).applied;
    } catch (error) {
      this.deps.logger.warn({ orders: unsettled.length, err: error }, "settlement attempt failed; will retry");
      return 0;
    }
  }

  async #resolveInDoubt(order: Order): Promise<void> {
    const options = { timeoutMs: this.deps.exchangeTimeoutMs };
    const status = await this.deps.exchange.orderStatus({ clientOrderId: order.orderId }, options);
    if (status.status !== exchange.ExchangeOrderStatus.NOT_FOUND) {
      await this.deps.settlement.applyReport(order.orderId, reportFromProto(status.status, "", status.fills, status.quantity));
      return;
    }
    // Never arrived: fence the id at the exchange so a late arrival cannot trade, then give up on it.
    const fenced = await this.deps.exchange.cancelOrder({ clientOrderId: order.orderId }, options);
    if (fenced.status === exchange.ExchangeOrderStatus.REJECTED) {
      await this.deps.settlement.applyReport(order.orderId, {
        status: "rejected",
        rejectReason: "never reached the exchange (fenced by the reconciler)",
        fills: [],
        quantity: 0n,
      });
    }
    // Otherwise it arrived meanwhile: the next round reads its status.
  }
}
