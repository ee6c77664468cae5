// kuku-bench drill <name>: a fault scenario under the bank workload, then the
// faults are lifted, every operation without an answer is replayed, the
// trading day is closed, and every invariant is checked.
//   drill <mesh drill>  the fault file of mesh/drills/<name> (the same one the mesh applies),
//                       injected by the order service's client interceptor (L7)
//   drill l4            toxiproxy between order and exchange/ledger: latency on the ledger link,
//                       and on the exchange link a round each of timeout, reset_peer, bandwidth, cut
//   drill chaos         rounds of: kill -9 ledger, order, exchange, market and gateway in turn, cut
//                       the exchange link, crash a private PostgreSQL, kill -9 a private Kafka broker
//                       and a private Redis quorum (the ledger's locks, the gateway's and the
//                       market's Redis); a bank-test check after every round
import { copyFileSync, readdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { eventually } from "@kuku/testkit";
import { type BenchCommand, choiceList, command, duration, int } from "../lib/command.js";
import { Bank } from "../lib/drill/bank.js";
import { printReport, type RoundResult, unknownOrders } from "../lib/drill/report.js";
import { type DrillStack, type PrivateInfra, type ServiceName, startDrillStack } from "../lib/drill/stack.js";
import type { Toxic } from "../lib/drill/toxiproxy.js";

const DRILLS_DIR = fileURLToPath(new URL("../../../mesh/drills/", import.meta.url));
const SYMBOLS = ["005930", "000660"];
// Short budgets so that a drill of seconds shows the reconciler at work.
const ORDER_ENV = { ORDER_EXCHANGE_TIMEOUT_MS: "1000", ORDER_RECONCILE_INTERVAL_MS: "250", ORDER_BREAKER_HALF_OPEN_AFTER_MS: "500" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const common = {
  concurrency: int("operations in flight", 16),
  users: int("users (each starts with 50,000,000 won)", 20),
  "settle-timeout": duration("how long recovery, replays and the day's close may take", "120s"),
};

/** After the faults are gone: replays, recovery, the day's close, the checks (UNKNOWN counted among this round's orders). */
async function finishRound(
  round: number,
  stack: DrillStack,
  bank: Bank,
  earlierRounds: Set<string>,
  counts: RoundResult["counts"],
  faults: string,
  settleMs: number,
): Promise<RoundResult> {
  const healedAt = Date.now();
  const replayed = await bank.settleDoubts(settleMs);
  const settledMs = await bank.untilNoneInFlight(settleMs);
  const recoverMs = Number.isNaN(settledMs) ? Number.NaN : Date.now() - healedAt;
  const dayClosed = await bank.closeDay(settleMs);
  const orders = (await bank.allOrders()).filter((o) => !earlierRounds.has(o.orderId));
  for (const o of orders) earlierRounds.add(o.orderId);
  return {
    round,
    counts,
    faults,
    replayed,
    recoverMs,
    dayClosed,
    unknown: await unknownOrders(stack, orders),
    invariants: await bank.check(),
  };
}

async function withStack(
  users: number,
  work: (stack: DrillStack, bank: Bank) => Promise<void>,
  privateInfra: readonly PrivateInfra[] = [],
): Promise<void> {
  const stack = await startDrillStack({ orderEnv: ORDER_ENV, privateInfra });
  try {
    const bank = new Bank(stack);
    await bank.open(users, SYMBOLS);
    await work(stack, bank);
  } finally {
    await stack.stop();
  }
}

function meshDrill(name: string): BenchCommand {
  return command({
    name: `drill ${name}`,
    summary: `mesh/drills/${name}/faults.yaml applied by the order service's clients, under load`,
    options: { ...common, duration: duration("how long the fault lasts, under load", "15s") },
    async run({ duration: durationMs, "settle-timeout": settleMs, users, concurrency }) {
      const faultFile = `${DRILLS_DIR}${name}/faults.yaml`;
      await withStack(users, async (stack, bank) => {
        // Applying and lifting the drill, as kubectl apply -k does to the mesh: the running order service picks it up.
        copyFileSync(faultFile, stack.faultFile);
        const endAt = Date.now() + durationMs;
        const counts = await bank.run(concurrency, () => Date.now() > endAt);
        rmSync(stack.faultFile);
        const result = await finishRound(1, stack, bank, new Set(), counts, `${name} for ${durationMs / 1000} s`, settleMs);
        const violations = printReport(`drill ${name} — ${faultFile.replace(/.*mesh\//, "mesh/")}`, [result], await stack.policyEvents());
        if (violations > 0) process.exitCode = 1;
      });
    },
  });
}

/** The L4 faults of `drill l4` on the order → exchange link, in the direction of the answers: the exchange acts, the caller may not hear. */
const L4_FAULTS: Record<string, { what: string; toxic?: Toxic }> = {
  timeout: {
    what: "answers dropped, connections held open (timeout 0)",
    toxic: { name: "fault", type: "timeout", attributes: { timeout: 0 } },
  },
  reset_peer: {
    what: "connections reset as answers come (reset_peer)",
    toxic: { name: "fault", type: "reset_peer", attributes: { timeout: 0 } },
  },
  bandwidth: { what: "answers at 1 KB/s (bandwidth)", toxic: { name: "fault", type: "bandwidth", attributes: { rate: 1 } } },
  cut: { what: "cut: connections closed, new ones refused" },
};

const l4 = command({
  name: "drill l4",
  summary:
    "toxiproxy between order and ledger/exchange: 50 ms on the ledger link; on the exchange link a round each of timeout, reset_peer, bandwidth and a cut",
  options: {
    ...common,
    duration: duration("the load of each round; the fault is its middle third", "15s"),
    faults: choiceList(Object.keys(L4_FAULTS), `one round each, in turn: ${Object.keys(L4_FAULTS).join(", ")}`),
  },
  async run({ duration: durationMs, "settle-timeout": settleMs, faults, users, concurrency }) {
    await withStack(users, async (stack, bank) => {
      await stack.toxiproxy.addToxic("ledger", { name: "slow", type: "latency", attributes: { latency: 50, jitter: 20 } });
      const results: RoundResult[] = [];
      const earlierRounds = new Set<string>();
      for (const [index, name] of faults.entries()) {
        const { what, toxic } = L4_FAULTS[name]!;
        const endAt = Date.now() + durationMs;
        const load = bank.run(concurrency, () => Date.now() > endAt);
        await sleep(durationMs / 3);
        if (toxic === undefined) await stack.toxiproxy.setEnabled("exchange", false);
        else await stack.toxiproxy.addToxic("exchange", toxic);
        await sleep(durationMs / 3);
        if (toxic === undefined) await stack.toxiproxy.setEnabled("exchange", true);
        else await stack.toxiproxy.removeToxic("exchange", toxic.name);
        const counts = await load;
        const faultText = `ledger +50 ms; exchange link ${what} for ${Math.round(durationMs / 3000)} s`;
        results.push(await finishRound(index + 1, stack, bank, earlierRounds, counts, faultText, settleMs));
      }
      await stack.toxiproxy.removeToxic("ledger", "slow");
      const violations = printReport("drill l4 — toxiproxy between order and exchange/ledger", results, await stack.policyEvents());
      if (violations > 0) process.exitCode = 1;
    });
  },
});

type Nemesis = ServiceName | PrivateInfra | "link";
const NEMESES: readonly Nemesis[] = ["ledger", "order", "exchange", "market", "gateway", "link", "postgres", "kafka", "redis"];
const PRIVATE_INFRA: readonly PrivateInfra[] = ["postgres", "kafka", "redis"];

/** Breaks one thing for about 2 s and brings it back; says what it did. */
async function strike(nemesis: Nemesis, stack: DrillStack, bank: Bank, settleMs: number): Promise<string> {
  if (nemesis === "link") {
    await stack.toxiproxy.setEnabled("exchange", false);
    await sleep(2_000);
    await stack.toxiproxy.setEnabled("exchange", true);
    return "link cut 2 s";
  }
  if (nemesis === "postgres") {
    await stack.postgres!.crashAndRestart(2_000);
    return "postgres crashed, down 2 s";
  }
  if (nemesis === "kafka") {
    const killedAt = Date.now();
    await stack.kafka!.crashAndRestart(2_000);
    return `kill -9 kafka, down 2 s, leading its partitions again after ${Date.now() - killedAt} ms`;
  }
  if (nemesis === "redis") {
    // The ledger must refuse writes while it cannot lock (no quorum), and lock again once Redis is back (its clients reconnect).
    const whileDown = await stack.redis!.crashAndRestart(2_000, () => bank.probeLedgerWrite());
    const restartedAt = Date.now();
    await eventually(
      "the ledger locks again after the Redis restart",
      async () => (await bank.probeLedgerWrite()) === "FailedPrecondition",
      settleMs,
    );
    return `kill -9 redis x3, down 2 s (a ledger write: ${whileDown}), the ledger locks again after ${Date.now() - restartedAt} ms`;
  }
  await stack.restart(nemesis, "SIGKILL");
  return `kill -9 ${nemesis}`;
}

const chaos = command({
  name: "drill chaos",
  summary: "bank test: concurrent orders/cancels/deposits/transfers while services are killed (-9) in turn and the exchange link is cut",
  options: {
    ...common,
    rounds: int("rounds; each ends with a full invariant check", 1),
    ops: int("operations per round, at least (the load lasts until every nemesis has struck)", 2000),
    nemeses: choiceList(
      NEMESES,
      "what each round breaks, in turn: ledger, order, exchange, market, gateway (kill -9), link (cut 2 s), postgres (a private cluster, crashed), " +
        "kafka (a private broker, kill -9), redis (a private three-server quorum: the ledger's Redlock locks, the gateway's and the market's Redis; all three kill -9); each down 2 s",
    ),
  },
  async run({ rounds, ops, "settle-timeout": settleMs, nemeses, users, concurrency }) {
    await withStack(
      users,
      async (stack, bank) => {
        const results: RoundResult[] = [];
        const earlierRounds = new Set<string>();
        for (let round = 1; round <= rounds; round++) {
          // The load goes on until it has done its operations AND every nemesis has struck.
          let struck = false;
          const load = bank.run(concurrency, (c) => struck && c.ops >= ops);
          const done: string[] = [];
          for (const nemesis of nemeses) {
            await sleep(1_000);
            done.push(await strike(nemesis, stack, bank, settleMs));
          }
          struck = true;
          const counts = await load;
          const result = await finishRound(round, stack, bank, earlierRounds, counts, done.join(", "), settleMs);
          results.push(result);
          // Progress on stderr, so a long run shows its rounds before the final report.
          const violations = result.invariants.reduce((a, i) => a + i.violations, 0);
          console.error(
            `round ${round}: ${counts.ops} ops, ${result.faults}, recovered in ${result.recoverMs} ms, ${violations} violations`,
          );
        }
        const violations = printReport(
          `drill chaos — ${rounds} round(s) x ${ops} operations, ${bank.users.length} users`,
          results,
          await stack.policyEvents(),
        );
        if (violations > 0) process.exitCode = 1;
      },
      PRIVATE_INFRA.filter((n) => nemeses.includes(n)),
    );
  },
});

/** One command per drill folder in mesh/drills, plus the L4 and chaos drills. */
export function drillCommands(): readonly BenchCommand[] {
  const names = readdirSync(DRILLS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  return [...names.map(meshDrill), l4, chaos];
}
