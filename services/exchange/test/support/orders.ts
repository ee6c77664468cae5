// SubmitOrder requests for the exchange's process tests.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";

type Overrides = Partial<Omit<api.SubmitOrderRequest, "$typeName" | "$unknown">>;

/** A client order id that names what it is for. */
export const id = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

/** A market buy of 10 shares of 005930, unless `overrides` say otherwise. */
export const order = (clientOrderId: string, overrides: Overrides = {}) =>
  create(api.SubmitOrderRequestSchema, {
    clientOrderId,
    symbol: "005930",
    side: Side.BUY,
    type: OrderType.MARKET,
    timeInForce: TimeInForce.IOC,
    quantity: 10n,
    priceKrw: 0n,
    ...overrides,
  });

/**
 * A DAY limit in Kia at 95,000: in a fresh book the market maker quotes
 * 94,900 and 95,100, so orders at 95,000 meet only each other.
 */
export const kiaAt95000 = (clientOrderId: string, side: Side, quantity: bigint, more: Overrides = {}) =>
  order(clientOrderId, {
    symbol: "000270",
    side,
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.DAY,
    priceKrw: 95_000n,
    quantity,
    ...more,
  });
