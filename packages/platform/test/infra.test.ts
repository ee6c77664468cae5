// The real infrastructure that `make infra` starts: Kafka (KRaft, one node)
// with an idempotent kafkajs producer, and the three independent Redis
// instances the Redlock experiment needs for a real quorum.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import t from "tap";

const KAFKA_BROKERS = (process.env["KAFKA_BROKERS"] ?? "127.0.0.1:9092").split(",");
const REDIS_PORTS = (process.env["REDIS_PORTS"] ?? "6379,6380,6381").split(",").map(Number);

t.test("kafkajs: an idempotent producer's messages are consumed back in order", async (t) => {
  const kafka = new Kafka({ clientId: "infra-test", brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING });
  const topic = `infra-test-${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  t.ok(await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true }));

  // kafkajs requires one request in flight for idempotence (see ADR 0003).
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const sent = Array.from({ length: 20 }, (_, i) => ({ key: "order-1", value: `event-${i}` }));
  const acks = await producer.send({ topic, messages: sent, acks: -1 });
  t.equal(acks[0]?.errorCode, 0);

  const consumer = kafka.consumer({ groupId: `infra-test-${randomUUID()}` });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${sent.length} messages arrived`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        received.push(message.value!.toString());
        if (received.length === sent.length) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  t.same(
    received,
    sent.map((m) => m.value),
    "every message, once, in order",
  );
});

t.test("ioredis reaches three independent Redis instances", async (t) => {
  const runIds = new Set<string>();
  for (const port of REDIS_PORTS) {
    const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    t.teardown(() => redis.quit());
    t.equal(await redis.ping(), "PONG", `port ${port}`);
    const key = `infra-test:${randomUUID()}`;
    await redis.set(key, String(port), "PX", 10_000);
    t.equal(await redis.get(key), String(port));
    const info = await redis.info("server");
    runIds.add(/run_id:(\w+)/.exec(info)?.[1] ?? "");
  }
  t.equal(runIds.size, REDIS_PORTS.length, "three separate server processes, not one behind three ports");
});
