// Between the contract's messages and the engine's values.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as api from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { sideToProto } from "@kuku/contracts/order-terms";
import { type ExchangeStatus, type Execution, executionId, type SubmitInput } from "../domain/engine.js";
import type { FaultMode } from "../domain/faults.js";
import type { SymbolPhase } from "../domain/venue.js";

const STATUS: Record<ExchangeStatus, api.ExchangeOrderStatus> = {
  accepted: api.ExchangeOrderStatus.ACCEPTED,
  partially_filled: api.ExchangeOrderStatus.PARTIALLY_FILLED,
  filled: api.ExchangeOrderStatus.FILLED,
  cancelled: api.ExchangeOrderStatus.CANCELLED,
  rejected: api.ExchangeOrderStatus.REJECTED,
  expired: api.ExchangeOrderStatus.EXPIRED,
  waiting: api.ExchangeOrderStatus.WAITING,
};

const PHASES: Record<SymbolPhase, api.TradingPhase> = {
  closed: api.TradingPhase.CLOSED,
  preopen: api.TradingPhase.PRE_OPEN_AUCTION,
  continuous: api.TradingPhase.CONTINUOUS,
  closing: api.TradingPhase.CLOSING_AUCTION,
  volatility: api.TradingPhase.VOLATILITY_AUCTION,
};

export const phaseToProto = (phase: SymbolPhase): api.TradingPhase => PHASES[phase];

// The exchange takes every order type of the contract (the order service's shared terms cover only limit and market).
const TYPES: Record<number, SubmitInput["type"]> = {
  [OrderType.LIMIT]: "limit",
  [OrderType.MARKET]: "market",
  [OrderType.BEST_OPPOSITE]: "best",
  [OrderType.BEST_SAME_SIDE]: "top",
  [OrderType.CONDITIONAL_LIMIT]: "conditional",
  [OrderType.STOP]: "stop",
  [OrderType.STOP_LIMIT]: "stop_limit",
};
const TIME_IN_FORCE: Record<number, SubmitInput["timeInForce"]> = {
  [TimeInForce.DAY]: "day",
  [TimeInForce.IOC]: "ioc",
  [TimeInForce.FOK]: "fok",
  [TimeInForce.GTC]: "gtc",
};

export const statusToProto = (status: ExchangeStatus): api.ExchangeOrderStatus => STATUS[status];

export function executionToProto(session: string, e: Execution): api.Fill {
  return create(api.FillSchema, {
    executionId: executionId(session, e),
    clientOrderId: e.clientOrderId,
    symbol: e.symbol,
    side: sideToProto(e.side),
    quantity: BigInt(e.quantity),
    priceKrw: e.priceKrw,
    executedAt: timestampFromDate(e.executedAt),
  });
}

/** protovalidate has checked the enums (defined, not unspecified) and ranges; quantity <= 1e9 fits a number. */
export function submitFromProto(req: api.SubmitOrderRequest): SubmitInput {
  return {
    clientOrderId: req.clientOrderId,
    symbol: req.symbol,
    side: req.side === Side.BUY ? "buy" : "sell",
    type: TYPES[req.type]!,
    timeInForce: TIME_IN_FORCE[req.timeInForce]!,
    quantity: Number(req.quantity),
    priceKrw: req.priceKrw,
    ...(req.stopPriceKrw === 0n ? {} : { stopPriceKrw: req.stopPriceKrw }),
    ...(req.amendsClientOrderId === "" ? {} : { amends: req.amendsClientOrderId }),
    ...(req.amendsFilledQuantity === undefined ? {} : { amendsFilledQuantity: Number(req.amendsFilledQuantity) }),
  };
}

const FAULT_MODES: Record<number, FaultMode> = {
  [api.FaultMode.NONE]: "none",
  [api.FaultMode.DELAY]: "delay",
  [api.FaultMode.SILENT]: "silent",
  [api.FaultMode.DUPLICATE]: "duplicate",
  [api.FaultMode.REJECT]: "reject",
  [api.FaultMode.DOWN]: "down",
};
export const faultModeFromProto = (mode: api.FaultMode): FaultMode => FAULT_MODES[mode] ?? "none";
export const faultModeToProto = (mode: FaultMode): api.FaultMode =>
  Number(Object.entries(FAULT_MODES).find(([, m]) => m === mode)![0]) as api.FaultMode;
