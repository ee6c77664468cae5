// What a drill prints: the policies' reactions (the kuku_client_* counters
// of the order service and the gateway from their /metrics: breaker state
// changes, retries),
// the orders that were in doubt and how they ended, the time to recover, and
// the invariants.
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import type { Sample } from "@kuku/testkit";
import { table } from "../stats.js";
import type { Bank, WorkloadCounts } from "./bank.js";
import type { DrillStack } from "./stack.js";

/** Per link ("order→exchange"): how often each happened. */
export interface PolicyEvents {
  readonly circuitOpened: Record<string, number>;
  readonly circuitHalfOpened: Record<string, number>;
  readonly circuitClosed: Record<string, number>;
  readonly retries: Record<string, number>;
}

const noEvents = (): PolicyEvents => ({ circuitOpened: {}, circuitHalfOpened: {}, circuitClosed: {}, retries: {} });
const KINDS = Object.keys(noEvents()) as (keyof PolicyEvents)[];

/** One process's counters, from one scrape of its /metrics. */
export function policyEventsOf(caller: string, samples: readonly Sample[]): PolicyEvents {
  const events = noEvents();
  const add = (into: Record<string, number>, target: string, n: number) =>
    (into[`${caller}→${target}`] = (into[`${caller}→${target}`] ?? 0) + n);
  for (const s of samples) {
    const target = s.labels["target"];
    if (target === undefined || s.value === 0) continue;
    // Retries are counted per method: summed per downstream.
    if (s.name === "kuku_client_retries_total") add(events.retries, target, s.value);
    else if (s.name === "kuku_client_circuit_transitions_total") {
      const into = { open: events.circuitOpened, half_open: events.circuitHalfOpened, closed: events.circuitClosed }[s.labels["to"] ?? ""];
      if (into !== undefined) add(into, target, s.value);
    }
  }
  return events;
}

/** The sum over processes: counters start again at zero in every new process. */
export function addPolicyEvents(all: readonly PolicyEvents[]): PolicyEvents {
  const sum = noEvents();
  for (const events of all) {
    for (const kind of KINDS) for (const [target, n] of Object.entries(events[kind])) sum[kind][target] = (sum[kind][target] ?? 0) + n;
  }
  return sum;
}

/** Orders that went through UNKNOWN, by the state they ended in. */
export async function unknownOrders(
  stack: DrillStack,
  orders: readonly api.Order[],
): Promise<{ count: number; endedAs: Record<string, number> }> {
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

const perTarget = (r: Record<string, number>) =>
  Object.entries(r)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ") || "0";

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
      [
        "round",
        "ops",
        "via gateway",
        "orders",
        "amends",
        "cancels",
        "deposits",
        "transfers",
        "refused",
        "no answer",
        "faults",
        "replayed",
        "recover ms",
        "UNKNOWN orders → final",
      ],
      rounds.map((r) => [
        r.round,
        r.counts.ops,
        r.counts.viaGateway,
        r.counts.placed,
        r.counts.amends,
        r.counts.cancels,
        r.counts.deposits,
        r.counts.transfers,
        r.counts.refused,
        r.counts.inDoubt,
        r.faults,
        r.replayed,
        Number.isNaN(r.recoverMs) ? "NOT RECOVERED" : r.recoverMs,
        `${r.unknown.count}${r.unknown.count > 0 ? ` → ${perTarget(r.unknown.endedAs)}` : ""}`,
      ]),
    ),
  );
  console.log(
    `breaker openings: ${perTarget(events.circuitOpened)}; half-open: ${perTarget(events.circuitHalfOpened)}; closed again: ${perTarget(events.circuitClosed)}`,
  );
  console.log(`retries: ${perTarget(events.retries)}`);
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
  for (const r of rounds) {
    for (const i of r.invariants.filter((x) => x.violations > 0))
      console.log(`round ${r.round}: ${i.name} VIOLATED ${i.violations}: ${i.detail}`);
  }
  if (notClosed > 0) console.log(`${notClosed} round(s) did not reach every order terminal with holds released in time`);
  console.log(`invariant violations: ${violations}`);
  return violations;
}
