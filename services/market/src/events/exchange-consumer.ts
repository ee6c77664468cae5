// Trades and book snapshots from the exchange (its topics EXCHANGE_TRADES
// and EXCHANGE_BOOK, keyed by symbol so each symbol's events stay in
// order). A batch at a time; the platform's kuku_kafka_consumer_lag gauge
// is set at the end of each batch, as for every other consumer.
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { BookEventSchema, TradeEventSchema } from "@kuku/contracts/kuku/exchange/v1/events_pb";
import { EXCHANGE_BOOK, EXCHANGE_TRADES } from "@kuku/contracts/topics";
import { type Logger, observeConsumer } from "@kuku/platform";
import type { Consumer, Kafka } from "kafkajs";
import type { BookInput, TradeInput } from "../domain/market.js";

/** The exchange's topic names, before any prefix. */
export const EXCHANGE_TOPICS = { trades: EXCHANGE_TRADES.name, book: EXCHANGE_BOOK.name } as const;

export interface MarketSink {
  trade(trade: TradeInput): void;
  book(book: BookInput): void;
}

/**
 * The state lives in memory and is a function of the log: every start reads
 * the retained topics from the beginning and rebuilds it, so offsets are
 * never committed. That also keeps kafkajs from committing after every batch,
 * a broker round trip in front of each next batch (ADR 0009).
 *
 * For the same reason, when kafkajs restarts the consumer in-process after a
 * crash (a broker restart does it), the new consumer reads every partition
 * from the start again, into a state that already holds it: events at or
 * below a partition's last applied offset are skipped, or volume would count
 * every earlier trade twice (the trade id window is only `tradesMax` long).
 */
export async function startExchangeConsumer(
  kafka: Kafka,
  options: { groupId: string; topics: { trades: string; book: string } },
  sink: MarketSink,
  logger: Logger,
): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId: options.groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  observeConsumer(consumer, options.groupId, logger);
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
    logger.info({ groupId: options.groupId, memberId: payload.memberId }, "market consumer joined"),
  );
  await consumer.connect();
  await consumer.subscribe({ topics: [options.topics.trades, options.topics.book], fromBeginning: true });
  const appliedOffsets = new Map<string, bigint>(); // "topic/partition" → the last offset applied
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      const isTrades = batch.topic === options.topics.trades;
      const partitionKey = `${batch.topic}/${batch.partition}`;
      let replayed = 0;
      for (const message of batch.messages) {
        const offset = BigInt(message.offset);
        if (offset <= (appliedOffsets.get(partitionKey) ?? -1n)) {
          replayed += 1;
          resolveOffset(message.offset);
          continue;
        }
        if (message.value !== null) {
          // A malformed event is logged and skipped: retrying it forever would stall the symbol's partition.
          try {
            if (isTrades) sink.trade(tradeFromEvent(message.value));
            else sink.book(bookFromEvent(message.value));
          } catch (error) {
            if (!(error instanceof MalformedEvent)) throw error;
            logger.warn({ topic: batch.topic, offset: message.offset, reason: error.message }, "malformed exchange event skipped");
          }
        }
        appliedOffsets.set(partitionKey, offset);
        resolveOffset(message.offset);
      }
      if (replayed > 0)
        logger.info({ topic: batch.topic, partition: batch.partition, replayed }, "events applied before the consumer restarted skipped");
      await heartbeat();
    },
  });
  return consumer;
}

class MalformedEvent extends Error {}

const SYMBOL = /^[0-9A-Z]{6}$/;

function decode<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new MalformedEvent(`undecodable: ${(error as Error).message}`);
  }
}

function tradeFromEvent(bytes: Uint8Array): TradeInput {
  const e = decode(() => fromBinary(TradeEventSchema, bytes));
  if (!SYMBOL.test(e.symbol) || e.priceKrw <= 0n || e.quantity <= 0n || e.tradeId === "")
    throw new MalformedEvent(`trade ${e.tradeId}: bad symbol, price or quantity`);
  return {
    tradeId: e.tradeId,
    symbol: e.symbol,
    priceKrw: e.priceKrw,
    quantity: e.quantity,
    executedAt: e.executedAt === undefined ? new Date() : timestampDate(e.executedAt),
  };
}

function bookFromEvent(bytes: Uint8Array): BookInput {
  const e = decode(() => fromBinary(BookEventSchema, bytes));
  if (!SYMBOL.test(e.symbol)) throw new MalformedEvent(`book event ${e.eventId}: bad symbol`);
  return {
    symbol: e.symbol,
    bids: e.bids.map((l) => ({ priceKrw: l.priceKrw, quantity: l.quantity })),
    asks: e.asks.map((l) => ({ priceKrw: l.priceKrw, quantity: l.quantity })),
    at: e.updatedAt === undefined ? new Date() : timestampDate(e.updatedAt),
  };
}
