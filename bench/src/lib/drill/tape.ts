// The exchange's tape as the drill reads it: every execution the exchange
// published on its executions topic (both sides of every trade, whoever's
// orders they were), read from the topic's beginning by a consumer of its
// own, and caught up on demand to what the topic holds at that moment.
import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ExecutionEventSchema } from "@kuku/contracts/kuku/exchange/v1/events_pb";
import { type Consumer, Kafka, logLevel } from "kafkajs";
import { type TapeExecution, type TapeTrade, tapeOf, tradeIdOf } from "./market-oracle.js";

const POLL_MS = 100;

export class ExchangeTape {
  readonly #executions = new Map<string, TapeExecution>();
  /** Per partition, the next offset to read. */
  readonly #next = new Map<number, bigint>();

  private constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly consumer: Consumer,
  ) {}

  /** Starts reading `topic` from its beginning. */
  static async open(brokers: string, topic: string): Promise<ExchangeTape> {
    const kafka = new Kafka({ clientId: "kuku-drill-tape", brokers: brokers.split(","), logLevel: logLevel.NOTHING });
    // A group of its own, never committed: each check reads the whole topic.
    const consumer = kafka.consumer({ groupId: `kuku-drill-tape-${randomUUID()}`, maxWaitTimeInMs: POLL_MS });
    const tape = new ExchangeTape(kafka, topic, consumer);
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          tape.#add(message.value);
          tape.#next.set(partition, BigInt(message.offset) + 1n);
        },
      });
    } catch (error) {
      await consumer.disconnect();
      throw error;
    }
    return tape;
  }

  /** Resolves once everything the topic holds now has been read; false when `timeoutMs` ran out first. */
  async catchUp(timeoutMs: number): Promise<boolean> {
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: { partition: number; low: bigint; high: bigint }[];
    try {
      ends = (await admin.fetchTopicOffsets(this.topic)).map((p) => ({ partition: p.partition, low: BigInt(p.low), high: BigInt(p.high) }));
    } finally {
      await admin.disconnect();
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (ends.every((e) => e.high === e.low || (this.#next.get(e.partition) ?? 0n) >= e.high)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** One trade per trade id, and what is wrong with the tape itself. */
  trades(): { trades: Map<string, TapeTrade>; problems: string[] } {
    return tapeOf(this.#executions.values());
  }

  /** Whether the exchange published this fill (of a trade whose two sides are both on the tape). */
  has(executionId: string, trades: ReadonlyMap<string, TapeTrade>): boolean {
    return this.#executions.has(executionId) && trades.has(tradeIdOf(executionId));
  }

  async close(): Promise<void> {
    await this.consumer.disconnect();
  }

  /** An execution event with a fill (an expiry or a trigger has none); a copy (a redelivery, the DUPLICATE fault) replaces itself. */
  #add(value: Buffer | null): void {
    if (value === null) return;
    const { fill } = fromBinary(ExecutionEventSchema, value);
    if (fill === undefined) return;
    this.#executions.set(fill.executionId, {
      executionId: fill.executionId,
      tradeId: tradeIdOf(fill.executionId),
      symbol: fill.symbol,
      priceKrw: fill.priceKrw,
      quantity: fill.quantity,
      executedAt: timestampDate(fill.executedAt!),
    });
  }
}
