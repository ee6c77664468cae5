// The order use cases: intake with idempotency keys, the hold, the trip to
// the exchange, fills and their settlement, and the reconciliation of
// orders whose fate is unknown. The database transaction covers our own
// tables; calls to the ledger and the exchange carry idempotent ids
// (request ids, client order id = order id), so any step can run again.
import { createHash, randomUUID } from "node:crypto";
import { create, toBinary, toJson } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as orderEvents from "@kuku/contracts/kuku/order/v1/events_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { forEachConcurrently, type Logger, neverSent, traceHeaders, withTransaction } from "@kuku/platform";
import type pg from "pg";
import { applyFill, checkOrderInput, type FeeSchedule, holdAmountMinor, type Instrument, type Order, transition } from "../domain/order.js";
import { planSettlement } from "../domain/settlement.js";
import { FILLS_FINISHED_STATES, reportedState } from "../domain/state-machine.js";
import * as store from "../store/order-store.js";
import { type ExchangeReport, inputFromProto, orderToProto, reportFromProto, stateToProto, submitRequest } from "./convert.js";
import type { LedgerAccounts } from "./ledger-accounts.js";
import type { OrderMetrics } from "./metrics.js";

export const ORDER_EVENTS_TOPIC = "order.events";
const EXECUTIONS_CONSUMER = "exchange.executions";

/** An expected failure, with the gRPC code it is answered with. */
export class OrderFailure extends Error {
  override name = "OrderFailure";
  constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
  }
}

export interface OrdersDeps {
  readonly pool: pg.Pool;
  readonly ledger: Client<typeof ledger.LedgerService>;
  readonly exchange: Client<typeof exchange.ExchangeService>;
  readonly accounts: LedgerAccounts;
  readonly instruments: ReadonlyMap<string, Instrument>;
  readonly fees: FeeSchedule;
  readonly exchangeTimeoutMs: number;
  /** Orders the reconciler works on at once: after an outage hundreds wait, each a few round trips. */
  readonly reconcileConcurrency: number;
  readonly logger: Logger;
  readonly metrics: OrderMetrics;
}

export class Orders {
  constructor(private readonly deps: OrdersDeps) {}

  // --- intake --------------------------------------------------------------

  async place(req: api.PlaceOrderRequest): Promise<Order> {
    const input = inputFromProto(req);
    const instrument = this.deps.instruments.get(input.symbol);
    const problem = checkOrderInput(input, instrument);
    if (problem !== undefined) throw new OrderFailure(Code.InvalidArgument, `${problem.field}: ${problem.reason}`);
    const now = new Date();
    const candidate: Order = {
      orderId: randomUUID(),
      userId: req.userId,
      ...input,
      filledQuantity: 0n,
      filledNotionalKrw: 0n,
      feesKrw: 0n,
      state: "received",
      rejectReason: "",
      holdId: "",
      holdAmountMinor: holdAmountMinor(input, instrument!, this.deps.fees),
      holdReleased: false,
      version: 0n,
      createdAt: now,
      updatedAt: now,
    };
    // The key's payload: everything but the key itself.
    const hash = createHash("sha256")
      .update(JSON.stringify(toJson(api.PlaceOrderRequestSchema, { ...req, idempotencyKey: "" })))
      .digest();
    const inserted = await withTransaction(this.deps.pool, async (db) => {
      const r = await store.insertOrder(db, candidate, req.idempotencyKey, hash);
      if (r.kind === "inserted") {
        await store.recordFirstTransition(db, r.order, "placed");
        await store.insertOutbox(db, this.#event(r.order, "placed"));
      }
      return r;
    });
    if (inserted.kind === "exists") {
      if (!inserted.requestHash.equals(hash)) {
        throw new OrderFailure(Code.AlreadyExists, `idempotency_key: ${req.idempotencyKey} was already used for a different order`);
      }
      return this.#replay(inserted.order);
    }
    return this.#advance(inserted.order);
  }

  /** A replay answers what the first request answered, from the order's state. */
  #replay(order: Order): Order {
    if (order.state === "rejected" && order.holdId === "" && order.rejectReason.startsWith("insufficient")) {
      throw new OrderFailure(Code.FailedPrecondition, order.rejectReason);
    }
    return order;
  }

