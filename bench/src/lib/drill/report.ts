// What a drill prints: the policies' reactions (read from the order
// service's logs: breaker state changes, retries), the orders that were in
// doubt and how they ended, the time to recover, and the invariants.
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { table } from "../stats.js";
import type { Bank, WorkloadCounts } from "./bank.js";
import type { DrillStack } from "./stack.js";

export interface PolicyEvents {
  readonly circuitOpened: Record<string, number>;
  readonly circuitHalfOpened: Record<string, number>;
  readonly circuitClosed: Record<string, number>;
  readonly retries: Record<string, number>;
}

export function policyEvents(logs: readonly string[]): PolicyEvents {
  const events: PolicyEvents = { circuitOpened: {}, circuitHalfOpened: {}, circuitClosed: {}, retries: {} };
  const add = (into: Record<string, number>, target: string) => (into[target] = (into[target] ?? 0) + 1);
  for (const line of logs) {
    if (!line.includes('"target"')) continue;
    let record: { msg?: string; target?: string; circuit?: string };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      continue;
    }
    if (record.target === undefined) continue;
    if (record.msg === "retrying") add(events.retries, record.target);
    else if (record.circuit === "Open") add(events.circuitOpened, record.target);
    else if (record.circuit === "HalfOpen") add(events.circuitHalfOpened, record.target);
    else if (record.circuit === "Closed") add(events.circuitClosed, record.target);
  }
  return events;
}

/** Orders that went through UNKNOWN, by the state they ended in. */
export async function unknownOrders(stack: DrillStack, orders: readonly api.Order[]): Promise<{ count: number; endedAs: Record<string, number> }> {
  const endedAs: Record<string, number> = {};
  let count = 0;
  for (const o of orders) {
    const { transitions } = await stack.orders.listOrderTransitions({ orderId: o.orderId, userId: o.userId });
    if (!transitions.some((x) => x.toState === api.OrderState.UNKNOWN)) continue;
    count++;
    const state = api.OrderState[o.state];
    endedAs[state] = (endedAs[state] ?? 0) + 1;
  }
  return { count, endedAs };
}

const perTarget = (r: Record<string, number>) => Object.entries(r).map(([k, n]) => `${k} ${n}`).join(", ") || "0";

export interface RoundResult {
  readonly round: number;
  readonly counts: WorkloadCounts;
  readonly faults: string;
  readonly replayed: number;
  readonly recoverMs: number;
  readonly dayClosed: boolean;
  readonly unknown: { count: number; endedAs: Record<string, number> };
  readonly invariants: Awaited<ReturnType<Bank["check"]>>;
}

export function printReport(title: string, rounds: readonly RoundResult[], events: PolicyEvents): number {
  console.log(title);
  console.log(
    table(
      ["round", "ops", "orders", "cancels", "deposits", "transfers", "refused", "no answer", "faults", "replayed", "recover ms", "UNKNOWN orders → final"],
      rounds.map((r) => [
        r.round, r.counts.ops, r.counts.placed, r.counts.cancels, r.counts.deposits, r.counts.transfers, r.counts.refused, r.counts.inDoubt, r.faults,
        r.replayed, Number.isNaN(r.recoverMs) ? "NOT RECOVERED" : r.recoverMs,
        `${r.unknown.count}${r.unknown.count > 0 ? ` → ${perTarget(r.unknown.endedAs)}` : ""}`,
      ]),
    ),
  );
  console.log(`breaker openings: ${perTarget(events.circuitOpened)}; half-open: ${perTarget(events.circuitHalfOpened)}; closed again: ${perTarget(events.circuitClosed)}`);
  console.log(`retries (order service → downstream): ${perTarget(events.retries)}`);
  let violations = 0;
  const names = rounds[0]?.invariants.map((i) => i.name) ?? [];
  const rows = names.map((name) => {
    const per = rounds.map((r) => r.invariants.find((i) => i.name === name)!);
    const v = per.reduce((a, i) => a + i.violations, 0);
    violations += v;
    return [name, v === 0 ? "ok" : "VIOLATED", v, per[per.length - 1]!.detail];
  });
  const notClosed = rounds.filter((r) => !r.dayClosed).length;
  console.log(table(["invariant", "result", "violations", "detail (last round)"], rows));
  if (notClosed > 0) console.log(`${notClosed} round(s) did not reach every order terminal with holds released in time`);
  console.log(`invariant violations: ${violations}`);
  return violations;
}
