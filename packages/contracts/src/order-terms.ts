// An order's side, type and time in force as the domains spell them ("buy",
// "limit", "ioc") and as the contracts do (kuku.trading.v1), converted in one
// place for the order service, the exchange and the bench.
import { OrderType, Side, TimeInForce } from "./gen/kuku/trading/v1/trading_pb.js";

/**
 * `best`: 최유리 지정가; `top`: 최우선 지정가; `conditional`: 조건부 지정가;
 * `stop`/`stop_limit`: held by the venue until the last trade reaches the stop price.
 */
export type OrderTypeName = "limit" | "market" | "best" | "top" | "conditional" | "stop" | "stop_limit";
export type TimeInForceName = "day" | "ioc" | "fok" | "gtc";

export interface OrderTerms {
  readonly side: "buy" | "sell";
  readonly type: OrderTypeName;
  readonly timeInForce: TimeInForceName;
}

export interface OrderTermsProto {
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
}

export const ORDER_TYPES: Readonly<Record<OrderTypeName, OrderType>> = {
  limit: OrderType.LIMIT,
  market: OrderType.MARKET,
  best: OrderType.BEST_OPPOSITE,
  top: OrderType.BEST_SAME_SIDE,
  conditional: OrderType.CONDITIONAL_LIMIT,
  stop: OrderType.STOP,
  stop_limit: OrderType.STOP_LIMIT,
};
export const TIMES_IN_FORCE: Readonly<Record<TimeInForceName, TimeInForce>> = {
  day: TimeInForce.DAY,
  ioc: TimeInForce.IOC,
  fok: TimeInForce.FOK,
  gtc: TimeInForce.GTC,
};
const invert = <K extends string, V extends number>(table: Readonly<Record<K, V>>) =>
  new Map(Object.entries(table).map(([name, value]) => [value as V, name as K]));
const TYPE_NAMES = invert(ORDER_TYPES);
const TIME_IN_FORCE_NAMES = invert(TIMES_IN_FORCE);

export const sideToProto = (side: OrderTerms["side"]): Side => (side === "buy" ? Side.BUY : Side.SELL);

export function termsToProto(terms: OrderTerms): OrderTermsProto {
  return { side: sideToProto(terms.side), type: ORDER_TYPES[terms.type], timeInForce: TIMES_IN_FORCE[terms.timeInForce] };
}

/** protovalidate refuses the UNSPECIFIED and undefined values before a request gets here. */
export function termsFromProto(terms: OrderTermsProto): OrderTerms {
  const type = TYPE_NAMES.get(terms.type);
  const timeInForce = TIME_IN_FORCE_NAMES.get(terms.timeInForce);
  if (type === undefined || timeInForce === undefined)
    throw new RangeError(`order terms ${terms.type}/${terms.timeInForce} are not defined`);
  return { side: terms.side === Side.BUY ? "buy" : "sell", type, timeInForce };
}
