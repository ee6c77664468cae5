// The issue-20 experiments still run end to end, on tiny sizes: every row
// there, positive figures, no errors. Their figures are read from real runs
// (docs/adr/0001, 0002, 0003, 0007, 0012, 0025, docs/benchmarks/runtime.md).
import pg from "pg";
import t from "tap";
import { bench, rowsOf } from "./support/cli.js";

t.test("help lists the experiments", async (t) => {
  const help = await bench("--help");
  t.equal(help.code, 0);
  const names = [
    "rpc-formats",
    "gateway hop",
    "runtime gc",
    "runtime kernel",
    "exchange legacy",
    "orders 2pc",
    "architecture monolith",
    "infra footprint",
  ];
  for (const name of names) t.match(help.stdout, name);
});

t.test("rpc-formats: every format row for both methods, positive rate and bytes, no errors", async (t) => {
  const r = await bench("rpc-formats", "--duration", "500ms", "--warmup", "200ms", "--concurrency", "2");
  t.equal(r.code, 0, r.stderr);
  const rows = rowsOf(r.stdout, /^(get-balances|place-hold)$/);
  t.equal(rows.length, 14, "seven rows per method");
  for (const [method, server, client, , rate, , , errors, bytes, serverCpu, clientCpu] of rows) {
    const name = `${method} ${server}/${client}`;
    t.ok(Number(rate) > 0, `${name}: a positive rate`);
    t.equal(errors, "0", `${name}: no errors`);
    t.ok(Number(bytes) > 0, `${name}: bytes on the wire`);
    t.ok(Number(serverCpu) >= 0 && Number(clientCpu) >= 0, `${name}: CPU per call`);
  }
  t.match(r.stdout, /1-min load average \d+\.\d+ at the start/);
  const bad = await bench("rpc-formats", "--rows", "rest/grpc-js");
  t.equal(bad.code, 2);
});

t.test("gateway hop: each read direct and through the gateway, no errors, the hop's cost named", async (t) => {
  const r = await bench("gateway", "hop", "--duration", "500ms", "--warmup", "200ms", "--concurrency", "2");
  t.equal(r.code, 0, r.stderr);
  const rows = rowsOf(r.stdout, /^(portfolio|orders)$/);
  t.equal(rows.length, 6, "three paths per read");
  for (const [read, path, rate, , , errors, gatewayCpu] of rows) {
    t.ok(Number(rate) > 0, `${read} ${path}: a positive rate`);
    t.equal(errors, "0", `${read} ${path}: no errors`);
    if (!path!.startsWith("service")) t.ok(Number(gatewayCpu) > 0, `${read} ${path}: gateway CPU per call`);
  }
  t.match(r.stdout, /portfolio: the gateway hop adds -?\d+\.\d+ ms at p50, -?\d+\.\d+ ms at p99 and \d+ µs of gateway CPU per call/);
  t.match(r.stdout, /orders: the gateway hop adds/);
});

t.test("ledger transfers --pool-size: a row and a clean ledger per size, the knee named; a deadlocking size refused", async (t) => {
  const r = await bench(
    "ledger",
    "transfers",
    ...["--pool-size", "5,8", "--concurrency", "4", "--duration", "500ms", "--accounts", "10", "--pgbench-clients", "2"],
  );
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^\s+4\s+\d+\s+0\s+\d+.*batched\s+5$/m, "a row for pool 5 with no failures");
  t.match(r.stdout, /^\s+4\s+\d+\s+0\s+\d+.*batched\s+8$/m, "a row for pool 8 with no failures");
  t.match(r.stdout, /batched \(pool 5\) integrity: clean/);
  t.match(r.stdout, /batched \(pool 8\) integrity: clean/);
  t.match(r.stdout, /pool knee, batched, 4 in flight: pool (5|8) \(\d+\/s/);
  const refused = await bench("ledger", "transfers", "--pool-size", "4,8");
  t.equal(refused.code, 2);
  t.match(refused.stderr, /--pool-size 4: the batched guard needs more connections than its 4 batch writers/);
});

t.test("runtime gc: a row per semi-space size with the measured run's GC pauses", async (t) => {
  const r = await bench("runtime", "gc", "--orders", "20000", "--runs", "2", "--semi-space-mb", "default,1");
  t.equal(r.code, 0, r.stderr);
  const rows = rowsOf(r.stdout, /^(default|1 MiB)$/);
  t.same(
    rows.map((row) => row[0]),
    ["default", "1 MiB"],
  );
  for (const [size, rate, , , minor] of rows) {
    t.ok(Number(rate) > 0, `${size}: orders/s`);
    t.ok(Number(minor) >= 0, `${size}: minor GCs counted`);
  }
  t.ok(Number(rows[1]?.[4]) > 0, "a 1 MiB young generation collects during the run");
  const bad = await bench("runtime", "gc", "--semi-space-mb", "tiny");
  t.equal(bad.code, 2);
});

