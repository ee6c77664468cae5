// The list of services is consistent in itself, and the CLI scripts/services.sh
// reads prints it in start order. (deploy/test checks compose, k8s and each
// service's configuration against it.)
import { fileURLToPath } from "node:url";
import t from "tap";
import { run } from "../src/process.js";
import { envName, SERVICE_NAMES, SERVICES, urlVariable } from "../src/services.js";

t.test("every service starts after the ones it calls; names, ports and prefixes are one each", async (t) => {
  for (const [index, spec] of SERVICES.entries()) {
    const before = SERVICE_NAMES.slice(0, index);
    for (const callee of [...spec.calls, ...spec.callsIfPresent]) t.ok(before.includes(callee), `${spec.name}: ${callee} starts before it`);
  }
  t.equal(new Set(SERVICE_NAMES).size, SERVICES.length, "names");
  t.equal(new Set(SERVICES.map((s) => s.port)).size, SERVICES.length, "ports");
  t.equal(new Set(SERVICES.map((s) => s.envPrefix)).size, SERVICES.length, "environment prefixes");
  t.equal(envName("order", "PORT"), "ORDER_PORT");
  t.equal(urlVariable("gateway", "market"), "GATEWAY_MARKET_URL");
});

t.test("the CLI prints name, port and port variable, in start order", async (t) => {
  const cli = fileURLToPath(new URL("../src/services-cli.ts", import.meta.url));
  const r = await run(process.execPath, ["--import", "tsx", cli]);
  t.equal(r.code, 0, r.stderr);
  t.same(
    r.stdout.trim().split("\n"),
    SERVICES.map((s) => `${s.name} ${s.port} ${s.envPrefix}_PORT`),
  );
});
