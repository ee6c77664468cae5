// The order surge, open loop: users signed up and funded through the gateway,
// then PlaceOrder driven through the gateway by ghz at a constant arrival
// rate (a ramp, then the rate held), whatever the answers' latency. Then the
// system is left to finish: every order terminal or resting, each fill's
// time to SETTLED, and the ledger verified.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Client } from "@connectrpc/connect";
import * as gateway from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { createServiceClient, forEachConcurrently } from "@kuku/platform";
import { run, startTradingStack, TOOLS_BIN, type TradingStack } from "@kuku/testkit";
import { command, duration, int, intList, text } from "../lib/command.js";
import { benchPool } from "../lib/pool.js";
import { cpuSeconds } from "../lib/proc.js";
import { table } from "../lib/stats.js";

const SCENARIO = fileURLToPath(new URL("../../load/place-order.json", import.meta.url));
const DEPOSIT_KRW = 10_000_000_000n;
/** Orders in these states have nothing left to happen to them but a fill of a resting order. */
const SETTLED_OR_RESTING = ["settled", "rejected", "cancelled", "expired", "accepted", "partially_filled"];

export interface GhzReport {
  count: number;
  total: number;
  rps: number;
  statusCodeDistribution?: Record<string, number>;
  errorDistribution?: Record<string, number>;
  latencyDistribution: { percentage: number; latency: number }[] | null;
}

/** Signs `count` users up through the gateway and deposits into each; their access tokens. */
export async function fundedUsers(baseUrl: string, count: number): Promise<string[]> {
  const auth = createServiceClient(gateway.AuthService, { baseUrl, timeoutMs: 30_000 });
  const trading = createServiceClient(gateway.TradingService, { baseUrl, timeoutMs: 30_000 });
  const tokens: string[] = [];
  await forEachConcurrently(
    Array.from({ length: count }, (_, i) => i),
    8,
    async (i) => {
      const { tokens: issued } = await auth.signUp({
        email: `surge-${i}-${Date.now()}@example.com`,
        password: "correct horse battery",
        displayName: `surge ${i}`,
      });
      const headers = { authorization: `Bearer ${issued!.accessToken}` };
      await trading.depositCash({ requestId: `surge-${i}`, amountKrw: DEPOSIT_KRW }, { headers });
      tokens.push(issued!.accessToken);
    },
  );
  return tokens;
}

/** ghz's metadata: the users' tokens in turn, request by request (a Go template with sprig's functions). */
export function tokensMetadata(tokens: readonly string[]): string {
  // ghz runs the template over the JSON text itself: Go's raw strings (backquotes) need no JSON escaping.
  const list = `\`${tokens.join(" ")}\``;
  return JSON.stringify({ authorization: `Bearer {{ index (splitList \` \` ${list}) (mod .RequestNumber ${tokens.length}) }}` });
}

/** One open-loop run at `rate` orders/s: a line from a tenth of it over `rampMs`, then `holdMs` at it. */
async function ghzAt(gatewayPort: number, metadataFile: string, rate: number, rampMs: number, holdMs: number): Promise<GhzReport> {
  const start = Math.max(1, Math.round(rate / 10));
  const rampS = Math.max(1, Math.round(rampMs / 1000));
  const args = [
    `--config=${SCENARIO}`,
    `--metadata-file=${metadataFile}`,
    "--load-schedule=line",
    `--load-start=${start}`,
    `--load-step=${Math.max(1, Math.ceil((rate - start) / rampS))}`,
    `--load-end=${rate}`,
    `--duration=${Math.round((rampMs + holdMs) / 1000)}s`,
    "--format=json",
    `127.0.0.1:${gatewayPort}`,
  ];
  const out = await run(`${TOOLS_BIN}/ghz`, args);
  if (out.code !== 0) throw new Error(`ghz exited with ${out.code}: ${out.stderr}${out.stdout.slice(0, 2000)}`);
  return JSON.parse(out.stdout) as GhzReport;
}

const ms = (ns: number | undefined) => (ns === undefined ? "-" : (ns / 1e6).toFixed(1));

/** The rate's row: ghz's own figures. */
export function ghzRow(rate: number, report: GhzReport): (string | number)[] {
  const latency = (p: number) => report.latencyDistribution?.find((d) => d.percentage === p)?.latency;
  const ok = report.statusCodeDistribution?.["OK"] ?? 0;
  const errors = Object.entries(report.statusCodeDistribution ?? {})
    .filter(([code]) => code !== "OK")
    .map(([code, n]) => `${code} ${n}`)
    .join(", ");
  return [
    rate,
    report.count,
    Math.round(report.rps),
    ok,
    ms(latency(50)),
    ms(latency(95)),
    ms(latency(99)),
    ((100 * (report.count - ok)) / Math.max(1, report.count)).toFixed(2),
    errors || "none",
  ];
}

