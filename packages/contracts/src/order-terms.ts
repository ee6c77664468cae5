// An order's side, type and time in force as the domains spell them ("buy",
// "limit", "ioc") and as the contracts do (kuku.trading.v1), converted in one
// place for the order service, the exchange and the bench.
import { OrderType, Side, TimeInForce } from "./gen/kuku/trading/v1/trading_pb.js";

export interface OrderTerms {
  readonly side: "buy" | "sell";
  readonly type: "limit" | "market";
  readonly timeInForce: "day" | "ioc";
}

export interface OrderTermsProto {
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
}

export const sideToProto = (side: OrderTerms["side"]): Side => (side === "buy" ? Side.BUY : Side.SELL);

export function termsToProto(terms: OrderTerms): OrderTermsProto {
  return {
    side: sideToProto(terms.side),
    type: terms.type === "market" ? OrderType.MARKET : OrderType.LIMIT,
    timeInForce: terms.timeInForce === "ioc" ? TimeInForce.IOC : TimeInForce.DAY,
  };
}

/** protovalidate refuses the UNSPECIFIED values before a request gets here. */
export function termsFromProto(terms: OrderTermsProto): OrderTerms {
  return {
    side: terms.side === Side.BUY ? "buy" : "sell",
    type: terms.type === OrderType.MARKET ? "market" : "limit",
    timeInForce: terms.timeInForce === TimeInForce.IOC ? "ioc" : "day",
  };
}
