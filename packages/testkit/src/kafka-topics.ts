// Topics a test stack made under its own prefix, deleted when it stops: a
// broker that keeps every test run's partitions (thousands after a few suites)
// takes minutes to load them at its next start, longer than make infra waits.
import { Kafka, logLevel } from "kafkajs";

/** The project's Kafka (see deploy/local). */
export const TEST_KAFKA_BROKERS = (process.env["KAFKA_BROKERS"] ?? "127.0.0.1:9092").split(",");

/** Deletes every topic whose name starts with `prefix` (a no-op when there are none). */
export async function dropTopics(prefix: string): Promise<void> {
  if (prefix === "") throw new Error("dropTopics needs a prefix: it would delete every topic");
  const admin = new Kafka({ clientId: "kuku-testkit", brokers: TEST_KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}