/**
 * After a run: waits until every order placed since `since` is settled or
 * resting with no fill unsettled; then the time from each order's last fill
 * to its SETTLED transition.
 */
async function afterRun(databaseUrl: string, since: Date, timeoutMs: number): Promise<(string | number)[]> {
  const pool = benchPool(databaseUrl, 2);
  try {
    const started = Date.now();
    let pending = Number.NaN;
    while (Date.now() - started < timeoutMs) {
      const { rows } = await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM orders o WHERE o.created_at >= $1
           AND (NOT (o.state = ANY($2::text[])) OR EXISTS (SELECT 1 FROM fills f WHERE f.order_id = o.order_id AND f.settled_at IS NULL))`,
        [since, SETTLED_OR_RESTING],
      );
      pending = Number(rows[0]!.n);
      if (pending === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const drainedS = ((Date.now() - started) / 1000).toFixed(1);
    const { rows } = await pool.query<{ orders: string; settled: string; p50: number | null; p99: number | null; states: string }>(
      `WITH placed AS (SELECT order_id, state FROM orders WHERE created_at >= $1),
            lag AS (
              SELECT extract(epoch FROM t.occurred_at - f.executed_at) * 1000 AS ms
              FROM placed p
              JOIN order_transitions t ON t.order_id = p.order_id AND t.to_state = 'settled'
              JOIN (SELECT order_id, max(executed_at) AS executed_at FROM fills GROUP BY order_id) f ON f.order_id = p.order_id)
       SELECT (SELECT count(*) FROM placed) AS orders, (SELECT count(*) FROM lag) AS settled,
              (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM lag) AS p50,
              (SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) FROM lag) AS p99,
              (SELECT string_agg(state || ' ' || n, ', ') FROM (SELECT state, count(*) AS n FROM placed GROUP BY state) s) AS states`,
      [since],
    );
    const r = rows[0]!;
    const fixed = (v: number | null) => (v === null ? "-" : Number(v).toFixed(1));
    return [
      r.orders,
      pending === 0 ? drainedS : `NOT DONE (${pending} pending)`,
      r.settled,
      fixed(r.p50),
      fixed(r.p99),
      r.states ?? "none",
    ];
  } finally {
    await pool.end();
  }
}

/** The ledger verified, and every user's money where the orders say: cash = deposit - notional - fees, nothing held. */
async function bankCheck(stack: TradingStack, ledgerClient: Client<typeof ledger.LedgerService>): Promise<string[]> {
  const integrity = await ledgerClient.verifyIntegrity({});
  const problems = integrity.discrepancies.map((d) => JSON.stringify(d));
  const pool = benchPool(stack.databaseUrl("order"), 2);
  try {
    const { rows } = await pool.query<{ user_id: string; spent: string; shares: string }>(
      "SELECT user_id, sum(filled_notional_krw + fees_krw) AS spent, sum(filled_quantity) AS shares FROM orders GROUP BY user_id",
    );
    await forEachConcurrently(rows, 8, async (r) => {
      const { balances } = await ledgerClient.getBalances({ ownerId: r.user_id });
      const cash = balances.find((b) => b.asset === "KRW");
      const shares = balances.find((b) => b.asset === "005930")?.totalMinor ?? 0n;
      if (cash?.totalMinor !== DEPOSIT_KRW - BigInt(r.spent) || cash.heldMinor !== 0n || shares !== BigInt(r.shares)) {
        problems.push(
          `${r.user_id}: cash ${cash?.totalMinor} held ${cash?.heldMinor} shares ${shares}, orders say spent ${r.spent} shares ${r.shares}`,
        );
      }
    });
  } finally {
    await pool.end();
  }
  console.log(
    `ledger: ${integrity.discrepancies.length === 0 ? "VerifyIntegrity clean" : `${integrity.discrepancies.length} DISCREPANCIES`} (${integrity.entriesChecked} entries); bank check: ${problems.length} violations`,
  );
  return problems;
}

export const surge = command({
  name: "surge",
  summary:
    "open-loop PlaceOrder through the gateway with ghz at constant arrival rates; then fill -> SETTLED latency and the ledger checked",
  options: {
    rates: intList("arrival rates, orders/s, one run each, comma-separated", "250,500,1000"),
    ramp: duration("the line from a tenth of the rate up to it", "5s"),
    hold: duration("time held at the rate", "30s"),
    users: int("users signed up and funded through the gateway", 100),
    settle: duration("how long to wait after a run for every order to settle or rest", "120s"),
    "cpu-prof": text(
      "a folder for the order service's and the gateway's --cpu-prof profiles (written when the stack stops); empty: none",
      "",
    ),
  },
  async run(values) {
    const profileDir = values["cpu-prof"];
    const profile = (service: string): Record<string, string> =>
      profileDir === "" ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir} --cpu-prof-name=${service}.cpuprofile` };
    // Every user places orders/s / users: the per-user and per-address buckets (one address: ghz's) must not be what is measured.
    const unlimited = { capacity: 1_000_000, perSecond: 1_000_000 };
    const stack = await startTradingStack({
      services: ["ledger", "exchange", "order", "gateway"],
      env: { LOG_LEVEL: "info" },
      envOf: {
        order: profile("order"),
        gateway: {
          ...profile("gateway"),
          GATEWAY_RATE_IP_BURST: String(unlimited.capacity),
          GATEWAY_RATE_IP_PER_SECOND: String(unlimited.perSecond),
          GATEWAY_RATE_USER_BURST: String(unlimited.capacity),
          GATEWAY_RATE_USER_PER_SECOND: String(unlimited.perSecond),
        },
      },
    });
    const work = mkdtempSync(join(tmpdir(), "kuku-surge-"));
    try {
      const ledgerClient = createServiceClient(ledger.LedgerService, { baseUrl: stack.url("ledger"), timeoutMs: 60_000 });
      const tokens = await fundedUsers(stack.url("gateway"), values.users);
      const metadataFile = join(work, "metadata.json");
      writeFileSync(metadataFile, tokensMetadata(tokens));
      const gatewayPort = stack.process("gateway").port;
      const ghzRows: (string | number)[][] = [];
      const settleRows: (string | number)[][] = [];
      const cpuRows: (string | number)[][] = [];
      const services = ["gateway", "order", "ledger", "exchange"] as const;
      const cpuNow = () => services.map((s) => cpuSeconds(stack.process(s).child.pid!));
      for (const rate of values.rates) {
        const since = new Date(Date.now() - 1_000);
        const cpuBefore = cpuNow();
        const report = await ghzAt(gatewayPort, metadataFile, rate, values.ramp, values.hold);
        // Only while ghz ran: settlement that trails the run is not counted.
        const cpu = cpuNow().map((c, i) => c - cpuBefore[i]!);
        cpuRows.push([rate, report.count, ...cpu.map((c) => `${c.toFixed(2)} s = ${((c / report.count) * 1000).toFixed(2)} ms`)]);
        ghzRows.push(ghzRow(rate, report));
        settleRows.push([rate, ...(await afterRun(stack.databaseUrl("order"), since, values.settle))]);
      }
      const scenario = JSON.parse(readFileSync(SCENARIO, "utf8")) as { connections: number; concurrency: number };
      console.log(
        `surge — ghz open loop (async, ${scenario.connections} connections) through the gateway, market buys of 1 share by ${values.users} users; ` +
          `per rate a ${values.ramp / 1000} s line up from a tenth, then ${values.hold / 1000} s held; latency = until PlaceOrder's answer (at acceptance)`,
      );
      console.log(table(["offered/s", "calls", "answered/s", "OK", "p50 ms", "p95 ms", "p99 ms", "error %", "errors by code"], ghzRows));
      console.log(
        "\nafter each run: every order settled or resting; fill -> SETTLED = the order's SETTLED transition minus its last fill's execution time",
      );
      console.log(table(["offered/s", "orders", "done after s", "settled", "fill->SETTLED p50 ms", "p99 ms", "final states"], settleRows));
      console.log("\nCPU (user + system) of each service process while ghz ran, and per call");
      console.log(table(["offered/s", "calls", ...services], cpuRows));
      const problems = await bankCheck(stack, ledgerClient);
      for (const p of problems.slice(0, 10)) console.log(`  ${p}`);
      console.log(
        "goal (issue 16, quiet machine): >= 1,000 orders/s acknowledged, p99 < 50 ms, errors < 0.1 %, fill -> SETTLED p99 < 250 ms",
      );
      if (problems.length > 0) process.exitCode = 1;
    } finally {
      await stack.stop();
      rmSync(work, { recursive: true, force: true });
    }
  },
});
