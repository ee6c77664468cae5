// Cancel: asked of the exchange, whose record then says what the order is.
import type { Client } from "@connectrpc/connect";
import type * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import type * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { failedPrecondition } from "@kuku/platform/errors";
import { isWorkingState, type Order, transition } from "../domain/order.js";
import { reportFromProto } from "./convert.js";
import type { OrderRecords } from "./orders.js";
import type { Queries } from "./queries.js";
import type { Settlement } from "./settlement.js";

export interface CancellationDeps {
  readonly exchange: Client<typeof exchange.ExchangeService>;
  readonly exchangeTimeoutMs: number;
  readonly records: OrderRecords;
  readonly settlement: Settlement;
  readonly queries: Queries;
}

export class Cancellation {
  constructor(private readonly deps: CancellationDeps) {}

  async cancel(req: api.CancelOrderRequest): Promise<Order> {
    const order = await this.deps.queries.get(req.orderId, req.userId);
    if (isWorkingState(order.state)) {
      const requested = await this.deps.records.change(
        order.orderId,
        order,
        (o) => transition(o, "cancel_requested", new Date()),
        "cancel requested by the user",
      );
      return this.send(requested);
    }
    if (order.state === "cancel_requested") return this.send(order);
    if (order.state === "received" || order.state === "sent" || order.state === "unknown") {
      throw failedPrecondition(`order_id: ${order.orderId} is on its way to the exchange (${order.state}); try again shortly`);
    }
    throw failedPrecondition(`order_id: ${order.orderId} is ${order.state} and cannot be cancelled`);
  }

  /** Sends the cancel of a CANCEL_REQUESTED order (again: the exchange's cancel is idempotent). */
  async send(order: Order): Promise<Order> {
    const options = { timeoutMs: this.deps.exchangeTimeoutMs };
    await this.deps.exchange.cancelOrder({ clientOrderId: order.orderId }, options);
    // Whatever the cancel did, the record says what the order now is (fills may have won the race).
    const status = await this.deps.exchange.orderStatus({ clientOrderId: order.orderId }, options);
    return this.deps.settlement.applyReport(order.orderId, reportFromProto(status.status, "", status.fills, status.quantity));
  }
}
