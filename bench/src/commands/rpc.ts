// kuku-bench rpc: what one unary call costs in the RPC layer (issue 21). Bare
// connect-node and @grpc/grpc-js servers, each called by a Node client on
// either transport and by ghz; the platform's server with no interceptor,
// then each one alone, then the built-in ones together; and the ledger's
// GetBalances through the real service. Servers and Node clients each run in
// a process of their own, so a server's CPU time per call is its own.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { Health } from "@kuku/contracts/grpc/health/v1/health_pb";
import { LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { operatorAuthorization } from "@kuku/testkit";
import { choiceList, command, duration, int, text } from "../lib/command.js";
import { fundedAccounts, startLedger } from "../lib/ledger.js";
import { cpuSeconds } from "../lib/proc.js";
import type { CallFigures, ClientResult } from "../lib/rpc/client-loop.js";
import { disconnectAndWait, forkTs, message } from "../lib/rpc/fork.js";
import { ghz, writeProtoset } from "../lib/rpc/ghz.js";
import { makeMtlsCertificates } from "../lib/rpc/mtls.js";
import { type ClientRun, ROW_NAMES, ROWS, type Row, type ServerSpec } from "../lib/rpc/rows.js";
import { table } from "../lib/stats.js";

const SERVER_SCRIPT = fileURLToPath(new URL("../lib/rpc/server-process.ts", import.meta.url));
const CLIENT_SCRIPT = fileURLToPath(new URL("../lib/rpc/client-process.ts", import.meta.url));
/** The issue's figure for GetBalances through the ledger with ghz, 32 in flight. */
const LEDGER_BASELINE_PER_SECOND = 1_097;

interface Settings {
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly rounds: number;
  readonly profileDir: string | undefined;
  readonly workDir: string;
}

/** What a row's client measured, and the server's CPU time over the same window. */
interface Measured extends CallFigures {
  readonly serverCpuSeconds: number;
  /** A Node client's own CPU time over the window; undefined for ghz (a Go process, not the hop's client). */
  readonly clientCpuSeconds?: number;
}

/** A running server: its pid (for its CPU time), its port, what ghz calls on it. */
interface ServerUnderTest {
  readonly pid: number;
  readonly port: number;
  readonly ghz: {
    readonly protoset: string;
    readonly method: Parameters<typeof writeProtoset>[1];
    readonly data: object;
    readonly metadata?: Readonly<Record<string, string>>;
  };
  stop(): Promise<void>;
}

async function startForked(spec: Exclude<ServerSpec, { kind: "ledger" }>, settings: Settings): Promise<ServerUnderTest> {
  const tls = spec.kind === "grpc-js-mtls" ? { tlsDir: await mtlsDir(settings) } : {};
  const child = forkTs(SERVER_SCRIPT, { ...spec, ...tls }, { profileDir: settings.profileDir });
  const port = await message<number>(child, "port");
  const protoset = `${settings.workDir}/health.protoset`;
  writeProtoset(protoset, Health.method.check);
  return {
    pid: child.pid!,
    port,
    ghz: { protoset, method: Health.method.check, data: {} },
    stop: () => disconnectAndWait(child),
  };
}

/** The ledger service on a fresh database, with one funded account to read. */
async function startLedgerService(settings: Settings): Promise<ServerUnderTest> {
  const ledger = await startLedger({}, settings.profileDir);
  const [accountId] = await fundedAccounts(ledger.client, 1, 1_000_000n, `rpc-bench-${process.pid}`);
  const protoset = `${settings.workDir}/ledger.protoset`;
  writeProtoset(protoset, LedgerService.method.getBalances);
  return {
    pid: ledger.service.child.pid!,
    port: ledger.service.port,
    ghz: {
      protoset,
      method: LedgerService.method.getBalances,
      data: { accountIds: [accountId] },
      // The operator's token: one per run, well inside its five minutes (the service verifies it once).
      metadata: { authorization: await operatorAuthorization(LedgerService.typeName) },
    },
    stop: () => ledger.stop(),
  };
}

/** The mTLS row's certificates, made once per run in the work dir. */
async function mtlsDir(settings: Settings): Promise<string> {
  if (!existsSync(`${settings.workDir}/ca.pem`)) await makeMtlsCertificates(settings.workDir);
  return settings.workDir;
}

async function viaNodeClient(row: Row, server: ServerUnderTest, settings: Settings): Promise<Measured> {
  const run: ClientRun = {
    client: row.client as ClientRun["client"],
    port: server.port,
    concurrency: settings.concurrency,
    warmupMs: settings.warmupMs,
    durationMs: settings.durationMs,
    ...(row.client === "grpc-js-mtls" ? { tlsDir: await mtlsDir(settings) } : {}),
  };
  const child = forkTs(CLIENT_SCRIPT, run);
  await message(child, "measuring");
  const cpu = cpuSeconds(server.pid);
  const result = await message<ClientResult>(child, "result");
  return { ...result, serverCpuSeconds: cpuSeconds(server.pid) - cpu };
}

async function viaGhz(server: ServerUnderTest, settings: Settings): Promise<Measured> {
  const run = { port: server.port, ...server.ghz, concurrency: settings.concurrency };
  if (settings.warmupMs > 0) await ghz({ ...run, durationMs: settings.warmupMs });
  const cpu = cpuSeconds(server.pid);
  const result = await ghz({ ...run, durationMs: settings.durationMs });
  return { ...result, serverCpuSeconds: cpuSeconds(server.pid) - cpu };
}

/** The rows in the order asked, those on one server together. */
function byServer(rows: readonly Row[]): Row[][] {
  const groups = new Map<string, Row[]>();
  for (const row of rows) groups.set(row.server, [...(groups.get(row.server) ?? []), row]);
  return [...groups.values()];
}

interface Figures {
  readonly row: Row;
  readonly perSecond: number;
  readonly measured: Measured;
  readonly load: number;
}

/** One round: every row once, each server started afresh. */
async function measureRound(rows: readonly Row[], settings: Settings): Promise<Figures[]> {
  const figures: Figures[] = [];
  for (const group of byServer(rows)) {
    const spec = group[0]!.spec;
    const server = spec.kind === "ledger" ? await startLedgerService(settings) : await startForked(spec, settings);
    try {
      for (const row of group) {
        const measured = row.client === "ghz" ? await viaGhz(server, settings) : await viaNodeClient(row, server, settings);
        const figure = { row, perSecond: Math.round(measured.ok / measured.seconds), measured, load: loadavg()[0]! };
        figures.push(figure);
        console.error(`  ${row.name}: ${figure.perSecond}/s`);
      }
    } finally {
      await server.stop();
    }
  }
  return figures;
}

/** Server CPU time per successful call, in µs. */
const cpuMicrosPerCall = (m: Measured) => microsPerCall(m.serverCpuSeconds, m);
/** A Node client's CPU time per successful call, in µs; "-" for ghz. */
const clientMicrosPerCall = (m: Measured) => (m.clientCpuSeconds === undefined ? "-" : microsPerCall(m.clientCpuSeconds, m));
const microsPerCall = (cpuSeconds: number, m: Measured) => (m.ok === 0 ? Number.NaN : Math.round((cpuSeconds / m.ok) * 1e6));

interface RowResult {
  /** The round with the median rate. */
  readonly figures: Figures;
  readonly rounds: readonly Figures[];
}

function medians(rounds: readonly (readonly Figures[])[]): RowResult[] {
  return rounds[0]!.map((_, i) => {
    const ofRow = rounds.map((round) => round[i]!);
    const sorted = [...ofRow].sort((a, b) => a.perSecond - b.perSecond);
    return { figures: sorted[Math.floor((sorted.length - 1) / 2)]!, rounds: ofRow };
  });
}

function report(results: readonly RowResult[], settings: Settings, loadBefore: number): void {
  // With more than one round, each round's figure next to the median round's.
  const perRound = settings.rounds > 1;
  const rounds = (of: readonly Figures[], figure: (f: Figures) => number | string) => (perRound ? [of.map(figure).join(" / ")] : []);
  const rows = results.map(({ figures: { row, perSecond, measured: m, load }, rounds: of }) => [
    row.server,
    row.client,
    perSecond,
    ...rounds(of, (f) => f.perSecond),
    m.p50Ms.toFixed(2),
    m.p99Ms.toFixed(2),
    m.errors,
    cpuMicrosPerCall(m),
    ...rounds(of, (f) => cpuMicrosPerCall(f.measured)),
    `${Math.round((100 * m.serverCpuSeconds) / m.seconds)}%`,
    clientMicrosPerCall(m),
    ...rounds(of, (f) => clientMicrosPerCall(f.measured)),
    load.toFixed(2),
  ]);
  console.log(
    `rpc — unary calls, ${settings.concurrency} in flight on one HTTP/2 connection, ${settings.durationMs / 1000} s per row after ${settings.warmupMs / 1000} s of warm-up, ${settings.rounds} round(s) (figures from the median round); Node ${process.version}`,
  );
  const each = perRound ? ["per round"] : [];
  const headers = [
    "server",
    "client",
    "calls/s",
    ...each,
    "p50 ms",
    "p99 ms",
    "errors",
    "server CPU µs/call",
    ...each,
    "server CPU",
    "client CPU µs/call",
    ...each,
    "load 1m",
  ];
  console.log(table(headers, rows));
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), 1-min load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end (other work shares the cores); server CPU: user+system time of the server's process over the measured window (100% = one core); client CPU: the Node client process's, per call`,
  );
  for (const line of goals(results.map((r) => r.figures))) console.log(line);
  for (const { figures: f } of results) {
    for (const [message, count] of Object.entries(f.measured.errorsByMessage))
      console.log(`errors in ${f.row.name}: ${count} × ${message}`);
  }
}

/** The issue's goals, for the rows that were run. */
function goals(figures: readonly Figures[]): string[] {
  const rate = (name: string) => figures.find((f) => f.row.name === name)?.perSecond;
  const lines: string[] = [];
  const hops = ["connect/connect", "grpc-js/grpc-js", "platform+all/platform", "platform-grpcjs+all/platform"].filter(
    (n) => rate(n) !== undefined,
  );
  if (hops.length > 0) {
    lines.push(`Node-to-Node hop (goal >= 7,000/s): ${hops.map((n) => `${n} ${rate(n)}/s`).join(", ")}`);
  }
  const [connect, platform] = [rate("connect/connect"), rate("platform-grpcjs+all/platform")];
  if (connect !== undefined && platform !== undefined) {
    lines.push(`the platform's hop (goal >= 3x connect/connect): ${(platform / connect).toFixed(2)}x`);
  }
  // The hop's ceiling is a core per side: what the platform's client spends per call, next to a bare grpc-js Client.
  const clientCpu = (name: string) => {
    const f = figures.find((x) => x.row.name === name);
    return f === undefined ? undefined : clientMicrosPerCall(f.measured);
  };
  const [bareClient, platformClient] = [clientCpu("grpc-js/grpc-js"), clientCpu("platform-grpcjs+all/platform")];
  if (bareClient !== undefined && platformClient !== undefined) {
    lines.push(`client CPU per call: the platform's client ${platformClient} µs, a bare grpc-js Client ${bareClient} µs`);
  }
  const pairs = [
    ["platform+all/ghz", "platform/ghz"],
    ["platform+all/ghz", "connect/ghz"],
    ["platform-grpcjs+all/ghz", "platform-grpcjs/ghz"],
    ["platform-grpcjs+all/ghz", "grpc-js/ghz"],
  ] as const;
  for (const [all, bare] of pairs) {
    const [withAll, without] = [rate(all), rate(bare)];
    if (withAll !== undefined && without !== undefined) {
      lines.push(`platform's interceptors (goal <= 15 %): ${all} is ${Math.round(100 * (1 - withAll / without))} % below ${bare}`);
    }
  }
  const [plain, mtls] = [
    figures.find((f) => f.row.name === "grpc-js/grpc-js"),
    figures.find((f) => f.row.name === "grpc-js-mtls/grpc-js-mtls"),
  ];
  if (plain !== undefined && mtls !== undefined) {
    lines.push(
      `mutual TLS per call (ADR 0021): grpc-js-mtls/grpc-js-mtls ${mtls.perSecond}/s, ${cpuMicrosPerCall(mtls.measured)} µs server CPU/call vs grpc-js/grpc-js ${plain.perSecond}/s, ${cpuMicrosPerCall(plain.measured)} µs`,
    );
  }
  const ledger = rate("ledger/ghz");
  if (ledger !== undefined) {
    lines.push(
      `ledger GetBalances (goal >= 2x ${LEDGER_BASELINE_PER_SECOND}/s): ${ledger}/s, ${(ledger / LEDGER_BASELINE_PER_SECOND).toFixed(2)}x`,
    );
  }
  return lines;
}

