// kuku-bench orders 2pc: the saga of ADR 0007 against two-phase commit, on a
// two-database transfer (an order-like and a ledger-like database, fresh on
// one PostgreSQL). First throughput and latency of each at the same
// concurrency; then each coordinator is killed (-9) mid-transfer: 2PC between
// PREPARE and COMMIT PREPARED, the saga between the ledger's hold and the
// order's acceptance. What is left (in-doubt transactions, the locks they
// hold), how long another transaction on the same account waits, and what
// resolves it (the coordinator's recovery vs the saga's reconciler).
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { TEST_PG_ADMIN_URL } from "@kuku/testkit";
import pg from "pg";
import { choice, command, duration, int, UsageError } from "../lib/command.js";
import { closedLoop, type LoadResult, ms } from "../lib/load.js";
import { startPrivatePostgres } from "../lib/private-pg.js";
import { table } from "../lib/stats.js";
import * as tx from "../lib/two-phase.js";

type Method = "saga" | "2pc";
/** Each method runs this long, unmeasured, before either is measured: the first would otherwise pay for a cold cluster. */
const WARMUP_MS = 2_000;
const CHILD = fileURLToPath(new URL("../lib/two-phase-child.ts", import.meta.url));

async function query<R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const withDatabase = (adminUrl: string, name: string) => Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();

/** Prepared transactions' global ids are cluster-wide: each run's order ids carry the run's suffix. */
async function throughput(
  urls: Urls,
  method: Method,
  label: string,
  accounts: number,
  concurrency: number,
  durationMs: number,
): Promise<LoadResult> {
  const order = new pg.Pool({ connectionString: urls.order, max: concurrency });
  const ledger = new pg.Pool({ connectionString: urls.ledger, max: concurrency });
  let next = 0;
  try {
    return await closedLoop(concurrency, durationMs, async () => {
      const t = { orderId: `${urls.run}-${label}-${next++}`, account: `a${1 + Math.floor(Math.random() * accounts)}`, amount: 100n };
      const [o, l] = await Promise.all([order.connect(), ledger.connect()]);
      try {
        if (method === "2pc") {
          await tx.prepareBoth(o, l, t);
          await tx.commitBoth(o, l, t);
        } else {
          await tx.sagaHold(o, l, t);
          await tx.sagaAccept(o, t);
        }
        return true;
      } finally {
        o.release();
        l.release();
      }
    });
  } finally {
    await Promise.all([order.end(), ledger.end()]);
  }
}

interface Urls {
  readonly order: string;
  readonly ledger: string;
  /** This run's suffix, in every order id. */
  readonly run: string;
}

/** Runs the killable coordinator up to its pause point and kills it there. */
async function killMidway(urls: Urls, method: Method, orderId: string, account: string): Promise<void> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", CHILD, urls.order, urls.ledger, method, orderId, account], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && resolve());
    child.once("exit", (code) => reject(new Error(`the ${method} coordinator exited (${code}) before its pause point`)));
  });
  child.kill("SIGKILL");
  await new Promise((resolve) => child.once("exit", resolve));
}

/** Another transaction debits the same account; resolves with how long it waited, once `resolve` has run. */
async function waitOnRow(url: string, account: string, resolveAfterMs: number, resolve: () => Promise<void>): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const started = performance.now();
    const debit = client.query("UPDATE balances SET available = available - 1 WHERE account = $1", [account]);
    await Promise.race([debit, sleep(resolveAfterMs)]);
    await resolve();
    await debit;
    return Math.round(performance.now() - started);
  } finally {
    await client.end();
  }
}

interface KillRow {
  readonly method: Method;
  readonly inDoubt: number;
  readonly locks: string;
  readonly status: string;
  readonly waitedMs: number;
  readonly resolvedBy: string;
  readonly after: string;
}

async function killScenario(urls: Urls, method: Method, recoverAfterMs: number): Promise<KillRow> {
  const orderId = `${urls.run}-kill-${method}`;
  const account = method === "2pc" ? "a1" : "a2";
  await killMidway(urls, method, orderId, account);
  const ledger = new pg.Client({ connectionString: urls.ledger });
  const order = new pg.Client({ connectionString: urls.order });
  await Promise.all([ledger.connect(), order.connect()]);
  try {
    const inDoubt = (await tx.inDoubt(order)).length + (await tx.inDoubt(ledger)).length;
    const locks = await tx.inDoubtLocks(ledger);
    const statusOf = async () =>
      (await order.query<{ status: string }>("SELECT status FROM orders WHERE id = $1", [orderId])).rows[0]?.status ?? "none";
    const status = await statusOf();
    let resolvedBy: string;
    const waitedMs = await waitOnRow(urls.ledger, account, recoverAfterMs, async () => {
      if (method === "2pc") {
        // The restarted coordinator logged no decision: presumed abort, ROLLBACK PREPARED on both.
        for (const [client, gids] of [
          [order, await tx.inDoubt(order)],
          [ledger, await tx.inDoubt(ledger)],
        ] as const)
          for (const gid of gids) await client.query(`ROLLBACK PREPARED '${gid}'`);
        resolvedBy = `coordinator recovery after ${recoverAfterMs / 1000} s: ROLLBACK PREPARED x${inDoubt}`;
      } else {
        resolvedBy = `reconciler after ${recoverAfterMs / 1000} s: ${await tx.reconcile(order, ledger, 0)} PENDING order settled`;
      }
    });
    const held = (await ledger.query("SELECT 1 FROM holds WHERE order_id = $1", [orderId])).rowCount === 1;
    return {
      method,
      inDoubt,
      locks,
      status,
      waitedMs,
      resolvedBy: resolvedBy!,
      after: `order ${await statusOf()}, hold ${held ? "kept" : "none"}`,
    };
  } finally {
    await Promise.all([ledger.end(), order.end()]);
  }
}

