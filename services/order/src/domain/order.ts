import { assert } from "@kuku/platform/assert";
import { dailyPriceLimits, isOnTick, KRX_ORDER_TYPES, type KrxOrderType, type KrxTimeInForce, tickSizeKrw } from "@kuku/platform/krx";
import { canTransition, type OrderState } from "./state-machine.js";

export type Side = "buy" | "sell";
export type OrderType = KrxOrderType;
export type TimeInForce = KrxTimeInForce;

export interface Instrument {
  readonly symbol: string;
  readonly referencePriceKrw: bigint;
}

export interface Order {
  readonly orderId: string;
  readonly userId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly quantity: bigint;
  /** 0 for the types the venue prices (market, best, top, stop). */
  readonly limitPriceKrw: bigint;
  /** Stop and stop-limit orders: the trigger price; 0 otherwise. */
  readonly stopPriceKrw: bigint;
  /** An amendment (정정): the order it replaces; "" otherwise. */
  readonly amendsOrderId: string;
  /** An amendment: the original's filled quantity when it was made (the venue caps the replacement by what the original filled after); 0 otherwise. */
  readonly amendsFilledQuantity: bigint;
  readonly filledQuantity: bigint;
  readonly filledNotionalKrw: bigint;
  readonly feesKrw: bigint;
  readonly state: OrderState;
  readonly rejectReason: string;
  /** What the ledger holds for the order: cash for a buy, shares for a sell. */
  readonly holdId: string;
  /** What this order added to its hold: the whole hold, or an amendment's top-up (0 when the original's covers it). */
  readonly holdAmountMinor: bigint;
  /** The hold is shared along an amendment chain (released once every order on it is done). */
  readonly holdShared: boolean;
  readonly holdReleased: boolean;
  readonly version: bigint;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface Fill {
  readonly executionId: string;
  readonly quantity: bigint;
  readonly priceKrw: bigint;
}

export interface FeeSchedule {
  /** Commission on every fill, parts per million of the notional. */
  readonly commissionPpm: bigint;
  /** Securities transaction tax on sells, parts per million. */
  readonly sellTaxPpm: bigint;
}

const PPM = 1_000_000n;
// Math.max and Math.min take no bigint.
const larger = (a: bigint, b: bigint) => (a > b ? a : b);
const smaller = (a: bigint, b: bigint) => (a < b ? a : b);
const largest = (...xs: bigint[]) => xs.reduce(larger);
const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;

/**
 * What a notional costs: the commission and (on sells) the securities
 * transaction tax, each rounded up on its own, so that a fill's share of
 * each is known (chargesOfFill) and the two add up to feeKrw.
 */
export function chargesKrw(schedule: FeeSchedule, side: Side, notionalKrw: bigint): { commissionKrw: bigint; taxKrw: bigint } {
  return {
    commissionKrw: ceilDiv(notionalKrw * schedule.commissionPpm, PPM),
    taxKrw: side === "sell" ? ceilDiv(notionalKrw * schedule.sellTaxPpm, PPM) : 0n,
  };
}

export function feeKrw(schedule: FeeSchedule, side: Side, notionalKrw: bigint): bigint {
  const { commissionKrw, taxKrw } = chargesKrw(schedule, side, notionalKrw);
  return commissionKrw + taxKrw;
}

/** One fill's commission and tax: what it added to each, the order's filled notional going from `beforeKrw` to `afterKrw`. */
export function chargesOfFill(schedule: FeeSchedule, side: Side, beforeKrw: bigint, afterKrw: bigint): { feeKrw: bigint; taxKrw: bigint } {
  const before = chargesKrw(schedule, side, beforeKrw);
  const after = chargesKrw(schedule, side, afterKrw);
  return { feeKrw: after.commissionKrw - before.commissionKrw, taxKrw: after.taxKrw - before.taxKrw };
}

export type OrderInput = Pick<Order, "symbol" | "side" | "type" | "timeInForce" | "quantity" | "limitPriceKrw" | "stopPriceKrw">;

export type InputProblem = { readonly field: string; readonly reason: string };

/** Checks an order against the market's rules; undefined when it is fine. */
export function checkOrderInput(input: OrderInput, instrument: Instrument | undefined): InputProblem | undefined {
  if (instrument === undefined) return { field: "symbol", reason: `${input.symbol} is not listed` };
  if (input.quantity <= 0n) return { field: "quantity", reason: "must be positive" };
  const rules = KRX_ORDER_TYPES[input.type];
  if (!rules.tifs.includes(input.timeInForce)) {
    return { field: "time_in_force", reason: `a ${input.type} order takes ${rules.tifs.map((t) => t.toUpperCase()).join(", ")}` };
  }
  // A stop buy that turns into a market order on a later day could fill above the upper limit it was held at.
  if (input.type === "stop" && input.timeInForce === "gtc" && input.side === "buy") {
    return {
      field: "time_in_force",
      reason: "a stop buy cannot be GTC: tomorrow's upper limit, its worst fill, is not known today (use stop-limit)",
    };
  }
  const limits = dailyPriceLimits(instrument.referencePriceKrw);
  for (const [field, priceKrw, wanted] of [
    ["limit_price_krw", input.limitPriceKrw, rules.priced],
    ["stop_price_krw", input.stopPriceKrw, rules.stop],
  ] as const) {
    if (!wanted) {
      if (priceKrw !== 0n) return { field, reason: `must be 0 for a ${input.type} order` };
      continue;
    }
    if (priceKrw <= 0n) return { field, reason: `a ${input.type} order needs one` };
    if (!isOnTick(priceKrw)) {
      return { field, reason: `${priceKrw} is not on the KRX tick ladder (tick ${tickSizeKrw(priceKrw)} won at this price)` };
    }
    if (priceKrw > limits.upperLimitKrw || priceKrw < limits.lowerLimitKrw) {
      return { field, reason: `${priceKrw} is outside today's limits ${limits.lowerLimitKrw}..${limits.upperLimitKrw}` };
    }
  }
  return undefined;
}

/** Where the venue still works an order, so that it can be amended (or cancelled). */
export const WORKING_STATES: readonly OrderState[] = ["accepted", "partially_filled", "waiting"];
export const isWorkingState = (state: OrderState): boolean => WORKING_STATES.includes(state);

/**
 * The replacement an amendment (정정) asks for: the original's symbol, side,
 * type and time in force with new prices and quantity (for what is left:
 * the original's fills stay its own). A problem names the field.
 */
export function amendmentInput(
  original: Order,
  change: Pick<OrderInput, "quantity" | "limitPriceKrw" | "stopPriceKrw">,
  instrument: Instrument | undefined,
): { readonly input: OrderInput } | { readonly problem: InputProblem } {
  const { quantity, limitPriceKrw, stopPriceKrw } = change;
  const { symbol, side, type, timeInForce } = original;
  const input: OrderInput = { symbol, side, type, timeInForce, quantity, limitPriceKrw, stopPriceKrw };
  const problem = checkOrderInput(input, instrument);
  if (problem !== undefined) return { problem };
  const unchanged =
    change.quantity === original.quantity - original.filledQuantity &&
    change.limitPriceKrw === original.limitPriceKrw &&
    change.stopPriceKrw === original.stopPriceKrw;
  if (unchanged) return { problem: { field: "quantity", reason: "the amendment changes neither price nor quantity" } };
  return { input };
}

/**
 * The worst price a buy can fill at: its limit, or for the types the venue
 * prices or turns into market orders, the daily upper limit (the venue's
 * market collar keeps fills inside it). A stop-limit fills at its limit.
 */
export function worstBuyPriceKrw(input: Pick<OrderInput, "type" | "limitPriceKrw">, instrument: Instrument): bigint {
  return KRX_ORDER_TYPES[input.type].marketLike ? dailyPriceLimits(instrument.referencePriceKrw).upperLimitKrw : input.limitPriceKrw;
}

/**
 * What the ledger must hold before the order goes out: for a buy, the cash
 * for the worst fill plus its fee; for a sell, the shares (its fee is taken
 * from the proceeds).
 */
export function holdAmountMinor(input: OrderInput, instrument: Instrument, fees: FeeSchedule): bigint {
  if (input.side === "sell") return input.quantity;
  const notionalKrw = worstBuyPriceKrw(input, instrument) * input.quantity;
  return notionalKrw + feeKrw(fees, "buy", notionalKrw);
}

/**
 * What an amendment adds to the hold it shares with the order it amends. The
 * venue swaps the two at some point after the original has filled k more of
 * its R unfilled shares (0 <= k <= R, unknown here), and caps the replacement
 * at Q - k, so together they use at most cost_O(F + k) + cost_N(Q - k), F
 * being the original's fills so far. The original's part of the hold covers
 * cost_O(F + R) (its whole quantity); the top-up is the worst case over k
 * beyond that. Between 0 and min(R, Q) the sum is linear in k but for the
 * commission's rounding up (< 1 won per order), so its ends bound it, give
 * or take one won when the two prices are less than 2 won apart (a steeper
 * line keeps every inner point below its higher end); beyond Q only the
 * original trades.
 */
export function amendmentTopUpMinor(original: Order, replacement: OrderInput, instrument: Instrument, fees: FeeSchedule): bigint {
  assert(isWorkingState(original.state) && original.holdId !== "", `order ${original.orderId} is not a held working order`);
  const filled = original.filledQuantity;
  const unfilled = original.quantity - filled;
  const q = replacement.quantity;
  const costOriginal = (shares: bigint) => holdAmountMinor({ ...original, quantity: shares }, instrument, fees);
  // k never passes min(R, Q): the replacement's part is never below 0 shares.
  const both = (k: bigint) => costOriginal(filled + k) + holdAmountMinor({ ...replacement, quantity: q - k }, instrument, fees);
  const overlap = smaller(unfilled, q);
  const apart = worstBuyPriceKrw(original, instrument) - worstBuyPriceKrw(replacement, instrument);
  const rounding = original.side === "buy" && overlap > 0n && apart < 2n && apart > -2n ? 1n : 0n;
  const onlyOriginal = costOriginal(filled + unfilled);
  return largest(both(0n) + rounding, both(overlap) + rounding, onlyOriginal) - onlyOriginal;
}

/**
 * What the order's fills took from its hold: for a buy, the notional and the
 * fees (the fees of all fills add up to the fee of the whole); for a sell,
 * the shares (its fee comes out of the proceeds).
 */
export function holdUsedMinor(order: Order): bigint {
  return order.side === "buy" ? order.filledNotionalKrw + order.feesKrw : order.filledQuantity;
}

export type TransitionResult =
  | { readonly kind: "ok"; readonly order: Order }
  | { readonly kind: "illegal"; readonly from: OrderState; readonly to: OrderState };

export type FillResult =
  | { readonly kind: "ok"; readonly order: Order; readonly fillFeeKrw: bigint }
  | { readonly kind: "illegal"; readonly from: OrderState; readonly to: OrderState };

export function transition(order: Order, to: OrderState, now: Date, rejectReason = order.rejectReason): TransitionResult {
  if (!canTransition(order.state, to)) return { kind: "illegal", from: order.state, to };
  return { kind: "ok", order: { ...order, state: to, rejectReason, version: order.version + 1n, updatedAt: now } };
}

/**
 * The order after one more fill, and that fill's fee. Fees are computed on
 * the cumulative notional, so that the fees of all fills add up to the fee
 * of the whole (never more than what the hold reserved for it).
 */
export function applyFill(order: Order, fill: Fill, fees: FeeSchedule, now: Date): FillResult {
  const filledQuantity = order.filledQuantity + fill.quantity;
  assert(
    fill.quantity > 0n && filledQuantity <= order.quantity,
    `fill ${fill.executionId} of ${fill.quantity} overfills order ${order.orderId}`,
  );
  const filledNotionalKrw = order.filledNotionalKrw + fill.priceKrw * fill.quantity;
  const feesKrw = feeKrw(fees, order.side, filledNotionalKrw);
  const next = transition(order, filledQuantity === order.quantity ? "filled" : "partially_filled", now);
  if (next.kind !== "ok") return next;
  return { kind: "ok", order: { ...next.order, filledQuantity, filledNotionalKrw, feesKrw }, fillFeeKrw: feesKrw - order.feesKrw };
}
