import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as api from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import { type ServiceRegistration, serviceOf } from "@kuku/platform";
import { codeOf, DomainError } from "@kuku/platform/errors";
import { sellTaxPpm } from "@kuku/platform/krx";
import type { DeskWithFaults } from "../app/faults.js";
import { isWorking, type OrderRecord } from "../domain/engine.js";
import { executionToProto, faultModeFromProto, faultModeToProto, phaseToProto, statusToProto, submitFromProto } from "./convert.js";

/** What is still working at the exchange (a waiting stop included): nothing once the order is done. */
const working = (o: OrderRecord) => (isWorking(o) ? o.quantity - o.filledQuantity : 0);

function submitAnswer(session: string, order: OrderRecord): api.SubmitOrderResponse {
  return create(api.SubmitOrderResponseSchema, {
    clientOrderId: order.clientOrderId,
    status: statusToProto(order.status),
    rejectReason: order.rejectReason,
    fills: order.fills.map((e) => executionToProto(session, e)),
    remainingQuantity: BigInt(working(order)),
    quantity: BigInt(order.quantity),
  });
}

export function exchangeHandlers(desk: DeskWithFaults): ServiceRegistration {
  return serviceOf(api.ExchangeService, {
    submitOrder: async (req, ctx) => submitAnswer(desk.sessionId, (await desk.submit(submitFromProto(req), ctx.signal)).order),
    // An order's DomainError is its own answer (the status its SubmitOrder would get); anything else fails the call.
    submitOrders: async (req, ctx) => {
      const results = await desk.submitAll(req.orders.map(submitFromProto), ctx.signal);
      return create(api.SubmitOrdersResponseSchema, {
        results: results.map((result): MessageInitShape<typeof api.SubmitOrderResultSchema> => {
          if (result instanceof DomainError)
            return { result: { case: "error", value: { code: codeOf(result.kind), message: result.message } } };
          if (result instanceof Error) throw result;
          return { result: { case: "order", value: submitAnswer(desk.sessionId, result.order) } };
        }),
      });
    },
    cancelOrder: async (req) => {
      const { order, cancelledQuantity } = await desk.cancel(req.clientOrderId);
      return create(api.CancelOrderResponseSchema, { status: statusToProto(order.status), cancelledQuantity: BigInt(cancelledQuantity) });
    },
    orderStatus: async (req) => {
      const order = desk.status(req.clientOrderId);
      if (order === undefined) {
        return create(api.OrderStatusResponseSchema, { clientOrderId: req.clientOrderId, status: api.ExchangeOrderStatus.NOT_FOUND });
      }
      return create(api.OrderStatusResponseSchema, {
        clientOrderId: order.clientOrderId,
        status: statusToProto(order.status),
        filledQuantity: BigInt(order.filledQuantity),
        remainingQuantity: BigInt(working(order)),
        fills: order.fills.map((e) => executionToProto(desk.sessionId, e)),
        quantity: BigInt(order.quantity),
      });
    },
    setFaultMode: async (req) => {
      const setting = { mode: faultModeFromProto(req.mode), delayMs: req.delayMs, percent: req.percent };
      desk.setFault(setting);
      return create(api.SetFaultModeResponseSchema, { mode: faultModeToProto(setting.mode) });
    },
    closeSession: async () => create(api.CloseSessionResponseSchema, { expiredOrders: BigInt((await desk.closeSession()).length) }),
    listInstruments: async () => {
      const { tradingDay } = desk.phase;
      return create(api.ListInstrumentsResponseSchema, {
        instruments: desk.listings().map(({ listing, phase }) => ({
          symbol: listing.instrument.symbol,
          name: listing.instrument.name,
          referencePriceKrw: listing.referencePriceKrw,
          upperLimitKrw: listing.limits.upperLimitKrw,
          lowerLimitKrw: listing.limits.lowerLimitKrw,
          market: listing.instrument.market,
          phase: phaseToProto(phase),
          ...(listing.viUntilMs === 0 ? {} : { viUntil: timestampFromDate(new Date(listing.viUntilMs)) }),
          lastPriceKrw: listing.lastPriceKrw ?? 0n,
          tradingDay,
          sellTaxPpm: sellTaxPpm(listing.instrument.market, tradingDay),
        })),
      });
    },
  });
}
