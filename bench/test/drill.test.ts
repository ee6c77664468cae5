// The drills, short: each runs every service for real under the bank
// workload with its faults, and must end with every invariant holding. The
// long runs and their figures: docs/adr/0014.
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { TradeEventSchema } from "@kuku/contracts/kuku/exchange/v1/events_pb";
import { run } from "@kuku/testkit";
import { Kafka, logLevel } from "kafkajs";
import t, { type Test } from "tap";
import { Bank } from "../src/lib/drill/bank.js";
import { startDrillStack } from "../src/lib/drill/stack.js";

const CLI = fileURLToPath(new URL("../bin/kuku-bench.mjs", import.meta.url));
const bench = (...args: string[]) => run(process.execPath, [CLI, ...args]);
const count = (out: string, pattern: RegExp) => Number(pattern.exec(out)?.[1] ?? 0);

/** A short bank workload on its own stack, its day closed and every check clean; the stack, the bank and the checks. */
async function cleanRun(t: Test, options: Parameters<typeof startDrillStack>[0], catchUpMs: number) {
  const stack = await startDrillStack(options);
  t.teardown(() => stack.stop());
  const bank = new Bank(stack, catchUpMs);
  await bank.open(3, ["005930"]);
  await bank.run(4, (c) => c.ops >= 30);
  await bank.settleDoubts(30_000);
  t.ok(await bank.closeDay(60_000), "every order terminal, holds released");
  const clean = await bank.check();
  t.same(
    clean.filter((c) => c.violations > 0),
    [],
    "a clean run: no violation",
  );
  return { stack, bank, clean };
}