  /** Drives an order from RECEIVED (hold) and SENT (exchange) as far as it goes now. */
  async #advance(order: Order): Promise<Order> {
    let current = order;
    if (current.state === "received") {
      const accountId = await this.deps.accounts.user(current.userId, current.side === "buy" ? "KRW" : current.symbol);
      let holdId: string;
      try {
        const { hold } = await this.deps.ledger.placeHold(
          create(ledger.PlaceHoldRequestSchema, {
            requestId: `hold-${current.orderId}`,
            accountId,
            amountMinor: current.holdAmountMinor,
            reference: current.orderId,
          }),
        );
        holdId = hold!.holdId;
      } catch (error) {
        if (error instanceof ConnectError && error.code === Code.FailedPrecondition) {
          const reason = `insufficient ${current.side === "buy" ? "cash" : `${current.symbol} shares`}: ${error.rawMessage}`;
          await this.#change(current.orderId, (o) => transition(o, "rejected", new Date(), reason), "hold refused");
          throw new OrderFailure(Code.FailedPrecondition, reason);
        }
        throw error; // RECEIVED stays; the reconciler places the same hold again (same request id)
      }
      current = await this.#change(
        current.orderId,
        (o) => (o.state === "received" ? transition({ ...o, holdId }, "sent", new Date()) : undefined),
        "hold placed",
      );
    }
    if (current.state !== "sent") return current;
    let answer: exchange.SubmitOrderResponse;
    try {
      answer = await this.deps.exchange.submitOrder(submitRequest(current), { timeoutMs: this.deps.exchangeTimeoutMs });
    } catch (error) {
      // No answer is not a "no": the order may well be trading. Only the exchange's record can tell.
      // Even a local refusal (open circuit, full bulkhead) does not prove the exchange never saw the
      // order: another replica or the reconciler may have sent it. The reconciler fences before rejecting.
      const reason = neverSent(error)
        ? `not sent by this attempt: ${(error as ConnectError).rawMessage}`
        : error instanceof ConnectError
          ? `exchange did not answer: ${error.code === Code.DeadlineExceeded ? "timeout" : Code[error.code]}`
          : "exchange call failed";
      this.deps.logger.warn({ orderId: current.orderId, err: error }, "order in doubt");
      const changed = await this.#change(
        current.orderId,
        (o) => (o.state === "sent" ? transition(o, "unknown", new Date(), o.rejectReason) : undefined),
        reason,
      );
      if (changed.state === "unknown") this.deps.metrics.unknown();
      return changed;
    }
    return this.applyReport(current.orderId, reportFromProto(answer.status, answer.rejectReason, answer.fills));
  }

  // --- what the exchange says ------------------------------------------------

  /**
   * Applies the exchange's word on an order (a SubmitOrder answer, an
   * execution event, an OrderStatus): new fills, then the status, then the
   * ledger work. Safe to apply any number of times, in any order.
   */
  async applyReport(orderId: string, report: ExchangeReport, eventId?: string): Promise<Order> {
    for (const fill of report.fills) {
      await withTransaction(this.deps.pool, async (db) => {
        const order = await store.getOrder(db, orderId, { forUpdate: true });
        if (order === undefined) return;
        if (eventId !== undefined && !(await store.markProcessed(db, EXECUTIONS_CONSUMER, eventId))) return;
        // Known fills first: a fill seen again must not be judged against the order it already changed.
        if (await store.fillExists(db, fill.executionId)) return;
        const applied = applyFill(order, fill, this.deps.fees, new Date());
        if (applied.kind !== "ok") {
          this.deps.logger.error({ orderId, fill: fill.executionId, from: applied.from }, "fill refused by the state machine");
          return;
        }
        const inserted = await store.insertFill(db, orderId, fill, applied.fillFeeKrw, fill.executedAt);
        if (!inserted) throw new Error(`invariant violated: fill ${fill.executionId} appeared under the order's row lock`);
        await store.saveOrder(db, order, applied.order, `fill ${fill.executionId}`, this.#event(applied.order, `fill ${fill.executionId}`));
      });
    }
    let order = await this.#change(
      orderId,
      (o) => {
        const to = reportedState(o.state, report.status);
        return to === undefined ? undefined : transition(o, to, new Date(), to === "rejected" ? report.rejectReason : o.rejectReason);
      },
      `exchange: ${report.status}`,
    );
    order = await this.settle(order.orderId);
    return order;
  }

  // --- the ledger side ------------------------------------------------------------

  /** Settles every unsettled fill, then releases what the hold no longer needs. */
  async settle(orderId: string): Promise<Order> {
    let order = await this.#get(orderId);
    const fills = await store.unsettledFills(this.deps.pool, orderId);
    if (fills.length > 0) {
      const accounts = await this.deps.accounts.forSettlement(order.userId, order.symbol);
      for (const fill of fills) {
        const plan = planSettlement(order.side, fill, fill.feeKrw, accounts);
        await this.deps.ledger.settleHold(
          create(ledger.SettleHoldRequestSchema, {
            requestId: `settle-${fill.executionId}`,
            debits: [{ holdId: order.holdId, amountMinor: plan.holdDebitMinor }],
            legs: plan.legs.map((l) => ({ accountId: l.accountId, asset: accounts.assetOf.get(l.accountId)!, amountMinor: l.amountMinor })),
            metadata: { order_id: orderId, execution_id: fill.executionId },
          }),
        );
        const lagS = await store.markFillSettled(this.deps.pool, fill.executionId);
        if (lagS !== undefined) this.deps.metrics.settled(lagS);
      }
    }
    if (!FILLS_FINISHED_STATES.includes(order.state) || order.holdReleased || order.holdId === "") return order;
    const { hold } = await this.deps.ledger.getHold({ holdId: order.holdId });
    const remainingMinor = hold!.amountMinor - hold!.settledMinor - hold!.releasedMinor;
    if (remainingMinor > 0n) {
      await this.deps.ledger.releaseHold(
        create(ledger.ReleaseHoldRequestSchema, { requestId: `release-${orderId}`, holdId: order.holdId }),
      );
    }
    order = await this.#change(
      orderId,
      (o) => {
        if (o.holdReleased) return undefined;
        const released = { ...o, holdReleased: true };
        return o.state === "filled"
          ? transition(released, "settled", new Date())
          : { kind: "ok", order: { ...released, version: o.version + 1n, updatedAt: new Date() } };
      },
      remainingMinor > 0n ? `released ${remainingMinor} of the hold` : "hold used up",
    );
    return order;
  }

  // --- reconciliation ---------------------------------------------------------

  /**
   * Resolves orders in doubt from the exchange's record (run on a schedule
   * and at start-up): UNKNOWN, SENT for longer than the exchange timeout,
   * RECEIVED whose hold call failed, CANCEL_REQUESTED whose cancel was lost;
   * then finishes ledger work left over by a crash or an outage.
   */
  async reconcile(): Promise<{ resolved: number; settled: number }> {
    const stale = new Date(Date.now() - this.deps.exchangeTimeoutMs);
    const stuck = await store.ordersStuckIn(this.deps.pool, ["unknown", "sent", "received", "cancel_requested"], stale, 200);
    let resolved = 0;
    await forEachConcurrently(stuck, this.deps.reconcileConcurrency, async (order) => {
      try {
        if (order.state === "received") await this.#advance(order);
        else if (order.state === "cancel_requested") await this.#sendCancel(order);
        else await this.#resolveInDoubt(order);
        resolved++;
      } catch (error) {
        this.deps.logger.warn({ orderId: order.orderId, state: order.state, err: error }, "reconciliation attempt failed; will retry");
      }
    });
    let settled = 0;
    const unsettled = await store.ordersWithLedgerWork(this.deps.pool, FILLS_FINISHED_STATES, 200);
    await forEachConcurrently(unsettled, this.deps.reconcileConcurrency, async (orderId) => {
      try {
        await this.settle(orderId);
        settled++;
      } catch (error) {
        this.deps.logger.warn({ orderId, err: error }, "settlement attempt failed; will retry");
      }
    });
    return { resolved, settled };
  }

  async #resolveInDoubt(order: Order): Promise<void> {
    const status = await this.deps.exchange.orderStatus({ clientOrderId: order.orderId }, { timeoutMs: this.deps.exchangeTimeoutMs });
    if (status.status !== exchange.ExchangeOrderStatus.NOT_FOUND) {
      await this.applyReport(order.orderId, reportFromProto(status.status, "", status.fills));
      return;
    }
    // Never arrived: fence the id at the exchange so a late arrival cannot trade, then give up on it.
    const fenced = await this.deps.exchange.cancelOrder({ clientOrderId: order.orderId }, { timeoutMs: this.deps.exchangeTimeoutMs });
    if (fenced.status === exchange.ExchangeOrderStatus.REJECTED) {
      await this.applyReport(order.orderId, {
        status: "rejected",
        rejectReason: "never reached the exchange (fenced by the reconciler)",
        fills: [],
      });
    }
    // Otherwise it arrived meanwhile: the next round reads its status.
  }

  // --- cancel and reads ---------------------------------------------------------

  async cancel(req: api.CancelOrderRequest): Promise<Order> {
    const order = await this.get(req.orderId, req.userId);
    if (order.state === "accepted" || order.state === "partially_filled") {
      const requested = await this.#change(
        order.orderId,
        (o) => transition(o, "cancel_requested", new Date()),
        "cancel requested by the user",
      );
      return this.#sendCancel(requested);
    }
    if (order.state === "cancel_requested") return this.#sendCancel(order);
    if (order.state === "received" || order.state === "sent" || order.state === "unknown") {
      throw new OrderFailure(
        Code.FailedPrecondition,
        `order_id: ${order.orderId} is on its way to the exchange (${order.state}); try again shortly`,
      );
    }
    throw new OrderFailure(Code.FailedPrecondition, `order_id: ${order.orderId} is ${order.state} and cannot be cancelled`);
  }

  async #sendCancel(order: Order): Promise<Order> {
    await this.deps.exchange.cancelOrder({ clientOrderId: order.orderId }, { timeoutMs: this.deps.exchangeTimeoutMs });
    // Whatever the cancel did, the record says what the order now is (fills may have won the race).
    const status = await this.deps.exchange.orderStatus({ clientOrderId: order.orderId }, { timeoutMs: this.deps.exchangeTimeoutMs });
    return this.applyReport(order.orderId, reportFromProto(status.status, "", status.fills));
  }

  /** The user's own order; another user's order is as good as absent. */
  async get(orderId: string, userId: string): Promise<Order> {
    const order = await store.getOrder(this.deps.pool, orderId);
    if (order === undefined || order.userId !== userId) throw new OrderFailure(Code.NotFound, `order_id: ${orderId} not found`);
    return order;
  }

  list(userId: string, before: { createdAt: Date; orderId: string } | undefined, pageSize: number): Promise<Order[]> {
    return store.listOrders(this.deps.pool, userId, before, pageSize);
  }

  async transitions(orderId: string, userId: string) {
    await this.get(orderId, userId);
    return store.transitionsOf(this.deps.pool, orderId);
  }

  // --- plumbing -------------------------------------------------------------------

  async #get(orderId: string): Promise<Order> {
    const order = await store.getOrder(this.deps.pool, orderId);
    if (order === undefined) throw new Error(`invariant violated: order ${orderId} vanished`);
    return order;
  }

  /**
   * Changes one order under its row lock: `next` gets the current version and
   * returns the new one (undefined: nothing to do). An illegal transition is
   * logged and not applied.
   */
  async #change(orderId: string, next: (o: Order) => ReturnType<typeof transition> | undefined, reason: string): Promise<Order> {
    return withTransaction(this.deps.pool, async (db) => {
      const order = await store.getOrder(db, orderId, { forUpdate: true });
      if (order === undefined) throw new Error(`invariant violated: order ${orderId} vanished`);
      const result = next(order);
      if (result === undefined) return order;
      if (result.kind === "illegal") {
        this.deps.logger.error({ orderId, from: result.from, to: result.to, reason }, "illegal transition refused");
        return order;
      }
      await store.saveOrder(
        db,
        order,
        result.order,
        reason,
        result.order.state === order.state ? undefined : this.#event(result.order, reason),
      );
      return result.order;
    });
  }

  #event(order: Order, reason: string): store.OutboxEvent {
    const eventId = randomUUID();
    const event = create(orderEvents.OrderEventSchema, {
      eventId,
      state: stateToProto(order.state),
      order: orderToProto(order),
      reason,
      occurredAt: timestampFromDate(order.updatedAt),
    });
    return {
      eventId,
      topic: ORDER_EVENTS_TOPIC,
      key: order.orderId,
      payload: toBinary(orderEvents.OrderEventSchema, event),
      traceHeaders: traceHeaders(),
    };
  }
}
