// The order records every use case shares: one order read, or changed with
// its transition and its outbox event in one statement, guarded by the
// order's version (or, for several steps at once, under its row lock).
// The database transaction covers our own tables; calls to the ledger and
// the exchange carry idempotent ids (request ids, client order id = order
// id), so any step of any use case can run again.
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as orderEvents from "@kuku/contracts/kuku/order/v1/events_pb";
import { ORDER_EVENTS } from "@kuku/contracts/topics";
import { type Logger, traceHeaders, withTransaction } from "@kuku/platform";
import { assert } from "@kuku/platform/assert";
import type pg from "pg";
import type { Fill, Order, TransitionResult } from "../domain/order.js";
import type { OrderState } from "../domain/state-machine.js";
import * as store from "../store/order-store.js";
import { orderToProto, stateToProto } from "./convert.js";

export const ORDER_EVENTS_TOPIC = ORDER_EVENTS.name;

/** A change that keeps meeting concurrent writers is tried this often: each retry means another writer succeeded. */
const CHANGE_ATTEMPTS_MAX = 50;

/** The next version of an order (undefined: nothing to do). */
export type OrderChange = (order: Order) => TransitionResult | undefined;

export class OrderRecords {
  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
  ) {}

  /** An order we know exists (it is never deleted). */
  async get(orderId: string): Promise<Order> {
    const order = await store.getOrder(this.pool, orderId);
    assert(order !== undefined, `order ${orderId} vanished`);
    return order;
  }

  /**
   * Changes one order: `next` gets the current version (`known`, if the
   * caller has it) and returns the new
   * one, written only if the order is still at that version (else read again
   * and retried), so two round trips, no transaction held open. An illegal
   * transition is logged and not applied.
   */
  async change(orderId: string, known: Order | undefined, next: OrderChange, reason: string): Promise<Order> {
    for (let attempt = 1; ; attempt++) {
      // A caller that has just read the order saves the first read; a conflict reads again.
      const order = attempt === 1 && known !== undefined ? known : await this.get(orderId);
      try {
        return await this.#apply(this.pool, order, next, reason);
      } catch (error) {
        if (!(error instanceof store.VersionConflict) || attempt === CHANGE_ATTEMPTS_MAX) throw error;
      }
    }
  }

  /** Runs `work` on the order, read under its row lock, in one transaction. */
  locked<T>(orderId: string, work: (db: pg.PoolClient, order: Order) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, async (db) => {
      const order = await store.getOrder(db, orderId, { forUpdate: true });
      assert(order !== undefined, `order ${orderId} vanished`);
      return work(db, order);
    });
  }

  async #apply(db: pg.Pool | pg.PoolClient, order: Order, next: OrderChange, reason: string): Promise<Order> {
    const result = next(order);
    if (result === undefined) return order;
    if (result.kind === "illegal") {
      this.logger.error({ orderId: order.orderId, from: result.from, to: result.to, reason }, "illegal transition refused");
      return order;
    }
    const event = result.order.state === order.state ? undefined : orderEvent(result.order, reason, { previousState: order.state });
    await store.saveOrder(db, order, result.order, reason, event);
    return result.order;
  }
}

/** What an event says besides the order: the state it left (none for a new order) and the fill it reports. */
export interface EventDetail {
  readonly previousState?: OrderState;
  readonly fill?: Fill & { readonly feeKrw: bigint; readonly taxKrw: bigint; readonly executedAt: Date };
}

/** The outbox event announcing an order's new state. */
export function orderEvent(order: Order, reason: string, detail: EventDetail = {}): store.OutboxEvent {
  const eventId = randomUUID();
  const { previousState, fill } = detail;
  const event = create(orderEvents.OrderEventSchema, {
    eventId,
    state: stateToProto(order.state),
    order: orderToProto(order),
    reason,
    occurredAt: timestampFromDate(order.updatedAt),
    ...(previousState === undefined ? {} : { previousState: stateToProto(previousState) }),
    fill: fill && { ...fill, executedAt: timestampFromDate(fill.executedAt) },
  });
  return {
    eventId,
    topic: ORDER_EVENTS_TOPIC,
    key: order.orderId,
    payload: toBinary(orderEvents.OrderEventSchema, event),
    traceHeaders: traceHeaders(),
  };
}
