// The order lifecycle as ONE explicit transition table. A transition that is
// not in the table is refused (and logged by the caller), never applied.

export type OrderState =
  | "received"
  | "sent"
  | "accepted"
  | "partially_filled"
  | "filled"
  | "settled"
  | "rejected"
  | "cancel_requested"
  | "cancelled"
  | "expired"
  | "unknown";

const TRANSITIONS: Readonly<Record<OrderState, readonly OrderState[]>> = {
  // Before the exchange has it: the hold may fail, or the user may cancel.
  received: ["sent", "rejected", "cancelled"],
  // Sent: the exchange answers, or does not (unknown).
  sent: ["accepted", "partially_filled", "filled", "rejected", "cancelled", "unknown"],
  // No answer: only the exchange's record can resolve it (the reconciler).
  unknown: ["accepted", "partially_filled", "filled", "rejected", "cancelled", "expired"],
  accepted: ["partially_filled", "filled", "cancel_requested", "cancelled", "expired"],
  partially_filled: ["partially_filled", "filled", "cancel_requested", "cancelled", "expired"],
  // Fills can still arrive while a cancel travels.
  cancel_requested: ["partially_filled", "filled", "cancelled", "expired"],
  filled: ["settled"],
  settled: [],
  rejected: [],
  cancelled: [],
  expired: [],
};

export const ORDER_STATES: readonly OrderState[] = Object.keys(TRANSITIONS) as OrderState[];

export const TERMINAL_STATES: ReadonlySet<OrderState> = new Set(
  (Object.keys(TRANSITIONS) as OrderState[]).filter((s) => TRANSITIONS[s].length === 0),
);

export function canTransition(from: OrderState, to: OrderState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isTerminal(state: OrderState): boolean {
  return TERMINAL_STATES.has(state);
}

/**
 * States after which no fill can arrive: whatever the order's hold still
 * covers can be released. Settlement and the reconciler's SQL both read this.
 */
export const FILLS_FINISHED_STATES: readonly OrderState[] = ["filled", "rejected", "cancelled", "expired"];
