// Between the contract's messages and the engine's values.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as api from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import { sideToProto, termsFromProto } from "@kuku/contracts/order-terms";
import { type ExchangeStatus, type Execution, executionId, type SubmitInput } from "../domain/engine.js";
import type { FaultMode } from "../domain/faults.js";

const STATUS: Record<ExchangeStatus, api.ExchangeOrderStatus> = {
  accepted: api.ExchangeOrderStatus.ACCEPTED,
  partially_filled: api.ExchangeOrderStatus.PARTIALLY_FILLED,
  filled: api.ExchangeOrderStatus.FILLED,
  cancelled: api.ExchangeOrderStatus.CANCELLED,
  rejected: api.ExchangeOrderStatus.REJECTED,
  expired: api.ExchangeOrderStatus.EXPIRED,
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

/** protovalidate has checked the enums and ranges; quantity <= 1e9 fits a number. */
export function submitFromProto(req: api.SubmitOrderRequest): SubmitInput {
  return {
    clientOrderId: req.clientOrderId,
    symbol: req.symbol,
    ...termsFromProto(req),
    quantity: Number(req.quantity),
    priceKrw: req.priceKrw,
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