export const rpc = command({
  name: "rpc",
  summary: "the RPC layer per call: bare connect-node and grpc-js, the platform's server per interceptor, the ledger's GetBalances",
  options: {
    rows: choiceList(ROW_NAMES, "rows to run, as <server>/<client>"),
    duration: duration("measured time per row", "3s"),
    warmup: duration("time per row before measuring (JIT, connections), not counted", "1s"),
    concurrency: int("calls in flight per client, on one HTTP/2 connection", 32),
    rounds: int("times every row is run, in turn (load from other work falls on all rows)", 1),
    "cpu-prof-dir": text("write a V8 CPU profile of every server process here"),
  },
  async run(values) {
    const loadBefore = loadavg()[0]!;
    const workDir = mkdtempSync(`${tmpdir()}/kuku-rpc-bench-`);
    const settings: Settings = {
      concurrency: values.concurrency,
      durationMs: values.duration,
      warmupMs: values.warmup,
      rounds: values.rounds,
      profileDir: values["cpu-prof-dir"],
      workDir,
    };
    try {
      const rows = ROWS.filter((r) => values.rows.includes(r.name));
      const rounds: Figures[][] = [];
      for (let round = 1; round <= values.rounds; round++) {
        console.error(`round ${round} of ${values.rounds}`);
        rounds.push(await measureRound(rows, settings));
      }
      report(medians(rounds), settings, loadBefore);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  },
});
