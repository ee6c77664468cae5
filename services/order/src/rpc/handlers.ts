import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { type ServiceRegistration, serviceOf } from "@kuku/platform";
import { invalidArgument } from "@kuku/platform/errors";
import { fillToProto, orderToProto, realizedToProto, stateFromProto, stateToProto } from "../app/convert.js";
import type { OrderApp } from "../app/order-app.js";
import type { Order } from "../domain/order.js";

// Page tokens: the last row's (time, id), opaque to clients. A token is
// checked to be exactly what encodeToken writes before it reaches SQL: a
// crafted one (bad id, out-of-range date) is the caller's error, not a
// failed cast (INTERNAL).
const ORDER_TOKEN = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
// Execution ids are the exchange's: printable, without the separator.
const FILL_TOKEN = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([\x21-\x7b\x7d\x7e]{1,128})$/;
const encodeToken = (at: Date, id: string) => Buffer.from(`${at.toISOString()}|${id}`).toString("base64url");
function decodeToken(token: string, shape: RegExp): { at: Date; id: string } | undefined {
  if (token === "") return undefined;
  const match = shape.exec(Buffer.from(token, "base64url").toString());
  const at = new Date(match?.[1] ?? "");
  // Round-trips only for a real calendar date (no 2024-02-30T25:00).
  if (match?.[2] === undefined || Number.isNaN(at.getTime()) || at.toISOString() !== match[1]) {
    throw invalidArgument("page_token", "not a token this service issued");
  }
  return { at, id: match[2] };
}

/** Time kept back from the caller's deadline for the answer's way back. */
const ANSWER_MARGIN_MS = 100;

const dateOf = (t: Timestamp | undefined) => (t === undefined ? undefined : timestampDate(t));

/** A range whose end is not after its start is a mistake, not an empty answer. */
function checkRange(from: Date | undefined, before: Date | undefined, field: string): void {
  if (from !== undefined && before !== undefined && before <= from) throw invalidArgument(field, "must be after the start of the range");
}

// DomainErrors thrown by the use cases reach the caller through the server's error mapping.
export function orderHandlers(
  { intake, cancellation, queries }: Pick<OrderApp, "intake" | "cancellation" | "queries">,
  options: { pageSizeDefault: number },
): ServiceRegistration {
  const pageSizeOf = (requested: number) => (requested === 0 ? options.pageSizeDefault : requested);
  const withTaxes = async (orders: readonly Order[]) => {
    const taxes = await queries.taxes(orders.filter((o) => o.side === "sell").map((o) => o.orderId));
    return orders.map((o) => orderToProto(o, taxes.get(o.orderId)));
  };
  return serviceOf(api.OrderService, {
    // A wait for settlement ends in time to answer within the caller's deadline.
    placeOrder: async (req, ctx) =>
      create(api.PlaceOrderResponseSchema, {
        order: orderToProto(
          await intake.place(req, Math.min(req.waitSettledMs, (ctx.timeoutMs() ?? Number.POSITIVE_INFINITY) - ANSWER_MARGIN_MS)),
        ),
      }),
    amendOrder: async (req) =>
      create(api.AmendOrderResponseSchema, { order: orderToProto(await intake.amend(req, await queries.get(req.orderId, req.userId))) }),
    cancelOrder: async (req) => create(api.CancelOrderResponseSchema, { order: orderToProto(await cancellation.cancel(req)) }),
    getOrder: async (req) =>
      create(api.GetOrderResponseSchema, { order: (await withTaxes([await queries.get(req.orderId, req.userId)]))[0] }),
    listOrders: async (req) => {
      const pageSize = pageSizeOf(req.pageSize);
      const filter = {
        states: req.states.map(stateFromProto),
        createdFrom: dateOf(req.createdFrom),
        createdBefore: dateOf(req.createdBefore),
      };
      checkRange(filter.createdFrom, filter.createdBefore, "created_before");
      const after = decodeToken(req.pageToken, ORDER_TOKEN);
      const page = await queries.list(req.userId, after && { createdAt: after.at, orderId: after.id }, pageSize, filter);
      const last = page.at(-1);
      return create(api.ListOrdersResponseSchema, {
        orders: await withTaxes(page),
        nextPageToken: page.length === pageSize && last !== undefined ? encodeToken(last.createdAt, last.orderId) : "",
      });
    },
    listOrderTransitions: async (req) =>
      create(api.ListOrderTransitionsResponseSchema, {
        transitions: (await queries.transitions(req.orderId, req.userId)).map((x) => ({
          fromState: x.from === null ? api.OrderState.UNSPECIFIED : stateToProto(x.from),
          toState: stateToProto(x.to),
          reason: x.reason,
          occurredAt: timestampFromDate(x.occurredAt),
        })),
      }),
    listFills: async (req) => {
      const pageSize = pageSizeOf(req.pageSize);
      const filter = {
        orderId: req.orderId || undefined,
        executedFrom: dateOf(req.executedFrom),
        executedBefore: dateOf(req.executedBefore),
      };
      checkRange(filter.executedFrom, filter.executedBefore, "executed_before");
      const after = decodeToken(req.pageToken, FILL_TOKEN);
      const page = await queries.fills(req.userId, filter, after && { executedAt: after.at, executionId: after.id }, pageSize);
      const last = page.at(-1);
      return create(api.ListFillsResponseSchema, {
        fills: page.map(fillToProto),
        nextPageToken: page.length === pageSize && last !== undefined ? encodeToken(last.executedAt, last.executionId) : "",
      });
    },
    getPositionCosts: async (req) => {
      const { positions, realized } = await queries.positionCosts(req.userId, req.settledFrom && timestampDate(req.settledFrom));
      return create(api.GetPositionCostsResponseSchema, { positions, realized: realized.reverse().map(realizedToProto) });
    },
    getFeeSchedule: () =>
      create(api.GetFeeScheduleResponseSchema, { commissionPpm: queries.fees.commissionPpm, sellTaxPpm: queries.fees.sellTaxPpm }),
  });
}
