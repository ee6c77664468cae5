import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { type ServiceRegistration, serviceOf } from "@kuku/platform";
import { invalidArgument } from "@kuku/platform/errors";
import { orderToProto, stateToProto } from "../app/convert.js";
import type { OrderApp } from "../app/order-app.js";

// Page tokens: the last order's (created_at, order_id), opaque to clients.
const encodeToken = (o: { createdAt: Date; orderId: string }) =>
  Buffer.from(`${o.createdAt.toISOString()}|${o.orderId}`).toString("base64url");
function decodeToken(token: string): { createdAt: Date; orderId: string } | undefined {
  if (token === "") return undefined;
  const [at, orderId] = Buffer.from(token, "base64url").toString().split("|");
  const createdAt = new Date(at ?? "");
  if (orderId === undefined || Number.isNaN(createdAt.getTime())) throw invalidArgument("page_token", "not a token this service issued");
  return { createdAt, orderId };
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