/** Orders accepted = holds, and every unit of money is either available or held. */
async function consistent(urls: Urls, accounts: number): Promise<string> {
  const [orders] = await query<{ n: string }>(urls.order, "SELECT count(*) AS n FROM orders WHERE status = 'ACCEPTED'");
  const [ledger] = await query<{ holds: string; money: string }>(
    urls.ledger,
    "SELECT (SELECT count(*) FROM holds) AS holds, (SELECT sum(available) FROM balances) + (SELECT coalesce(sum(amount), 0) FROM holds) AS money",
  );
  const expectedMoney = tx.ACCOUNT_BALANCE * BigInt(accounts) - 1n * 2n; // the two waiters' debits of 1
  const ok = orders!.n === ledger!.holds && BigInt(ledger!.money) === expectedMoney;
  return `${ok ? "consistent" : "INCONSISTENT"}: ${orders!.n} accepted orders, ${ledger!.holds} holds`;
}

export const orders2pc = command({
  name: "orders 2pc",
  summary: "a two-database transfer by saga vs PREPARE TRANSACTION/COMMIT PREPARED: throughput, then each coordinator killed mid-transfer",
  options: {
    accounts: int("ledger accounts the transfers pick from at random", 1_000),
    concurrency: int("transfers in flight", 16),
    duration: duration("load per method", "10s"),
    recover: duration("how long the killed coordinator stays down before recovery / the reconciler runs", "5s"),
    pg: choice(
      ["auto", "shared", "private"] as const,
      "auto: the shared server if max_prepared_transactions > 0, else a throwaway one",
      "auto",
    ),
  },
  async run(values) {
    const loadBefore = loadavg()[0]!;
    const [shared] = await query<{ max_prepared_transactions: string }>(TEST_PG_ADMIN_URL, "SHOW max_prepared_transactions");
    const sharedMax = Number(shared!.max_prepared_transactions);
    if (values.pg === "shared" && sharedMax === 0)
      throw new UsageError("the shared PostgreSQL has max_prepared_transactions = 0 (make infra sets it; a restart applies it)");
    const usePrivate = values.pg === "private" || sharedMax === 0;
    const server = usePrivate ? await startPrivatePostgres({ max_prepared_transactions: "64", max_connections: "200" }) : undefined;
    const adminUrl = server?.adminUrl ?? TEST_PG_ADMIN_URL;
    const suffix = randomBytes(4).toString("hex");
    const names = { order: `kuku_bench_2pc_order_${suffix}`, ledger: `kuku_bench_2pc_ledger_${suffix}` };
    const urls = { order: withDatabase(adminUrl, names.order), ledger: withDatabase(adminUrl, names.ledger), run: suffix };
    const rows: (string | number)[][] = [];
    const kills: KillRow[] = [];
    let verdict = "";
    try {
      for (const name of Object.values(names)) await query(adminUrl, `CREATE DATABASE ${name}`);
      await tx.createSchemas(urls.order, urls.ledger, values.accounts);
      for (const method of ["saga", "2pc"] as const)
        await throughput(urls, method, `${method}-warm`, values.accounts, values.concurrency, WARMUP_MS);
      for (const method of ["saga", "2pc"] as const) {
        const load = await throughput(urls, method, method, values.accounts, values.concurrency, values.duration);
        rows.push([method, load.latency.count, load.perSecond, ms(load.latency, 50), ms(load.latency, 99), method === "2pc" ? 4 : 3]);
        console.error(`  ${method}: ${load.perSecond}/s`);
      }
      for (const method of ["2pc", "saga"] as const) kills.push(await killScenario(urls, method, values.recover));
      verdict = await consistent(urls, values.accounts);
    } finally {
      // Whatever happened above, no prepared transaction outlives the run.
      for (const url of [urls.order, urls.ledger])
        for (const { gid } of await query<{ gid: string }>(
          url,
          "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()",
        ).catch(() => []))
          await query(url, `ROLLBACK PREPARED '${gid}'`);
      for (const name of Object.values(names)) await query(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      server?.stop();
    }
    console.log(
      `orders 2pc — ${values.concurrency} transfers in flight, ${values.duration / 1000} s per method, ${values.accounts} accounts; ` +
        `PostgreSQL: ${usePrivate ? `a throwaway cluster (the shared one has max_prepared_transactions = ${sharedMax})` : "the shared server"}`,
    );
    console.log(table(["method", "transfers", "transfers/s", "p50 ms", "p99 ms", "commits per transfer"], rows));
    console.log("coordinator killed (-9) mid-transfer; then another transaction debits the same account");
    console.log(
      table(
        ["method", "left in doubt", "locks held by them", "order status", "other txn on the row waited ms", "resolved by", "after"],
        kills.map((k) => [k.method, k.inDoubt, k.locks, k.status, k.waitedMs, k.resolvedBy, k.after]),
      ),
    );
    console.log(`${verdict}; prepared transactions left: 0 (rolled back and dropped with the databases)`);
    console.log(
      `machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), 1-min load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end; Node ${process.version}`,
    );
    if (verdict.startsWith("INCONSISTENT")) process.exitCode = 1;
  },
});
