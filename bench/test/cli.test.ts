// The benchmark commands still run end to end, on tiny sizes: a smoke test of
// the harness (figures are read from real runs, see docs/benchmarks).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { run } from "@kuku/testkit";
import t from "tap";

const CLI = fileURLToPath(new URL("../bin/kuku-bench.mjs", import.meta.url));
const bench = (...args: string[]) => run(process.execPath, [CLI, ...args]);

t.test("help lists every command; bad flags are usage errors", async (t) => {
  const help = await bench("--help");
  t.equal(help.code, 0);
  for (const name of [
    "ledger transfers",
    "ledger bulk",
    "ledger isolation",
    "ledger engines",
    "exchange matching",
    "exchange journal",
    "orders",
    "locks",
    "locks drill",
    "market fanout",
    "market brokers",
    "drill exchange-flaky",
    "drill l4",
    "drill chaos",
    "rpc",
    "identity",
  ]) {
    t.match(help.stdout, name);
  }
  const bad = await bench("ledger", "transfers", "--concurrency", "0,x");
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--concurrency must be a comma-separated list of positive integers/);
  const unknown = await bench("ledger", "nothing");
  t.equal(unknown.code, 2);
});

t.test("identity: the four rows, each with a positive rate", async (t) => {
  const r = await bench("identity", "--calls", "300");
  t.equal(r.code, 0, r.stderr);
  for (const row of ["no identity", "cached: a known token", "mint a token", "first sight of a token"]) {
    t.match(r.stdout, new RegExp(`${row}.*\\s[1-9]\\d*\\s+\\d+\\.\\d\\s+\\d+\\.\\d`), row);
  }
});

t.test("ledger transfers: rows per concurrency, exact balances, pgbench ceiling", async (t) => {
  const r = await bench("ledger", "transfers", "--concurrency", "2,4", "--duration", "1s", "--accounts", "10", "--pgbench-clients", "2");
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^\s+2\s+\d+\s+0\s+\d+/m, "a row for concurrency 2 with no failures");
  t.match(r.stdout, /^\s+4\s+\d+\s+0\s+\d+/m, "a row for concurrency 4");
  t.match(r.stdout, /integrity: clean .* sum of balances conserved/);
  t.match(r.stdout, /pgbench -N -c 2 on the same server: \d+ tps/);
});

t.test("ledger bulk: loads, verifies and reads back the same balance", async (t) => {
  const r = await bench("ledger", "bulk", "--entries", "3000", "--accounts", "20", "--batch", "500", "--samples", "5");
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /integrity: clean \(3020 entries, 6040 postings, 21 accounts\); sum of balances conserved/);
  t.match(r.stdout, /materialised balance equals the sum of postings/);
});

t.test("ledger bulk: through SubmitBatch by default, straight SQL on request; both verified", async (t) => {
  const args = ["--entries", "1200", "--accounts", "10", "--batch", "300", "--samples", "2"];
  const service = await bench("ledger", "bulk", ...args);
  t.equal(service.code, 0, service.stderr);
  t.match(service.stdout, /SubmitBatch calls of 300, 2 loaders/);
  t.match(service.stdout, /load \+ verify\s+[\d.]+\s+\(the goal is 1000000 entries via the service\)/);
  t.match(service.stdout, /integrity: clean \(1210 entries, 2420 postings, 11 accounts\); sum of balances conserved/);
  const sql = await bench("ledger", "bulk", "--via", "sql", ...args);
  t.equal(sql.code, 0, sql.stderr);
  t.match(sql.stdout, /SQL transactions of 300, 2 loaders/);
  t.match(sql.stdout, /integrity: clean \(1210 entries, 2420 postings, 11 accounts\); sum of balances conserved/);
});

t.test("exchange journal: per group size a row of figures, and every sampled order the same after kill -9", async (t) => {
  const r = await bench("exchange", "journal", "--group", "1,50", "--duration", "1s", "--concurrency", "8");
  t.equal(r.code, 0, r.stderr);
  const rows = r.stdout
    .split("\n")
    .filter((l) => /^\s+(1|50)\s+\d+/.test(l))
    .map((l) => l.trim().split(/\s{2,}/));
  t.same(
    rows.map((row) => row[0]),
    ["1", "50"],
  );
  for (const row of rows) {
    t.equal(row[5], row[1], "every answered order is a journaled command");
    t.ok(Number(row[6]) <= Number(row[5]), "no more commits than commands");
    t.match(row[9], /^(\d+)\/\1$/, "the same after the restart");
  }
  t.equal(rows[0]?.[6], rows[0]?.[5], "group max 1: one commit per command");
});

