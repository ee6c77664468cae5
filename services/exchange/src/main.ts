import { fileURLToPath } from "node:url";
import { connectIdempotentProducer, createKafka, ensureTopics, prefixedTopics, runService } from "@kuku/platform";
import { Desk } from "./app/desk.js";
import { DeskWithFaults } from "./app/faults.js";
import { deskSettings, loadExchangeConfig } from "./config.js";
import { INSTRUMENTS } from "./domain/instruments.js";
import { Publisher, TOPICS } from "./events/publisher.js";
import { exchangeHandlers } from "./rpc/handlers.js";

await runService({
  name: "exchange",
  loadConfig: () => loadExchangeConfig(),
  migrationsDir: fileURLToPath(new URL("../migrations", import.meta.url)),
  async wire({ config, pool, logger, onStop }) {
    const kafka = createKafka({ clientId: "kuku-exchange", brokers: config.kafkaBrokers.split(",") }, logger);
    const topics = prefixedTopics(config.kafkaTopicPrefix, TOPICS);
    await ensureTopics(kafka, Object.values(topics), 3);
    const producer = await connectIdempotentProducer(kafka);
    onStop(() => producer.disconnect());
    // The venue is rebuilt from its journal: a restart resumes the same session, with every order and fill.
    const desk = await Desk.open({
      pool,
      logger,
      ...deskSettings(config),
      publisherFor: (session) => new Publisher(producer, session, topics),
    });
    // Stops run in reverse: Kafka's progress is recorded before the producer disconnects.
    onStop(() => desk.close());
    return {
      services: [exchangeHandlers(new DeskWithFaults(desk, logger))],
      // Called only by services: gRPC on HTTP/2 served by grpc-js (ADR 0002).
      server: { grpcServer: "grpc-js" },
      ready: { instruments: INSTRUMENTS.length, session: desk.sessionId },
    };
  },
});
