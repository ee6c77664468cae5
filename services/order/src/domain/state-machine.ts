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
  | "unknown"
  | "waiting";

const TRANSITIONS: Readonly<Record<OrderState, readonly OrderState[]>> = {
  // Before the exchange has it: the hold may fail, or the user may cancel.
  received: ["sent", "rejected", "cancelled"],
  // Sent: the exchange answers, or does not (unknown).
  sent: ["accepted", "waiting", "partially_filled", "filled", "rejected", "cancelled", "unknown"],
  // No answer: only the exchange's record can resolve it (the reconciler).
  unknown: ["accepted", "waiting", "partially_filled", "filled", "rejected", "cancelled", "expired"],
  // A stop the venue holds: its trigger is the venue's event (accepted, or its fills), or the reconciler's read.
  waiting: ["accepted", "partially_filled", "filled", "cancel_requested", "cancelled", "expired"],
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
 * covers can be released. SETTLED too: an order's own hold is released by
 * then, but an amendment settled while another order of its chain still
 * works shares that order's hold, which must not wait for it. Settlement
 * and the reconciler's SQL both read this.
 */
export const FILLS_FINISHED_STATES: readonly OrderState[] = ["filled", "settled", "rejected", "cancelled", "expired"];

/** An order's status in the exchange's word (a SubmitOrder answer, an execution event, OrderStatus). */
export type ReportedStatus = "not_found" | "accepted" | "waiting" | "partially_filled" | "filled" | "cancelled" | "rejected" | "expired";

/**
 * The state the exchange's word moves an order to; undefined when it changes
 * nothing (fills have moved the state already, the order is past it, or the
 * word is older than what we know).
 */
export function reportedState(current: OrderState, reported: ReportedStatus): OrderState | undefined {
  const target = REPORTED_TARGET[reported];
  if (target === undefined || current === target || isTerminal(current)) return undefined;
  if (target === "accepted" && current !== "sent" && current !== "unknown" && current !== "waiting") return undefined;
  if (target === "waiting" && current !== "sent" && current !== "unknown") return undefined;
  if (target === "cancelled" && current === "filled") return undefined;
  // The exchange holds nothing to cancel (it fenced an id it has no order for): the user's cancel is what happened.
  if (target === "rejected" && current === "cancel_requested") return "cancelled";
  return target;
}

const REPORTED_TARGET: Readonly<Record<ReportedStatus, OrderState | undefined>> = {
  not_found: undefined,
  accepted: "accepted",
  waiting: "waiting",
  partially_filled: undefined,
  filled: undefined,
  cancelled: "cancelled",
  rejected: "rejected",
  expired: "expired",
};