t.test("ledger isolation: read-then-write loses updates under READ COMMITTED only", async (t) => {
  const r = await bench("ledger", "isolation", "--workers", "8", "--debits", "10", "--trials", "5");
  t.equal(r.code, 0, r.stderr);
  const row = (isolation: string, strategy: string) =>
    r.stdout
      .split("\n")
      .find((l) => l.trim().startsWith(isolation) && l.includes(strategy))
      ?.trim()
      .split(/\s{2,}/);
  t.equal(row("SERIALIZABLE", "read, then write")?.[3], "0", "no lost update under SERIALIZABLE");
  t.equal(row("READ COMMITTED", "SELECT ... FOR UPDATE")?.[3], "0", "no lost update with FOR UPDATE");
  t.equal(row("SERIALIZABLE", "lock the debited row only")?.[2], "0/5", "SERIALIZABLE prevents write skew");
  t.equal(row("READ COMMITTED", "lock the debited row only")?.[2], "5/5", "row locks alone let write skew through");
});

t.test("locks: every strategy runs against PostgreSQL and the three Redis servers, and counts anomalies", async (t) => {
  const dir = t.testdir();
  const r = await bench("locks", "--accounts", "1", "--concurrency", "2,4", "--duration", "1s", "--json", `${dir}/locks.json`);
  t.equal(r.code, 0, r.stderr);
  const json = JSON.parse(readFileSync(`${dir}/locks.json`, "utf8")) as { results: unknown[] };
  t.equal(json.results.length, 10, "five strategies x two concurrencies in the JSON");
  t.equal(readFileSync(`${dir}/locks.svg`, "utf8").match(/<path /g)?.length, 10, "a line per strategy in both panels");
  for (const name of ["pessimistic", "optimistic", "atomic", "redlock", "redlock-fenced"]) {
    const row = r.stdout
      .split("\n")
      .find((l) => l.trim().startsWith(`${name} `))
      ?.trim()
      .split(/\s+/);
    t.ok(row, `a row for ${name}`);
    t.ok(Number(row?.[3]) > 0, `${name} debited`);
    t.same(row?.slice(-2), ["0", "0"], `${name}: no overdraft, no lost or doubled debit`);
  }
  const bad = await bench("locks", "--strategy", "mutex");
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--strategy: unknown mutex for --via direct/);
});

t.test("locks --via ledger: every balance guard through the ledger service, integrity checked after each run", async (t) => {
  const dir = t.testdir();
  const r = await bench(
    "locks",
    "--via",
    "ledger",
    "--accounts",
    "1",
    "--concurrency",
    "4",
    "--duration",
    "1s",
    "--json",
    `${dir}/ledger.json`,
  );
  t.equal(r.code, 0, r.stderr);
  const json = JSON.parse(readFileSync(`${dir}/ledger.json`, "utf8")) as { via: string; results: unknown[] };
  t.equal(json.via, "ledger");
  t.equal(json.results.length, 5, "five guards x one concurrency");
  for (const name of ["row-lock", "optimistic", "atomic", "redlock-fenced", "batched"]) {
    const row = r.stdout
      .split("\n")
      .find((l) => l.trim().startsWith(`${name} `))
      ?.trim()
      .split(/\s+/);
    t.ok(Number(row?.[3]) > 0, `${name} placed holds`);
    t.same(row?.slice(-3), ["0", "0", "0"], `${name}: no overdraft, holds exact, VerifyIntegrity clean`);
  }
  const bad = await bench("locks", "--via", "ledger", "--strategy", "redlock");
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--strategy: unknown redlock for --via ledger; choose from all, row-lock, optimistic, atomic, redlock-fenced/);
  const ledgerOnly = await bench("locks", "--pool-size", "8");
  t.equal(ledgerOnly.code, 2);
  t.match(ledgerOnly.stderr, /--pool-size applies to --via ledger only/);
  const via = await bench("locks", "--via", "kafka");
  t.equal(via.code, 2);
  t.match(via.stderr, /--via must be one of direct, ledger/);
  const help = await bench("locks", "--help");
  for (const flag of [
    "--via",
    "--strategy",
    "--accounts",
    "--concurrency",
    "--duration",
    "--lock-ttl-ms",
    "--pool-size",
    "--attempts-max",
    "--json",
    "--help",
  ]) {
    t.match(help.stdout, flag, `--help documents ${flag}`);
  }
});

