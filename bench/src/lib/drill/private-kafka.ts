// A single-node KRaft Kafka of the drill's own (temp directory, free broker
// and controller ports), so that the chaos drill may kill -9 the broker:
// never the shared one other tests use. Started from the jars `make infra`
// put in .tools/kafka/libs, with the same properties as
// deploy/local/infra-up.sh's start_kafka, only the ports and the directory
// differ. A restart keeps its directory and ports: the same cluster, its
// topics, offsets and producer state recovered from its log.
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, run } from "@kuku/testkit";
import { Kafka, logLevel } from "kafkajs";
import { Daemon } from "./daemon.js";
import { freePort } from "./toxiproxy.js";

const LIBS = `${REPO_ROOT}.tools/kafka/libs`;

/** A KRaft cluster id: a random UUID as Kafka writes it (base64url, 22 characters, never starting with "-"). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

/**
 * Ready for the services: the broker answers metadata, and every partition
 * of every topic has a leader again (right after a restart the broker
 * serves metadata before it leads its partitions, and a producer would
 * only see NOT_LEADER errors).
 */
async function ready(brokers: string): Promise<boolean> {
  const admin = new Kafka({
    clientId: "kuku-drill-probe",
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    retry: { retries: 0 },
  }).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata();
    return topics.every((t) => t.partitions.every((p) => p.leader >= 0));
  } finally {
    await admin.disconnect();
  }
}

export class PrivateKafka {
  private constructor(
    private readonly dir: string,
    private readonly broker: Daemon,
    readonly brokers: string,
  ) {}

  static async start(): Promise<PrivateKafka> {
    if (!existsSync(LIBS)) throw new Error(`no Kafka jars in ${LIBS} (make infra puts them there)`);
    const dir = mkdtempSync(join(tmpdir(), "kuku-drill-kafka-"));
    const [port, controllerPort] = [await freePort(), await freePort()];
    const properties = join(dir, "server.properties");
    writeFileSync(
      properties,
      [
        "process.roles=broker,controller",
        "node.id=1",
        `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        `log.dirs=${dir}/data`,
        "num.partitions=3",
        // One broker: every replication factor 1, or no topic (and no consumer group) can be created.
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        // After a kill -9 the restarted broker cannot register until the controller has expired
        // the dead incarnation's session (9 s by default): 3 s keeps the outage near the drill's 2 s.
        "broker.session.timeout.ms=3000",
        "broker.heartbeat.interval.ms=500",
        "auto.create.topics.enable=true",
        "",
      ].join("\n"),
    );
    // 512 MB as the shared broker: the machine also runs the shared infra and the services.
    const java = ["-Xms256m", "-Xmx512m", "-cp", `${LIBS}/*`, `-Dlog4j.configuration=file:${REPO_ROOT}deploy/local/kafka/log4j.properties`];
    const format = await run("java", [
      ...java,
      "kafka.tools.StorageTool",
      "format",
      "-t",
      clusterId(),
      "-c",
      properties,
      "--ignore-formatted",
    ]);
    if (format.code !== 0) throw new Error(`kafka storage format failed:\n${format.stdout}${format.stderr}`);
    const brokers = `127.0.0.1:${port}`;
    const broker = new Daemon(
      `kafka on ${port}`,
      "java",
      [...java, "kafka.Kafka", properties],
      join(dir, "kafka.log"),
      () => ready(brokers),
      90_000,
    );
    const kafka = new PrivateKafka(dir, broker, brokers);
    try {
      await broker.start();
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return kafka;
  }

  /** kill -9 the broker, down for `downMs`, started again on the same directory and ports, until it leads every partition. */
  async crashAndRestart(downMs: number): Promise<void> {
    await this.broker.crashAndRestart(downMs);
  }

  async stop(): Promise<void> {
    await this.broker.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
