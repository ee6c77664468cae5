// Reads: a user sees their own orders and fills only.
import { notFound } from "@kuku/platform/errors";
import type pg from "pg";
import type { FeeSchedule, Order } from "../domain/order.js";
import { positionCosts } from "../domain/position-costs.js";
import * as store from "../store/order-store.js";

// Our client order ids are order ids (UUIDs); anything else is not ours and never reaches SQL.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class Queries {
  constructor(
    private readonly pool: pg.Pool,
    readonly fees: FeeSchedule,
  ) {}

  /** The user's own order; another user's order is as good as absent. */
  async get(orderId: string, userId: string): Promise<Order> {
    const order = await store.getOrder(this.pool, orderId);
    if (order === undefined || order.userId !== userId) throw notFound("order_id", orderId);
    return order;
  }

  list(
    userId: string,
    before: { createdAt: Date; orderId: string } | undefined,
    pageSize: number,
    filter?: store.OrderFilter,
  ): Promise<Order[]> {
    return store.listOrders(this.pool, userId, before, pageSize, filter);
  }

  /** The tax within each order's fees. */
  taxes(orderIds: readonly string[]): Promise<Map<string, bigint>> {
    return orderIds.length === 0 ? Promise.resolve(new Map()) : store.taxesOf(this.pool, orderIds);
  }

  async transitions(orderId: string, userId: string) {
    await this.get(orderId, userId);
    return store.transitionsOf(this.pool, orderId);
  }

  /** The user's fills; of one order only when the filter names one, which must be theirs. */
  async fills(
    userId: string,
    filter: store.FillFilter,
    before: { executedAt: Date; executionId: string } | undefined,
    pageSize: number,
  ): Promise<store.UserFill[]> {
    if (filter.orderId !== undefined) await this.get(filter.orderId, userId);
    return store.listFills(this.pool, userId, filter, before, pageSize);
  }

  /** Cost basis and realised P&L from the user's settled fills (moving average). */
  async positionCosts(userId: string) {
    const fills = await store.settledFillsOfUser(this.pool, userId);
    return positionCosts(fills.map((f) => ({ ...f, taxKrw: f.taxKrw ?? 0n })));
  }

  /** Which exchange client order ids are our orders (not the market maker's, nor another broker's): one query for a batch. */
  async oursAmong(clientOrderIds: readonly string[]): Promise<ReadonlySet<string>> {
    const candidates = clientOrderIds.filter((id) => UUID.test(id));
    return candidates.length === 0 ? new Set() : new Set(await store.existingOrderIds(this.pool, candidates));
  }
}
