// Between the contracts and the order domain.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { sideToProto, termsFromProto, termsToProto } from "@kuku/contracts/order-terms";
import { assert } from "@kuku/platform/assert";
import type { Order, OrderInput } from "../domain/order.js";
import type { RealizedTrade } from "../domain/position-costs.js";
import type { OrderState, ReportedStatus } from "../domain/state-machine.js";
import type { UserFill } from "../store/order-store.js";

const STATES: Record<OrderState, api.OrderState> = {
  received: api.OrderState.RECEIVED,
  sent: api.OrderState.SENT,
  accepted: api.OrderState.ACCEPTED,
  partially_filled: api.OrderState.PARTIALLY_FILLED,
  filled: api.OrderState.FILLED,
  settled: api.OrderState.SETTLED,
  rejected: api.OrderState.REJECTED,
  cancel_requested: api.OrderState.CANCEL_REQUESTED,
  cancelled: api.OrderState.CANCELLED,
  expired: api.OrderState.EXPIRED,
  unknown: api.OrderState.UNKNOWN,
  waiting: api.OrderState.WAITING,
};

export const stateToProto = (state: OrderState): api.OrderState => STATES[state];

const STATE_OF = new Map(Object.entries(STATES).map(([state, proto]) => [proto, state as OrderState]));
/** A defined state (the request's rules refused any other). */
export function stateFromProto(state: api.OrderState): OrderState {
  const known = STATE_OF.get(state);
  assert(known !== undefined, `order state ${state} is not a state`);
  return known;
}

export function fillToProto(f: UserFill): api.Fill {
  return create(api.FillSchema, {
    executionId: f.executionId,
    orderId: f.orderId,
    symbol: f.symbol,
    side: sideToProto(f.side),
    quantity: f.quantity,
    priceKrw: f.priceKrw,
    feeKrw: f.feeKrw,
    taxKrw: f.taxKrw ?? 0n,
    executedAt: timestampFromDate(f.executedAt),
    settled: f.settled,
  });
}

export function realizedToProto(r: RealizedTrade): api.RealizedTrade {
  return create(api.RealizedTradeSchema, {
    executionId: r.fill.executionId,
    orderId: r.fill.orderId,
    symbol: r.fill.symbol,
    quantity: r.fill.quantity,
    priceKrw: r.fill.priceKrw,
    feeKrw: r.fill.feeKrw,
    taxKrw: r.fill.taxKrw,
    costBasisKrw: r.costBasisKrw,
    realizedPnlKrw: r.realizedPnlKrw,
    executedAt: timestampFromDate(r.fill.executedAt),
  });
}

/** The order; `taxKrw` is the tax within its fees, where the caller read it. */
export function orderToProto(o: Order, taxKrw = 0n): api.Order {
  return create(api.OrderSchema, {
    orderId: o.orderId,
    userId: o.userId,
    symbol: o.symbol,
    ...termsToProto(o),
    quantity: o.quantity,
    limitPriceKrw: o.limitPriceKrw,
    stopPriceKrw: o.stopPriceKrw,
    holdMinor: o.holdAmountMinor,
    amendsOrderId: o.amendsOrderId,
    filledQuantity: o.filledQuantity,
    filledNotionalKrw: o.filledNotionalKrw,
    feesKrw: o.feesKrw,
    taxKrw,
    state: stateToProto(o.state),
    rejectReason: o.rejectReason,
    version: o.version,
    createdAt: timestampFromDate(o.createdAt),
    updatedAt: timestampFromDate(o.updatedAt),
  });
}

export function inputFromProto(req: api.PlaceOrderRequest): OrderInput {
  return {
    symbol: req.symbol,
    ...termsFromProto(req),
    quantity: req.quantity,
    limitPriceKrw: req.limitPriceKrw,
    stopPriceKrw: req.stopPriceKrw,
  };
}

export function submitRequest(o: Order): exchange.SubmitOrderRequest {
  return create(exchange.SubmitOrderRequestSchema, {
    clientOrderId: o.orderId,
    symbol: o.symbol,
    ...termsToProto(o),
    quantity: o.quantity,
    priceKrw: o.limitPriceKrw,
    stopPriceKrw: o.stopPriceKrw,
    amendsClientOrderId: o.amendsOrderId,
    ...(o.amendsOrderId === "" ? {} : { amendsFilledQuantity: o.amendsFilledQuantity }),
  });
}

/** The exchange's word on an order, in domain terms. */
export interface ExchangeReport {
  readonly status: ReportedStatus;
  readonly rejectReason: string;
  readonly fills: readonly { executionId: string; quantity: bigint; priceKrw: bigint; executedAt: Date }[];
  /** The order's quantity at the venue (an amendment's after its cap); 0 when the word does not say. */
  readonly quantity: bigint;
}

const REPORT_STATUS: Record<number, ExchangeReport["status"]> = {
  [exchange.ExchangeOrderStatus.NOT_FOUND]: "not_found",
  [exchange.ExchangeOrderStatus.ACCEPTED]: "accepted",
  [exchange.ExchangeOrderStatus.WAITING]: "waiting",
  [exchange.ExchangeOrderStatus.PARTIALLY_FILLED]: "partially_filled",
  [exchange.ExchangeOrderStatus.FILLED]: "filled",
  [exchange.ExchangeOrderStatus.CANCELLED]: "cancelled",
  [exchange.ExchangeOrderStatus.REJECTED]: "rejected",
  [exchange.ExchangeOrderStatus.EXPIRED]: "expired",
};

export function reportFromProto(
  status: exchange.ExchangeOrderStatus,
  rejectReason: string,
  fills: readonly exchange.Fill[],
  quantity: bigint,
): ExchangeReport {
  const mapped = REPORT_STATUS[status];
  assert(mapped !== undefined, `exchange status ${status} is not a status`);
  return {
    status: mapped,
    rejectReason,
    quantity,
    fills: fills.map((f) => ({
      executionId: f.executionId,
      quantity: f.quantity,
      priceKrw: f.priceKrw,
      executedAt: f.executedAt === undefined ? new Date() : new Date(Number(f.executedAt.seconds) * 1000 + f.executedAt.nanos / 1e6),
    })),
  };
}
