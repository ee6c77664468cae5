// The issue-20 experiments of ADRs 0001, 0003, 0007 and 0025 still run end to
// end on tiny sizes, with the checks they print: every order answered, the
// transfer databases consistent, no prepared transaction left.
import { fileURLToPath } from "node:url";
import { run } from "@kuku/testkit";
import pg from "pg";
import t from "tap";

const CLI = fileURLToPath(new URL("../bin/kuku-bench.mjs", import.meta.url));
const bench = (...args: string[]) => run(process.execPath, [CLI, ...args]);
const rowsOf = (stdout: string, first: RegExp) =>
  stdout
    .split("\n")
    .map((l) => l.trim().split(/\s{2,}/))
    .filter((cells) => first.test(cells[0] ?? ""));

t.test("help lists the experiments", async (t) => {
  const help = await bench("--help");
  for (const name of ["exchange legacy", "orders 2pc", "architecture monolith", "infra footprint"]) t.match(help.stdout, name);
});

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
