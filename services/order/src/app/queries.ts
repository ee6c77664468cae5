// Reads: a user sees their own orders only.
import { notFound } from "@kuku/platform/errors";
import type pg from "pg";
import type { Order } from "../domain/order.js";
import * as store from "../store/order-store.js";

// Our client order ids are order ids (UUIDs); anything else is not ours and never reaches SQL.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class Queries {
  constructor(private readonly pool: pg.Pool) {}

  /** The user's own order; another user's order is as good as absent. */
  async get(orderId: string, userId: string): Promise<Order> {
    const order = await store.getOrder(this.pool, orderId);
    if (order === undefined || order.userId !== userId) throw notFound("order_id", orderId);
    return order;
  }

  list(userId: string, before: { createdAt: Date; orderId: string } | undefined, pageSize: number): Promise<Order[]> {
    return store.listOrders(this.pool, userId, before, pageSize);
  }

  async transitions(orderId: string, userId: string) {
    await this.get(orderId, userId);
    return store.transitionsOf(this.pool, orderId);
  }

  /** Which exchange client order ids are our orders (not the market maker's, nor another broker's): one query for a batch. */
  async oursAmong(clientOrderIds: readonly string[]): Promise<ReadonlySet<string>> {
    const candidates = clientOrderIds.filter((id) => UUID.test(id));
    return candidates.length === 0 ? new Set() : new Set(await store.existingOrderIds(this.pool, candidates));
  }
}
