// observeConsumer on the real Kafka: a consumer that kafkajs restarts after a
// crash is counted and goes on; one that kafkajs gives up on ends its process
// (exit 1), so a supervisor starts a fresh one instead of it serving stale state.

import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import t from "tap";

const KAFKA_BROKERS = (process.env["KAFKA_BROKERS"] ?? "127.0.0.1:9092").split(",");
const FIXTURE = fileURLToPath(new URL("./fixtures/consumer.ts", import.meta.url));

async function topicWithOneMessage(): Promise<string> {
  const kafka = new Kafka({ clientId: "kafka-consumer-test", brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING });
  const topic = `consumer-test-${randomUUID()}`;
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: "one" }] });
  await producer.disconnect();
  return topic;
}

/** Runs the fixture until it exits; its stdout lines (pino JSON) and exit code. */
function runFixture(topic: string, group: string, fault: string): Promise<{ code: number | null; lines: Record<string, unknown>[] }> {
  const child = spawn(process.execPath, ["--import=tsx", FIXTURE, topic, group, fault], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({
        code,
        lines: out
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      });
    }),
  );
}

t.test("a crash kafkajs restarts from: counted, logged, and the consumer goes on", async (t) => {
  const group = `consumer-test-${randomUUID()}`;
  const { code, lines } = await runFixture(await topicWithOneMessage(), group, "retriable");
  t.equal(code, 0, "the fixture consumed the message after the restart");
  t.ok(
    lines.some((l) => l["msg"] === "kafka consumer crashed; kafkajs restarts it" && l["groupId"] === group),
    "the crash is logged",
  );
  const report = lines.find((l) => l["msg"] === "consumed after the restart");
  t.match(report?.["crashes"], /restart="true"\} 1$/, "and counted as restarted");
});

t.test("a crash kafkajs gives up on: the process exits 1 with a fatal log", async (t) => {
  const group = `consumer-test-${randomUUID()}`;
  const { code, lines } = await runFixture(await topicWithOneMessage(), group, "fatal");
  t.equal(code, 1, "exit code 1");
  const fatal = lines.find((l) => l["msg"] === "kafka consumer crashed for good; exiting");
  t.equal(fatal?.["level"], 60, "logged at fatal level");
  t.equal(fatal?.["groupId"], group);
  t.notOk(
    lines.some((l) => l["msg"] === "consumed after the restart"),
    "no restart",
  );
});
