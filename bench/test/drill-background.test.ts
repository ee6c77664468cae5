// The bank workload with the venue's background traders on (the setting the
// chaos drill is run with, issue 22): the market-data check's oracle is the
// exchange's tape, which knows the background trades the drill's fills do
// not, so a clean run is clean; the phantom case is drill.test.ts's.
import t from "tap";
import { Bank } from "../src/lib/drill/bank.js";
import { startDrillStack } from "../src/lib/drill/stack.js";

t.test("with the background flow on, the market data equals the exchange's tape, background trades included", async (t) => {
  const stack = await startDrillStack({
    orderEnv: {},
    exchangeEnv: { EXCHANGE_BACKGROUND_ORDERS_PER_TICK: "5", EXCHANGE_BACKGROUND_INTERVAL_MS: "200" },
  });
  t.teardown(() => stack.stop());
  const bank = new Bank(stack, 30_000);
  await bank.open(3, ["005930"]);
  await bank.run(4, (c) => c.ops >= 30);
  await bank.settleDoubts(30_000);
  t.ok(await bank.closeDay(60_000), "every order terminal, holds released");
  const checks = await bank.check();
  t.same(
    checks.filter((c) => c.violations > 0),
    [],
    "no violation, the market-data check included",
  );
  const market = checks.find((c) => c.name === "market data = the exchange's trades")!;
  const [, onTape, drillFills] = /(\d+) trades on the exchange's tape, (\d+) drill fills/.exec(market.detail)!.map(Number);
  t.ok(onTape! > drillFills!, `the tape holds trades no drill order made (${market.detail})`);
});
