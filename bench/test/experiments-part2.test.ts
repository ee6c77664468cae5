// The issue-20 experiments of part 2 still run end to end, on tiny sizes:
// their rows, positive figures, no errors. Their figures are read from real
// runs (docs/adr/0010, docs/benchmarks/runtime.md and load.md).
import t from "tap";
import { bench, rowsOf } from "./support/cli.js";

t.test("help lists the experiments", async (t) => {
  const help = await bench("--help");
  t.equal(help.code, 0);
  for (const name of ["market cache", "rpc network", "reads", "soak", "orders pool"]) t.match(help.stdout, name);
});

t.test("market cache: a row per layer set; one replica computes once per cold key, two at most twice", async (t) => {
  const r = await bench(
    "market",
    "cache",
    ...["--symbols", "20", "--hot", "2", "--duration", "2s", "--concurrency", "4", "--readers", "10", "--cold-keys", "2"],
  );
  t.equal(r.code, 0, r.stderr);
  const layers = rowsOf(r.stdout, /^(no cache|Redis only|local 500 ms)/);
  t.equal(layers.length, 3, "three layer sets");
  for (const [name, rate, , , , , , , sql] of layers) {
    t.ok(Number(rate) > 0, `${name}: a positive rate`);
    t.ok(Number(sql) >= 0, `${name}: SQL queries per second`);
  }
  const [one, two] = [rowsOf(r.stdout, /^1$/)[0], rowsOf(r.stdout, /^2$/)[0]];
  t.equal(one?.[1], "1.00", "one replica: exactly one computation per cold key");
  t.ok(Number(two?.[1]) >= 1 && Number(two?.[1]) <= 2, "two replicas: between one and two computations per cold key");
  t.match(r.stdout, /SET NX PX \+ DEL on Redis p50 \d+\.\d+ ms/);
});

t.test("rpc network: every setting against the ledger, no errors, TCP_NODELAY off on the server too", async (t) => {
  const r = await bench("rpc", "network", "--concurrency", "1", "--duration", "500ms", "--warmup", "200ms", "--rounds", "1");
  t.equal(r.code, 0, r.stderr);
  const rows = rowsOf(r.stdout, /^1$/);
  t.equal(rows.length, 9, "seven settings with the ledger's TCP_NODELAY on, two with it off");
  for (const [, server, setting, rate, , , , errors] of rows) {
    t.ok(Number(rate) > 0, `${server} ${setting}: a positive rate`);
    t.equal(errors, "0", `${server} ${setting}: no errors`);
  }
});

t.test("reads and soak: ghz through the gateway answers, RSS per service per window", async (t) => {
  const reads = await bench("reads", "--scenarios", "quote,portfolio", "--rates", "10", "--hold", "2s", "--users", "3");
  t.equal(reads.code, 0, reads.stderr);
  for (const scenario of ["quote", "portfolio"]) {
    const [row] = rowsOf(reads.stdout, new RegExp(`^${scenario}$`));
    t.ok(Number(row?.[4]) > 0, `${scenario}: calls answered OK`);
  }
  const soak = await bench("soak", "--duration", "4s", "--window", "2s", "--rate", "5", "--users", "3");
  t.equal(soak.code, 0, soak.stderr);
  t.equal(rowsOf(soak.stdout, /^[12]$/).length, 2, "two windows");
  t.match(soak.stdout, /RSS from the first window to the last: ledger \d+ -> \d+ MiB/);
});

t.test("orders pool: a row and a clean ledger per size, the knee named", async (t) => {
  const r = await bench("orders", "pool", "--pool-size", "4,8", "--concurrency", "4", "--duration", "2s", "--users", "5");
  t.equal(r.code, 0, r.stderr);
  for (const size of ["4", "8"]) {
    const [row] = rowsOf(r.stdout, new RegExp(`^${size}$`));
    t.ok(Number(row?.[2]) > 0, `pool ${size}: orders/s`);
    t.equal(row?.[6], "clean", `pool ${size}: the ledger verified clean`);
  }
  t.match(r.stdout, /pool knee \(smallest within 5 % of the best, \d+ orders\/s\): (4|8)/);
});

t.test("market fanout --no-delay off: the service started with Nagle's algorithm on still delivers every update", async (t) => {
  const r = await bench(
    "market",
    "fanout",
    ...["--clients", "10", "--symbols", "1", "--rate", "10", "--duration", "1s", "--warmup", "500ms", "--no-delay", "off"],
  );
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /service TCP_NODELAY off/);
  t.match(r.stdout, /0 gaps met/);
  t.match(r.stdout, /final state: 10 of 10 clients ended at their symbol's last sequence/);
});