t.test("the bank checks catch money the books do not know about, and a trade the exchange never made", async (t) => {
  const { stack, bank } = await cleanRun(t, { orderEnv: {} }, 5_000);

  const { balances } = await stack.ledger.getBalances({ ownerId: bank.users[0]! });
  await stack.ledger.deposit({
    requestId: "behind-the-books",
    accountId: balances.find((b) => b.asset === "KRW")!.accountId,
    amountMinor: 1n,
  });
  const dirty = await bank.check();
  const violated = dirty.filter((c) => c.violations > 0).map((c) => c.name);
  t.same(
    violated,
    ["conservation per asset", "no duplicate or missing fill/settlement; books per user"],
    "one won deposited behind the workload's back is found twice",
  );
  const cash = balances.find((b) => b.asset === "KRW")!.accountId;
  await stack.ledger.placeHold({ requestId: "held-behind-the-books", accountId: cash, amountMinor: 1n, reference: "no order's" });
  const held = (await bank.check()).find((c) => c.name === "no hold left after the close")!;
  t.equal(held.violations, 1, "a hold no order will release, left after the close, is found");

  // One share traded on the market's topic that no order of the exchange's made.
  const producer = new Kafka({ clientId: "drill-test", brokers: stack.kafkaBrokers.split(","), logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const phantom = create(TradeEventSchema, {
    eventId: randomUUID(),
    tradeId: `phantom-${randomUUID()}`,
    symbol: "005930",
    priceKrw: 70_000n,
    quantity: 1n,
    executedAt: timestampNow(),
  });
  await producer.send({
    topic: `${stack.kafkaTopicPrefix}exchange.trades`,
    messages: [{ key: "005930", value: Buffer.from(toBinary(TradeEventSchema, phantom)) }],
  });
  const market = (await bank.check()).find((c) => c.name === "market data = the exchange's trades")!;
  t.equal(market.violations, 2, "the volume is one too many, and the listed trade is unknown to the exchange");
  t.match(market.detail, /005930: 1 listed trades the exchange never made/);
});

t.test("with the venue's background traders on, the market data equals the exchange's tape, background trades included", async (t) => {
  // The chaos drill's setting (issue 22): the oracle is the exchange's tape, which knows the background trades.
  const background = { EXCHANGE_BACKGROUND_ORDERS_PER_TICK: "5", EXCHANGE_BACKGROUND_INTERVAL_MS: "200" };
  const { clean } = await cleanRun(t, { orderEnv: {}, exchangeEnv: background }, 30_000);
  const market = clean.find((c) => c.name === "market data = the exchange's trades")!;
  const [, onTape, drillFills] = /(\d+) trades on the exchange's tape, (\d+) drill fills/.exec(market.detail)!.map(Number);
  t.ok(onTape! > drillFills!, `the tape holds trades no drill order made (${market.detail})`);
});

t.test("drill exchange-flaky: retries absorb 25 % UNAVAILABLE, the breaker stays closed, invariants hold", async (t) => {
  const r = await bench("drill", "exchange-flaky", "--duration", "4s", "--users", "8", "--concurrency", "8");
  t.equal(r.code, 0, r.stderr);
  t.ok(count(r.stdout, /retries:.*order→exchange (\d+)/) > 0, "the exchange calls were retried");
  t.match(r.stdout, /breaker openings: 0;/);
  t.match(r.stdout, /invariant violations: 0/);
});

t.test("drill exchange-down: the breaker opens, half-opens and closes once lifted; orders in doubt are resolved", async (t) => {
  const r = await bench("drill", "exchange-down", "--duration", "4s", "--users", "8", "--concurrency", "8");
  t.equal(r.code, 0, r.stderr);
  t.ok(count(r.stdout, /breaker openings: .*order→exchange (\d+)/) >= 1, "opened");
  t.ok(count(r.stdout, /closed again: .*order→exchange (\d+)/) >= 1, "closed again after the drill");
  t.ok(count(r.stdout, /^\s+1\s.*\s(\d+) → /m) > 0, "orders went through UNKNOWN");
  t.match(r.stdout, /every order terminal\s+ok/);
  t.match(r.stdout, /invariant violations: 0/);
});

t.test("drill l4: toxiproxy's timeout, reset_peer, bandwidth and a cut on the exchange link, a round each; invariants hold", async (t) => {
  const r = await bench("drill", "l4", "--duration", "4s", "--users", "8", "--concurrency", "8");
  t.equal(r.code, 0, r.stderr);
  for (const fault of ["timeout 0", "reset_peer", "bandwidth", "cut: connections closed"]) t.match(r.stdout, fault);
  const unknown = [...r.stdout.matchAll(/^\s+\d\s.*\s(\d+) → /gm)].reduce((a, m) => a + Number(m[1]), 0);
  t.ok(unknown > 0, "orders went through UNKNOWN and were resolved");
  t.match(r.stdout, /every order terminal\s+ok/);
  t.match(r.stdout, /invariant violations: 0/);
  const bad = await bench("drill", "l4", "--faults", "latency");
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--faults: one or more of timeout, reset_peer, bandwidth, cut, got latency/);
});

t.test(
  "drill chaos: crash a private PostgreSQL, Kafka and Redis quorum, kill -9 every service, cut the exchange link; the bank check holds",
  async (t) => {
    const r = await bench(
      "drill",
      "chaos",
      "--ops",
      "600",
      "--users",
      "8",
      "--concurrency",
      "8",
      "--nemeses",
      "postgres,ledger,order,exchange,market,gateway,link,kafka,redis",
    );
    t.equal(r.code, 0, r.stderr);
    t.match(
      r.stdout,
      /postgres crashed, down 2 s, kill -9 ledger, kill -9 order, kill -9 exchange, kill -9 market, kill -9 gateway, link cut 2 s, kill -9 kafka, down 2 s, leading its partitions again after \d+ ms/,
    );
    t.match(
      r.stdout,
      /kill -9 redis x3, down 2 s \(a ledger write: Aborted\), the ledger locks again after \d+ ms/,
      "the ledger refused while it could not lock, and recovered",
    );
    t.ok(count(r.stdout, /^\s+1\s+\d+\s+(\d+)\s/m) > 0, "part of the workload went through the gateway");
    t.ok(
      count(r.stdout, /retries:.*order→ledger (\d+)/) + count(r.stdout, /retries:.*gateway→\w+ (\d+)/) > 0,
      "policy events from /metrics, over the killed processes",
    );
    t.match(r.stdout, /market data = the exchange's trades\s+ok/);
    t.match(r.stdout, /invariant violations: 0/);
    const bad = await bench("drill", "chaos", "--nemeses", "disk");
    t.equal(bad.code, 2);
    t.match(bad.stderr, /--nemeses: one or more of ledger, order, exchange, market, gateway, link, postgres, kafka, redis, got disk/);
  },
);
