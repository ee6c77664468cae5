import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { type ServiceRegistration, serviceOf } from "@kuku/platform";
import { invalidArgument } from "@kuku/platform/errors";
import { orderToProto, stateToProto } from "../app/convert.js";
import type { OrderApp } from "../app/order-app.js";

// Page tokens: the last order's (created_at, order_id), opaque to clients.
// A token is checked to be exactly what encodeToken writes before it reaches
// SQL: a crafted one (bad uuid, out-of-range date) is the caller's error, not
// a failed cast (INTERNAL).
const TOKEN = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const encodeToken = (o: { createdAt: Date; orderId: string }) =>
  Buffer.from(`${o.createdAt.toISOString()}|${o.orderId}`).toString("base64url");
function decodeToken(token: string): { createdAt: Date; orderId: string } | undefined {
  if (token === "") return undefined;
  const match = TOKEN.exec(Buffer.from(token, "base64url").toString());
  const createdAt = new Date(match?.[1] ?? "");
  // Round-trips only for a real calendar date (no 2024-02-30T25:00).
  if (match?.[2] === undefined || Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== match[1]) {
    throw invalidArgument("page_token", "not a token this service issued");
  }
  return { createdAt, orderId: match[2] };
}

/** Time kept back from the caller's deadline for the answer's way back. */
const ANSWER_MARGIN_MS = 100;

// DomainErrors thrown by the use cases reach the caller through the server's error mapping.
export function orderHandlers(
  { intake, cancellation, queries }: Pick<OrderApp, "intake" | "cancellation" | "queries">,
  options: { pageSizeDefault: number },
): ServiceRegistration {
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
    getOrder: async (req) => create(api.GetOrderResponseSchema, { order: orderToProto(await queries.get(req.orderId, req.userId)) }),
    listOrders: async (req) => {
      const pageSize = req.pageSize === 0 ? options.pageSizeDefault : req.pageSize;
      const page = await queries.list(req.userId, decodeToken(req.pageToken), pageSize);
      const last = page.at(-1);
      return create(api.ListOrdersResponseSchema, {
        orders: page.map(orderToProto),
        nextPageToken: page.length === pageSize && last !== undefined ? encodeToken(last) : "",
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
  });
}
