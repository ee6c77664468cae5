// kuku-bench rpc-formats: what the wire format costs one call (ADR 0002).
// GetBalances and PlaceHold as gRPC (protobuf, HTTP/2), Connect (JSON or
// protobuf, HTTP/1.1 or HTTP/2) and plain REST/JSON on node:http, served by
// bare servers answering the same data, then by the real ledger (gRPC and
// Connect JSON on its one port). Servers and clients each run in a process of
// their own: the server's CPU per call, the client's CPU per call and the
// bytes per call on the client's sockets are each that process's own.
import { randomUUID } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { operatorAuthorization } from "@kuku/testkit";
import { choiceList, command, duration, int, text } from "../lib/command.js";
import { fundedAccounts, startLedger } from "../lib/ledger.js";
import { cpuSeconds } from "../lib/proc.js";
import type { ClientResult } from "../lib/rpc/client-loop.js";
import { disconnectAndWait, forkTs, message } from "../lib/rpc/fork.js";
import {
  FORMAT_METHODS,
  FORMAT_ROW_NAMES,
  FORMAT_ROWS,
  type FormatClientRun,
  type FormatMethod,
  type FormatRow,
} from "../lib/rpc/formats.js";
import { table } from "../lib/stats.js";

const SERVER_SCRIPT = fileURLToPath(new URL("../lib/rpc/format-server.ts", import.meta.url));
const CLIENT_SCRIPT = fileURLToPath(new URL("../lib/rpc/format-client.ts", import.meta.url));

interface Server {
  readonly pid: number;
  readonly port: number;
  /** The account the calls name: funded in the real ledger, any id for a bare server. */
  readonly accountId: string;
  /** What its callers must present: the operator's token for the real ledger. */
  readonly authorization?: string;
  stop(): Promise<void>;
}

async function startServer(row: FormatRow, profileDir: string | undefined): Promise<Server> {
  if (row.server === "ledger") {
    const ledger = await startLedger({}, profileDir);
    // PlaceHold reserves 100 won a call: enough for any run.
    const [accountId] = await fundedAccounts(ledger.client, 1, 1_000_000_000_000n, `rpc-formats-${process.pid}`);
    const authorization = await operatorAuthorization(LedgerService.typeName);
    return { pid: ledger.service.child.pid!, port: ledger.service.port, accountId: accountId!, authorization, stop: () => ledger.stop() };
  }
  const child = forkTs(SERVER_SCRIPT, { kind: row.server }, { profileDir });
  const port = await message<number>(child, "port");
  return { pid: child.pid!, port, accountId: randomUUID(), stop: () => disconnectAndWait(child) };
}

interface Figures {
  readonly row: FormatRow;
  readonly method: FormatMethod;
  readonly result: ClientResult;
  readonly serverCpuSeconds: number;
  readonly load: number;
}

/** What every row's client is told alike; measure() adds the row's own client, server and method. */
type Loop = Omit<FormatClientRun, "client" | "port" | "method" | "accountId" | "authorization">;

async function measure(row: FormatRow, method: FormatMethod, server: Server, loop: Loop): Promise<Figures> {
  const child = forkTs(CLIENT_SCRIPT, {
    ...loop,
    client: row.client,
    port: server.port,
    method,
    accountId: server.accountId,
    authorization: server.authorization,
  });
  await message(child, "measuring");
  const cpu = cpuSeconds(server.pid);
  const result = await message<ClientResult>(child, "result");
  const figures = { row, method, result, serverCpuSeconds: cpuSeconds(server.pid) - cpu, load: loadavg()[0]! };
  console.error(`  ${method} ${row.name}: ${Math.round(result.ok / result.seconds)}/s`);
  return figures;
}

const perCall = (value: number, f: Figures) => (f.result.ok === 0 ? Number.NaN : Math.round(value / f.result.ok));

function report(figures: readonly Figures[], loop: Loop, loadBefore: number) {
  console.log(
    `rpc-formats — unary calls, ${loop.concurrency} in flight, ${loop.durationMs / 1000} s per row after ${loop.warmupMs / 1000} s of warm-up; Node ${process.version}`,
  );
  const rows = figures.map((f) => [
    f.method,
    f.row.server,
    f.row.client,
    f.row.wire,
    Math.round(f.result.ok / f.result.seconds),
    f.result.p50Ms.toFixed(2),
    f.result.p99Ms.toFixed(2),
    f.result.errors,
    perCall(f.result.ioBytes, f),
    perCall(f.serverCpuSeconds * 1e6, f),
    perCall(f.result.clientCpuSeconds * 1e6, f),
    f.load.toFixed(2),
  ]);
  const headers = [
    "method",
    "server",
    "client",
    "wire",
    "calls/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "bytes/call",
    "server CPU µs/call",
    "client CPU µs/call",
    "load 1m",
  ];
  console.log(table(headers, rows));
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), 1-min load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end; ` +
      "bytes/call: what the client process read and wrote (/proc/<pid>/io rchar+wchar) over the window per call, request and response with headers and framing; " +
      "server CPU: user+system time of the server process (the ledger's own, not PostgreSQL's) per call",
  );
  for (const f of figures) {
    for (const [text, count] of Object.entries(f.result.errorsByMessage))
      console.log(`errors in ${f.method} ${f.row.name}: ${count} × ${text}`);
  }
}

export const rpcFormats = command({
  name: "rpc-formats",
  summary: "one ledger call as gRPC, Connect JSON/protobuf and plain REST/JSON: calls/s, p99, bytes and CPU per call (ADR 0002)",
  options: {
    rows: choiceList(FORMAT_ROW_NAMES, "rows to run, as <server>/<client>"),
    methods: choiceList(FORMAT_METHODS, "the calls: GetBalances of one account, PlaceHold of 100 won"),
    duration: duration("measured time per row", "3s"),
    warmup: duration("time per row before measuring (JIT, connections), not counted", "1s"),
    concurrency: int("calls in flight per client (one HTTP/2 connection; HTTP/1.1 opens one per call in flight)", 32),
    "cpu-prof-dir": text("write a V8 CPU profile of every server process here"),
  },
  async run(values) {
    const loadBefore = loadavg()[0]!;
    const loop = { concurrency: values.concurrency, warmupMs: values.warmup, durationMs: values.duration };
    const rows = FORMAT_ROWS.filter((r) => values.rows.includes(r.name));
    const figures: Figures[] = [];
    // One server per kind, every row and method on it in turn.
    for (const kind of new Set(rows.map((r) => r.server))) {
      const server = await startServer(rows.find((r) => r.server === kind)!, values["cpu-prof-dir"]);
      try {
        for (const method of values.methods) {
          for (const row of rows.filter((r) => r.server === kind)) {
            figures.push(await measure(row, method, server, loop));
          }
        }
      } finally {
        await server.stop();
      }
    }
    figures.sort((a, b) => values.methods.indexOf(a.method) - values.methods.indexOf(b.method));
    report(figures, loop, loadBefore);
    if (figures.some((f) => f.result.errors > 0 || f.result.ok === 0)) process.exitCode = 1;
  },
});