t.test("locks drill: a paused holder loses an update without fencing, not with it; quorum needs 2 of 3", async (t) => {
  const r = await bench("locks", "drill");
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /redlock {2}paused holder: debited, second: debited .* LOST UPDATE/);
  t.match(r.stdout, /redlock-fenced {3}paused holder: fenced, second: debited .* none/);
  t.match(r.stdout, /1 of 3 Redis stopped +lock acquired +as expected/);
  t.match(r.stdout, /2 of 3 Redis stopped +lock refused +as expected/);
});

t.test("market fanout: clients in worker processes receive every trade's update", async (t) => {
  const r = await bench("market", "fanout", "--clients", "20", "--symbols", "2", "--rate", "20", "--duration", "2s", "--warmup", "1s");
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /20 clients connected and subscribed in \d+ ms \(20 snapshots\)/);
  t.match(
    r.stdout,
    /^\s+20\s+2\s+20\s+100\.00 %\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+0\s+0\s+0\s/m,
    "all delivered, no gaps, no closed clients, no resyncs",
  );
  t.match(r.stdout, /final state: 20 of 20 clients ended at their symbol's last sequence/);
});

t.test("rpc: every server and client pair, each interceptor alone, the ledger; a positive rate and no errors in every row", async (t) => {
  const r = await bench("rpc", "--duration", "1s", "--warmup", "200ms", "--concurrency", "4");
  t.equal(r.code, 0, r.stderr);
  const rows = r.stdout
    .split("\n")
    .map((l) => l.trim().split(/\s{2,}/))
    .filter((cells) => /^(connect|grpc-js|platform|ledger)/.test(cells[0] ?? "") && cells.length === 10);
  t.same(
    rows.map(([server, client]) => `${server}/${client}`),
    [
      "connect/connect",
      "connect/grpc-js",
      "connect/ghz",
      "grpc-js/connect",
      "grpc-js/grpc-js",
      "grpc-js/ghz",
      "grpc-js-mtls/grpc-js-mtls",
      "platform/ghz",
      "platform+metrics/ghz",
      "platform+tracing/ghz",
      "platform+errors/ghz",
      "platform+validation/ghz",
      "platform+faults/ghz",
      "platform+all/ghz",
      "platform+all/connect",
      "platform+all/platform",
      "platform-grpcjs/ghz",
      "platform-grpcjs+metrics/ghz",
      "platform-grpcjs+tracing/ghz",
      "platform-grpcjs+errors/ghz",
      "platform-grpcjs+validation/ghz",
      "platform-grpcjs+faults/ghz",
      "platform-grpcjs+all/ghz",
      "platform-grpcjs+all/grpc-js",
      "platform-grpcjs+all/platform",
      "ledger/ghz",
    ],
  );
  for (const [server, client, rate, , , errors, cpuPerCall, , clientCpuPerCall] of rows) {
    t.ok(Number(rate) > 0, `${server}/${client}: a positive rate`);
    const why = r.stdout.split("\n").filter((l) => l.startsWith(`errors in ${server}/${client}:`));
    t.equal(errors, "0", `${server}/${client}: no errors ${why.join("; ")}`);
    t.ok(Number(cpuPerCall) >= 0, `${server}/${client}: server CPU per call`);
    // A Node client's own CPU per call; ghz is a Go process, not measured.
    if (client === "ghz") t.equal(clientCpuPerCall, "-", `${server}/${client}: no client CPU for ghz`);
    else t.ok(Number(clientCpuPerCall) > 0, `${server}/${client}: client CPU per call`);
  }
  t.match(r.stdout, /1-min load average \d+\.\d+ at the start/);
  t.match(r.stdout, /ledger GetBalances \(goal >= 2x 1097\/s\): \d+\/s/);
  t.match(
    r.stdout,
    /mutual TLS per call \(ADR 0021\): grpc-js-mtls\/grpc-js-mtls \d+\/s, \d+ µs server CPU\/call vs grpc-js\/grpc-js \d+\/s/,
  );
  const bad = await bench("rpc", "--rows", "connect/curl");
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--rows: one or more of connect\/connect/);
});
