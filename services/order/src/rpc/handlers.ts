import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { type ServiceRegistration, serviceOf } from "@kuku/platform";
import { orderToProto, stateToProto } from "../app/convert.js";
import { OrderFailure, type Orders } from "../app/orders.js";

async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof OrderFailure) throw new ConnectError(error.message, error.code);
    throw error;
  }
}

// Page tokens: the last order's (created_at, order_id), opaque to clients.
const encodeToken = (o: { createdAt: Date; orderId: string }) =>
  Buffer.from(`${o.createdAt.toISOString()}|${o.orderId}`).toString("base64url");
function decodeToken(token: string): { createdAt: Date; orderId: string } | undefined {
  if (token === "") return undefined;
  const [at, orderId] = Buffer.from(token, "base64url").toString().split("|");
  const createdAt = new Date(at ?? "");
  if (orderId === undefined || Number.isNaN(createdAt.getTime()))
    throw new OrderFailure(Code.InvalidArgument, "page_token: not a token this service issued");
  return { createdAt, orderId };
}

export function orderHandlers(orders: Orders, options: { pageSizeDefault: number }): ServiceRegistration {
  return serviceOf(api.OrderService, {
    placeOrder: (req) => mapped(async () => create(api.PlaceOrderResponseSchema, { order: orderToProto(await orders.place(req)) })),
    cancelOrder: (req) => mapped(async () => create(api.CancelOrderResponseSchema, { order: orderToProto(await orders.cancel(req)) })),
    getOrder: (req) =>
      mapped(async () => create(api.GetOrderResponseSchema, { order: orderToProto(await orders.get(req.orderId, req.userId)) })),
    listOrders: (req) =>
      mapped(async () => {
        const pageSize = req.pageSize === 0 ? options.pageSizeDefault : req.pageSize;
        const page = await orders.list(req.userId, decodeToken(req.pageToken), pageSize);
        const last = page.at(-1);
        return create(api.ListOrdersResponseSchema, {
          orders: page.map(orderToProto),
          nextPageToken: page.length === pageSize && last !== undefined ? encodeToken(last) : "",
        });
      }),
    listOrderTransitions: (req) =>
      mapped(async () =>
        create(api.ListOrderTransitionsResponseSchema, {
          transitions: (await orders.transitions(req.orderId, req.userId)).map((x) => ({
            fromState: x.from === null ? api.OrderState.UNSPECIFIED : stateToProto(x.from),
            toState: stateToProto(x.to),
            reason: x.reason,
            occurredAt: timestampFromDate(x.occurredAt),
          })),
        }),
      ),
  });
}
