// kuku-bench rpc network (week 13): the network settings of one unary call
// on the ledger's GetBalances through the real service — TCP_NODELAY on and
// off, a long-lived HTTP/2 connection against a new one per call, HTTP/2
// PING keep-alives, and how many streams share a connection — at one call in
// flight (latency-bound, where Nagle's algorithm shows) and at many. The
// client is a process of its own on node:http2 (lib/rpc/network-client.ts).

import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { GetBalancesRequestSchema, LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { operatorAuthorization } from "@kuku/testkit";
import { command, duration, int, intList } from "../lib/command.js";
import { fundedAccounts, type LedgerUnderTest, startLedger } from "../lib/ledger.js";
import { cpuSeconds } from "../lib/proc.js";
import type { ClientResult } from "../lib/rpc/client-loop.js";
import { forkTs, message } from "../lib/rpc/fork.js";
import type { NetworkRun } from "../lib/rpc/network-client.js";
import { table } from "../lib/stats.js";

const CLIENT_SCRIPT = fileURLToPath(new URL("../lib/rpc/network-client.ts", import.meta.url));

type Setting = Pick<NetworkRun, "noDelay" | "connections" | "pingMs">;

/** Each row changes one thing against the first. `connections` -1 means one per call in flight (one stream each). */
const SETTINGS: readonly { name: string; setting: Setting }[] = [
  { name: "1 connection, TCP_NODELAY on", setting: { noDelay: true, connections: 1, pingMs: 0 } },
  { name: "1 connection, TCP_NODELAY off", setting: { noDelay: false, connections: 1, pingMs: 0 } },
  { name: "new connection per call", setting: { noDelay: true, connections: 0, pingMs: 0 } },
  { name: "1 connection, PING every 1 s", setting: { noDelay: true, connections: 1, pingMs: 1_000 } },
  { name: "1 connection, PING every 10 ms", setting: { noDelay: true, connections: 1, pingMs: 10 } },
  { name: "4 connections", setting: { noDelay: true, connections: 4, pingMs: 0 } },
  { name: "1 connection per call in flight", setting: { noDelay: true, connections: -1, pingMs: 0 } },
];

/** The ledger's own sockets: as it runs (node:http2 turns TCP_NODELAY on), or with it forced off by a preload. */
const SERVERS = [
  { name: "on", env: {} },
  { name: "off", env: { NODE_OPTIONS: `--import=${fileURLToPath(new URL("../lib/runtime/no-delay-off.mjs", import.meta.url))}` } },
] as const;

interface Runs {
  readonly rounds: number;
  readonly concurrency: readonly number[];
  readonly durationMs: number;
  readonly warmupMs: number;
}

interface Figures {
  readonly perSecond: number;
  readonly cells: (string | number)[];
}

/** One client process with one setting against the running ledger: calls/s and the row's other cells. */
async function measureOne(ledger: LedgerUnderTest, body: string, setting: Setting, concurrency: number, runs: Runs): Promise<Figures> {
  const pid = ledger.service.child.pid!;
  const run: NetworkRun = {
    port: ledger.service.port,
    path: `/${LedgerService.typeName}/${LedgerService.method.getBalances.name}`,
    body,
    warmupMs: runs.warmupMs,
    durationMs: runs.durationMs,
    ...setting,
    connections: setting.connections === -1 ? concurrency : setting.connections,
    concurrency,
    authorization: await operatorAuthorization(LedgerService.typeName), // fresh per run: well inside its five minutes
  };
  const child = forkTs(CLIENT_SCRIPT, run);
  await message(child, "measuring");
  const cpu = cpuSeconds(pid);
  const r = await message<ClientResult>(child, "result");
  const perCall = (seconds: number) => Math.round((seconds * 1e6) / Math.max(1, r.ok));
  for (const [text, count] of Object.entries(r.errorsByMessage)) console.error(`  @${concurrency}: ${count} × ${text}`);
  const cells = [
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.errors,
    perCall(cpuSeconds(pid) - cpu),
    perCall(r.clientCpuSeconds),
    loadavg()[0]!.toFixed(1),
  ];
  return { perSecond: Math.round(r.ok / r.seconds), cells };
}

/**
 * One ledger with its server setting; every client setting (the first two only with the server's TCP_NODELAY off) at
 * every concurrency, `rounds` times in turn so that load from other work falls on all of them; the median round's row.
 */
async function rowsFor(server: (typeof SERVERS)[number], runs: Runs): Promise<(string | number)[][]> {
  const ledger = await startLedger(server.env);
  try {
    const [accountId] = await fundedAccounts(ledger.client, 1, 1_000_000n, `rpc-network-${process.pid}`);
    const request = toBinary(GetBalancesRequestSchema, create(GetBalancesRequestSchema, { accountIds: [accountId!] }));
    const framed = Buffer.alloc(5 + request.length); // gRPC's length prefix: a flags byte, then the length
    framed.writeUInt32BE(request.length, 1);
    framed.set(request, 5);
    const settings = server.name === "on" ? SETTINGS : SETTINGS.slice(0, 2);
    const cases = runs.concurrency.flatMap((concurrency) => settings.map((s) => ({ concurrency, ...s })));
    const rounds: Figures[][] = cases.map(() => []);
    for (let round = 0; round < runs.rounds; round++) {
      for (const [i, c] of cases.entries())
        rounds[i]!.push(await measureOne(ledger, framed.toString("base64"), c.setting, c.concurrency, runs));
    }
    return cases.map((c, i) => {
      const sorted = [...rounds[i]!].sort((x, y) => x.perSecond - y.perSecond);
      const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
      return [c.concurrency, server.name, c.name, median.perSecond, rounds[i]!.map((f) => f.perSecond).join(" / "), ...median.cells];
    });
  } finally {
    await ledger.stop();
  }
}

export const rpcNetwork = command({
  name: "rpc network",
  summary: "TCP_NODELAY, connection reuse, keep-alive pings and streams per connection on the ledger's GetBalances",
  options: {
    concurrency: intList("calls in flight, each a run of every setting", "1,32"),
    duration: duration("measured time per setting", "5s"),
    warmup: duration("time per setting before measuring, not counted", "1s"),
    rounds: int("times every setting is run, in turn; the median round is reported", 3),
  },
  async run(values) {
    const loadBefore = loadavg()[0]!;
    const runs = { rounds: values.rounds, concurrency: values.concurrency, durationMs: values.duration, warmupMs: values.warmup };
    const rows: (string | number)[][] = [];
    for (const server of SERVERS) rows.push(...(await rowsFor(server, runs)));
    rows.sort((a, b) => Number(a[0]) - Number(b[0]));
    const headers = [
      "in flight",
      "ledger NODELAY",
      "client setting",
      "calls/s",
      "p50 ms",
      "p99 ms",
      "errors",
      "ledger CPU µs/call",
      "client CPU µs/call",
      "load 1m",
    ];
    console.log(
      `rpc network — GetBalances on the ledger service, ${values.duration / 1_000} s per row after ${values.warmup / 1_000} s of warm-up, ${values.rounds} rounds (the median round's figures); Node ${process.version}`,
    );
    console.log(table(headers, rows));
    console.log(
      `machine: ${cpus().length} cores, 1-min load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (other work shares the cores)`,
    );
  },
});
