// The trading stack the services' tests, the benchmarks and the drills run
// against: a service that needs another is refused without it, and a killed
// service comes back on the same port with the same data.

import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { createServiceClient } from "@kuku/platform";
import t from "tap";
import { startTradingStack } from "../src/index.js";

t.test("a service without what it calls is refused before anything starts", async (t) => {
  await t.rejects(startTradingStack({ services: ["order", "ledger"] }), /the order service needs the exchange service in the stack/);
});

t.test("kill -9 and restart: same port, same database", async (t) => {
  const stack = await startTradingStack({ services: ["ledger"] });
  t.teardown(() => stack.stop());
  const client = createServiceClient(ledger.LedgerService, { baseUrl: stack.url("ledger"), timeoutMs: 10_000 });
  const { account } = await client.openAccount({ requestId: "stack-test-open", ownerId: "stack-test", asset: "KRW" });
  const before = stack.process("ledger");
  const after = await stack.restart("ledger");
  t.equal(before.child.signalCode, "SIGKILL", "the first process was killed");
  t.equal(after.port, before.port);
  const { balances } = await client.getBalances({ ownerId: "stack-test" });
  t.same(
    balances.map((b) => b.accountId),
    [account!.accountId],
    "the same client finds the account opened before the kill",
  );
  t.throws(() => stack.process("market"), /the market service is not in this stack/);
});
