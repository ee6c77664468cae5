// kuku-bench market brokers: the market stream's message (a TradeEvent) over
// Kafka and over RabbitMQ on this machine, with the durability each is run
// with here: Kafka acks=all from the idempotent producer the exchange uses;
// RabbitMQ persistent messages with publisher confirms into a fanout
// exchange, one queue per consumer. Same process publishes and consumes, so
// latency is publish call to delivery on one monotonic clock.
import { randomUUID } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { TradeEventSchema } from "@kuku/contracts/kuku/exchange/v1/events_pb";
import { connectIdempotentProducer, createKafka, createLogger, ensureTopics } from "@kuku/platform";
import amqp from "amqplib";
import { command, duration, int, text } from "../lib/command.js";
import { Histogram, table } from "../lib/stats.js";

interface Broker {
  readonly name: string;
  /** Resolves once `onMessage` will see everything published after it. */
  subscribe(onMessage: (sentNs: bigint) => void): Promise<void>;
  /** Resolves once the broker has confirmed every message of the batch. */
  publish(batch: readonly { sentNs: bigint; value: Buffer; key: string }[]): Promise<void>;
  close(): Promise<void>;
}

const trade = (n: number) => {
  const symbol = String(100_000 + (n % 100));
  const value = Buffer.from(
    toBinary(
      TradeEventSchema,
      create(TradeEventSchema, {
        eventId: `b-${n}`,
        tradeId: `b-${n}`,
        symbol,
        priceKrw: 70_000n,
        quantity: 1n,
        executedAt: timestampFromDate(new Date()),
      }),
    ),
  );
  return { key: symbol, value };
};

async function kafkaBroker(brokers: string[]): Promise<Broker> {
  const logger = createLogger("bench-brokers", "error");
  const kafka = createKafka({ clientId: "bench-brokers", brokers }, logger);
  const topic = `bench-${randomUUID().slice(0, 8)}.exchange.trades`;
  await ensureTopics(kafka, [topic], 3);
  const producer = await connectIdempotentProducer(kafka);
  const consumer = kafka.consumer({ groupId: `bench-${randomUUID()}` });
  return {
    name: "Kafka 3.9 (kafkajs, acks=all, idempotent)",
    async subscribe(onMessage) {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let joined!: () => void;
      const ready = new Promise<void>((r) => (joined = r));
      consumer.on(consumer.events.GROUP_JOIN, () => joined());
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) onMessage(BigInt(m.headers!["t"]!.toString()));
        },
      });
      await ready;
    },
    async publish(batch) {
      await producer.send({
        topic,
        acks: -1,
        messages: batch.map((m) => ({ key: m.key, value: m.value, headers: { t: String(m.sentNs) } })),
      });
    },
    async close() {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}

async function rabbitBroker(url: string): Promise<Broker> {
  const connection = await amqp.connect(url);
  const publisher = await connection.createConfirmChannel();
  const consumer = await connection.createChannel();
  const exchange = `bench-${randomUUID().slice(0, 8)}.exchange.trades`;
  await publisher.assertExchange(exchange, "fanout", { durable: true });
  return {
    name: "RabbitMQ 3.10 (amqplib, persistent, confirms)",
    async subscribe(onMessage) {
      const { queue } = await consumer.assertQueue("", { exclusive: true, durable: false });
      await consumer.bindQueue(queue, exchange, "");
      await consumer.prefetch(1_000);
      await consumer.consume(queue, (m) => m !== null && onMessage(BigInt(m.properties.headers!["t"] as string)), { noAck: true });
    },
    async publish(batch) {
      for (const m of batch) publisher.publish(exchange, m.key, m.value, { persistent: true, headers: { t: String(m.sentNs) } });
      await publisher.waitForConfirms();
    },
    async close() {
      await connection.close();
    },
  };
}

/** Publishes `rate` messages per second in 10 ms slices for `durationMs`; one slice in flight at a time. */
async function paced(
  broker: Broker,
  rate: number,
  durationMs: number,
): Promise<{ latency: Histogram; received: number; published: number }> {
  const latency = new Histogram();
  let received = 0;
  await broker.subscribe((sentNs) => {
    received += 1;
    latency.record(Number(process.hrtime.bigint() - sentNs) / 1_000);
  });
  const started = Date.now();
  let published = 0;
  while (Date.now() - started < durationMs) {
    const due = Math.floor(((Date.now() - started) / 1_000) * rate) - published;
    if (due > 0) {
      const sentNs = process.hrtime.bigint();
      await broker.publish(Array.from({ length: due }, (_, i) => ({ sentNs, ...trade(published + i) })));
      published += due;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const deadline = Date.now() + 30_000;
  while (received < published && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { latency, received, published };
}

/** `count` messages as fast as batches of `batchSize` go, until the consumer has them all. */
async function burst(broker: Broker, count: number, batchSize: number): Promise<{ perSecond: number; received: number }> {
  let received = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  await broker.subscribe(() => {
    if (++received === count) done();
  });
  const started = process.hrtime.bigint();
  for (let n = 0; n < count; n += batchSize) {
    const sentNs = process.hrtime.bigint();
    await broker.publish(Array.from({ length: Math.min(batchSize, count - n) }, (_, i) => ({ sentNs, ...trade(n + i) })));
  }
  await Promise.race([all, new Promise((r) => setTimeout(r, 120_000))]);
  return { perSecond: Math.round(received / (Number(process.hrtime.bigint() - started) / 1e9)), received };
}

export const marketBrokers = command({
  name: "market brokers",
  summary: "the market stream over Kafka vs RabbitMQ: latency at a set rate, and burst throughput",
  options: {
    rate: int("messages per second for the latency run", 1000),
    duration: duration("length of the latency run", "15s"),
    burst: int("messages in the throughput run", 100000),
    batch: int("messages per publish call in the throughput run", 500),
    "amqp-url": text("a RabbitMQ of your own (see ADR 0009 for starting one)", "amqp://guest:guest@127.0.0.1:5673"),
  },
  async run(values) {
    const { rate, duration: durationMs, burst: burstCount, batch: batchSize } = values;
    const kafkaBrokers = (process.env["KAFKA_BROKERS"] ?? "127.0.0.1:9092").split(",");
    const makers = [() => kafkaBroker(kafkaBrokers), () => rabbitBroker(values["amqp-url"])];
    const rows: (string | number)[][] = [];
    const loadBefore = loadavg()[0]!;
    for (const make of makers) {
      const pacedBroker = await make();
      const p = await paced(pacedBroker, rate, durationMs);
      await pacedBroker.close();
      const burstBroker = await make();
      const b = await burst(burstBroker, burstCount, batchSize);
      await burstBroker.close();
      const ms = (q: number) => (p.latency.percentile(q) / 1_000).toFixed(1);
      rows.push([pacedBroker.name, `${p.received}/${p.published}`, ms(50), ms(99), ms(99.9), `${b.received}/${burstCount}`, b.perSecond]);
    }
    console.log(table(["broker", "received (paced)", "p50 ms", "p99 ms", "p99.9 ms", "received (burst)", "burst msgs/s"], rows));
    console.log(
      `paced: ${rate} msgs/s for ${durationMs / 1_000} s, 10 ms slices; burst: ${burstCount} messages in publish calls of ${batchSize}`,
    );
    console.log(
      `machine: ${cpus().length} cores, 1-min load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (other work shares the cores)`,
    );
  },
});
