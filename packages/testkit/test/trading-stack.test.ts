// The trading stack the services' tests, the benchmarks and the drills run
// against: a service that needs another is refused without it, and a killed
// service comes back on the same port with the same data; its Kafka topics
// go with it.

import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { createServiceClient } from "@kuku/platform";
import { Kafka, logLevel } from "kafkajs";
import t from "tap";
import { startTradingStack, TEST_KAFKA_BROKERS } from "../src/index.js";

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

t.test("a stack's Kafka topics are made under its prefix and deleted when it stops", async (t) => {
  const admin = new Kafka({ clientId: "testkit-test", brokers: TEST_KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const stack = await startTradingStack({ services: ["exchange"] });
  const ours = async () => (await admin.listTopics()).filter((topic) => topic.startsWith(stack.kafkaTopicPrefix));
  t.ok((await ours()).length >= 3, "the exchange made its topics under the stack's prefix");
  await stack.stop();
  t.same(await ours(), [], "none of them is left");
});