t.test("runtime kernel: the parameters read, a burst row per backlog, nothing failed", async (t) => {
  const r = await bench("runtime", "kernel", "--backlog", "16,4096", "--connections", "100");
  t.equal(r.code, 0, r.stderr);
  for (const name of ["net.core.somaxconn", "net.ipv4.ip_local_port_range", "RLIMIT_NOFILE"]) t.match(r.stdout, name);
  const rows = rowsOf(r.stdout, /^(16|4096)$/);
  t.equal(rows.length, 2);
  for (const row of rows) {
    t.equal(row[1], "100", "every connection of the burst");
    t.equal(row[6], "0", "none failed");
  }
});

t.test("market fanout --semi-space-mb: the service's GC pauses traced and reported", async (t) => {
  const r = await bench(
    "market",
    "fanout",
    ...["--clients", "10", "--symbols", "1", "--rate", "10", "--duration", "1s", "--warmup", "500ms", "--semi-space-mb", "1"],
  );
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /service GC, semi-space 1 \(--trace-gc/);
  t.match(r.stdout, /^\s+\d+\s+\d+\s+\d+\s+\d+\.\d+\s+\d+\.\d+\s+\d+\.\d+ %$/m, "a row of GC figures");
});

// ADRs 0001, 0003, 0007 and 0025: every order answered, the transfer databases consistent, no prepared transaction left.
t.test("exchange legacy: every row answered in full and agreeing with OrderStatus, the crash row too", async (t) => {
  const r = await bench("exchange", "legacy", "--duration", "1s", "--loss", "10", "--down", "500ms", "--concurrency", "4");
  t.equal(r.code, 0, r.stderr + r.stdout);
  const rows = rowsOf(r.stdout, /^legacy link/);
  t.equal(rows.length, 3, "lossless, 10 % and the crash");
  for (const cells of rows) {
    const [answered, sent] = cells.at(-3)!.split("/");
    t.equal(answered, sent, `${cells[0]}: every order answered`);
    t.ok(Number(sent) > 0, `${cells[0]}: orders went through`);
  }
});

t.test("orders 2pc: both methods run, the killed 2PC coordinator blocks the row until recovery, nothing left prepared", async (t) => {
  const r = await bench("orders", "2pc", "--duration", "1s", "--recover", "1s", "--accounts", "20", "--concurrency", "2");
  t.equal(r.code, 0, r.stderr + r.stdout);
  t.equal(rowsOf(r.stdout, /^(saga|2pc)$/).length, 4, "a throughput row and a kill row per method");
  const [twoPc] = rowsOf(r.stdout, /^2pc$/).filter((cells) => cells[1] === "2");
  t.ok(Number(twoPc?.[4]) >= 1_000, `the other transaction waited for the recovery (${twoPc?.[4]} ms)`);
  t.match(r.stdout, /consistent: \d+ accepted orders/);
  const admin = new pg.Client({ connectionString: "postgres://kuku:kuku@127.0.0.1:55432/postgres" });
  await admin.connect();
  const left = await admin.query("SELECT gid FROM pg_prepared_xacts WHERE database LIKE 'kuku_bench_2pc_%'").finally(() => admin.end());
  t.equal(left.rowCount, 0, "no prepared transaction left on the shared server");
});

t.test("architecture monolith: a row per form with a positive rate; the ledger answers while the exchange is dead", async (t) => {
  const r = await bench("architecture", "monolith", "--duration", "1s", "--accounts", "10", "--concurrency", "2");
  t.equal(r.code, 0, r.stderr + r.stdout);
  const rows = rowsOf(r.stdout, /^(one process|three processes)$/);
  t.equal(rows.length, 2);
  for (const cells of rows) t.ok(Number(cells[2]) > 0, `${cells[0]}: a positive rate`);
  t.match(r.stdout, /the ledger answered [1-9]\d* GetBalances and failed 0/);
});

t.test("infra footprint: every server up with its memory, cold starts measured", async (t) => {
  const r = await bench("infra", "footprint", "--repeat", "1");
  t.equal(r.code, 0, r.stderr + r.stdout);
  const servers = rowsOf(r.stdout, /^(postgres|redis|kafka \(java\)|zipkin \(java\))$/);
  t.equal(servers.length, 6);
  for (const cells of servers) t.ok(Number(cells[3]) > 0, `${cells[0]} ${cells[1]}: resident memory`);
  t.equal(rowsOf(r.stdout, /^1$/).length, 1, "one cold start row");
});
