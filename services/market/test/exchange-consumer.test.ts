// The market's consumer on the real Kafka, across a crash that kafkajs
// recovers from in-process: the restarted consumer reads every partition
// from the start again (the market commits no offsets), and what the state
// already holds must not reach it twice.
import { randomUUID } from "node:crypto";
import { createLogger, ensureTopics, prefixedTopics } from "@kuku/platform";
import { eventually } from "@kuku/testkit";
import { Kafka, logLevel } from "kafkajs";
import t from "tap";
import type { BookInput, TradeInput } from "../src/domain/market.js";
import { EXCHANGE_TOPICS, startExchangeConsumer } from "../src/events/exchange-consumer.js";
import { ExchangeStandIn } from "./support/market.js";

const KAFKA_BROKERS = (process.env["KAFKA_BROKERS"] ?? "127.0.0.1:9092").split(",");

t.test("after a crash and restart, every event reaches the market once", async (t) => {
  const prefix = `test-${randomUUID().slice(0, 8)}.`;
  const topics = prefixedTopics(prefix, EXCHANGE_TOPICS);
  // Few, quick retries: the thrown error below becomes a crash in about a second.
  const kafka = new Kafka({
    clientId: "market-consumer-test",
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 100 },
  });
  await ensureTopics(kafka, Object.values(topics), 3);
  const exchange = await ExchangeStandIn.connect(prefix);
  t.teardown(() => exchange.close());
  const tradeIds = [...(await exchange.trades("000001", [100n, 200n, 300n])), ...(await exchange.trades("000002", [400n, 500n]))];

  const applied: string[] = [];
  let crashes: { restart: boolean }[] = [];
  const failOn = tradeIds[2]!;
  const sink = {
    trade(trade: TradeInput) {
      // A fault (not a malformed event) on the third trade, until kafkajs has crashed the consumer.
      if (trade.tradeId === failOn && crashes.length === 0) throw new Error("the market's state refused the trade");
      applied.push(trade.tradeId);
    },
    book(_book: BookInput) {},
  };
  const consumer = await startExchangeConsumer(
    kafka,
    { groupId: `market-test-${randomUUID()}`, topics },
    sink,
    createLogger("market-test", "silent"),
  );
  consumer.on(consumer.events.CRASH, ({ payload }) => (crashes = [...crashes, { restart: payload.restart }]));
  t.teardown(() => consumer.disconnect());

  await eventually("every trade is applied", () => tradeIds.every((id) => applied.includes(id)), 30_000);
  t.same(crashes, [{ restart: true }], "the consumer crashed once and kafkajs restarted it");
  t.same([...applied].sort(), [...tradeIds].sort(), "each trade reached the market exactly once");

  const more = await exchange.trades("000001", [600n]);
  await eventually("a later trade is applied", () => applied.includes(more[0]!), 30_000);
  t.equal(applied.filter((id) => id === more[0]).length, 1, "and so do the trades after the restart");
});
