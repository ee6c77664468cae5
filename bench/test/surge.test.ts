// kuku-bench surge on a tiny scale: ghz runs through the gateway, every order
// settles, each service's CPU per call is printed, and the ledger and the bank check are clean afterwards (figures
// come from real runs, see docs/benchmarks/orders.md).
import { fileURLToPath } from "node:url";
import { run } from "@kuku/testkit";
import t from "tap";

const CLI = fileURLToPath(new URL("../bin/kuku-bench.mjs", import.meta.url));

t.test("surge: ghz's summary, every order settled, fill -> SETTLED figures, ledger clean", async (t) => {
  const help = await run(process.execPath, [CLI, "--help"]);
  t.match(help.stdout, "surge");
  const r = await run(process.execPath, [CLI, "surge", "--rates", "20", "--ramp", "1s", "--hold", "3s", "--users", "4", "--settle", "60s"]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^\s+20\s+\d+\s+\d+\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\S+/m, "ghz's row for 20 orders/s");
  const settled = r.stdout.split("\n").find((l) => /^\s+20\s+\d+\s+[\d.]+\s+\d+\s+[\d.]+\s+[\d.]+/.test(l));
  t.comment(r.stdout);
  t.ok(settled !== undefined, "every order settled or resting, with fill -> SETTLED figures");
  t.match(
    r.stdout,
    /^\s+20\s+\d+(\s+[\d.]+ s = [\d.]+ ms){4}$/m,
    "each service's CPU while ghz ran and per call: gateway, order, ledger, exchange",
  );
  t.notMatch(r.stdout, /NOT DONE/);
  t.match(r.stdout, /VerifyIntegrity clean .* bank check: 0 violations/);
});
