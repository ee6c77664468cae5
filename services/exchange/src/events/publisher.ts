// Everything the exchange tells the world through Kafka: executions (for the
// broker's order service; key = client order id; an expiry and a stop's
// trigger are execution events without a fill), trades and book snapshots
// (for market data; key = symbol). Event ids are the execution/trade ids, so
// a duplicate delivery is recognisable by consumers.
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as events from "@kuku/contracts/kuku/exchange/v1/events_pb";
import { EXCHANGE_BOOK, EXCHANGE_EXECUTIONS, EXCHANGE_TRADES } from "@kuku/contracts/topics";
import { sendTraced, type TopicMessages } from "@kuku/platform";
import type { Producer } from "kafkajs";
import { executionId, type OrderRecord, tradeId } from "../domain/engine.js";
import type { Publication, TriggeredStop } from "../domain/venue.js";
import { executionToProto, phaseToProto, statusToProto } from "../rpc/convert.js";

export const TOPICS = {
  executions: EXCHANGE_EXECUTIONS.name,
  trades: EXCHANGE_TRADES.name,
  book: EXCHANGE_BOOK.name,
} as const;

/** One command's events; `copies`: 2 under the DUPLICATE fault (executions sent twice). */
export interface PublishItem {
  readonly publication: Publication;
  readonly copies: 1 | 2;
  /** The venue's records as of this command's application (status and remaining in the events). */
  readonly ordersById: (clientOrderId: string) => OrderRecord;
}

/** What a status change without a fill tells: a stop's trigger or an expiry. */
type StatusChanged = Pick<TriggeredStop, "clientOrderId" | "status" | "quantity">;

export type Topics = { readonly [K in keyof typeof TOPICS]: string };

export class Publisher {
  /** `session`: the engine's, part of every id this publisher writes. `topics`: TOPICS, maybe prefixed. */
  constructor(
    private readonly producer: Producer,
    private readonly session: string,
    private readonly topics: Topics = TOPICS,
  ) {}

  /**
   * Publishes the consequences of several commands, in order, in one request,
   * and resolves once Kafka has them (acks from all in-sync replicas): their
   * callers are answered only after.
   */
  async publish(items: readonly PublishItem[]): Promise<void> {
    const byTopic = new Map<string, TopicMessages["messages"][number][]>();
    for (const item of items) {
      for (const { topic, messages } of this.#messagesOf(item)) {
        const into = byTopic.get(topic);
        if (into === undefined) byTopic.set(topic, [...messages]);
        else into.push(...messages);
      }
    }
    if (byTopic.size > 0)
      await sendTraced(
        this.producer,
        [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      );
  }

  #messagesOf({ publication: { executions, books, expired, triggered }, copies, ordersById }: PublishItem): TopicMessages[] {
    const fillMessages = executions.map((e) => {
      const order = ordersById(e.clientOrderId);
      const event = create(events.ExecutionEventSchema, {
        eventId: executionId(this.session, e),
        fill: executionToProto(this.session, e),
        status: statusToProto(order.status),
        remainingQuantity: BigInt(order.quantity - order.filledQuantity),
        clientOrderId: e.clientOrderId,
        quantity: BigInt(order.quantity),
      });
      return { key: e.clientOrderId, value: Buffer.from(toBinary(events.ExecutionEventSchema, event)) };
    });
    // A triggered stop's news after its fills (same key, so in order): one that rests unfilled is otherwise never told.
    const executionMessages = triggered.length === 0 ? fillMessages : [...fillMessages, ...triggered.map((stop) => this.#trigger(stop))];
    // The taker's execution of each trade stands for the trade (one per trade).
    const tradeMessages = executions
      .filter((_, i) => i % 2 === 1)
      .map((e) => {
        const event = create(events.TradeEventSchema, {
          eventId: tradeId(this.session, e),
          tradeId: tradeId(this.session, e),
          symbol: e.symbol,
          priceKrw: e.priceKrw,
          quantity: BigInt(e.quantity),
          executedAt: timestampFromDate(e.executedAt),
        });
        return { key: e.symbol, value: Buffer.from(toBinary(events.TradeEventSchema, event)) };
      });
    const topicMessages: TopicMessages[] = [];
    for (let copy = 0; copy < copies; copy++) {
      if (executionMessages.length > 0) topicMessages.push({ topic: this.topics.executions, messages: executionMessages });
    }
    if (tradeMessages.length > 0) topicMessages.push({ topic: this.topics.trades, messages: tradeMessages });
    if (books.length > 0) {
      topicMessages.push({
        topic: this.topics.book,
        messages: books.map((book) => {
          const event = create(events.BookEventSchema, {
            eventId: `${book.symbol}-book-${book.sequence}`,
            symbol: book.symbol,
            sequence: book.sequence,
            bids: book.bids.map((l) => ({ priceKrw: l.priceKrw, quantity: BigInt(l.quantity) })),
            asks: book.asks.map((l) => ({ priceKrw: l.priceKrw, quantity: BigInt(l.quantity) })),
            updatedAt: timestampFromDate(book.at),
            phase: phaseToProto(book.phase),
            ...(book.viUntil === undefined ? {} : { viUntil: timestampFromDate(book.viUntil) }),
          });
          return { key: book.symbol, value: Buffer.from(toBinary(events.BookEventSchema, event)) };
        }),
      });
    }
    if (expired.length > 0) topicMessages.push({ topic: this.topics.executions, messages: expired.map((o) => this.#expiry(o)) });
    return topicMessages;
  }

  /** A status change without a fill (an expiry): an execution event with no fill. */
  #expiry(o: OrderRecord) {
    return this.#statusChange(`${this.session}-expired-${o.clientOrderId}`, o, 0);
  }

  /** A stop triggered (once per order, hence the id). */
  #trigger(stop: TriggeredStop) {
    return this.#statusChange(`${this.session}-triggered-${stop.clientOrderId}`, stop, stop.remaining);
  }

  #statusChange(eventId: string, order: StatusChanged, remaining: number) {
    const { clientOrderId } = order;
    const event = create(events.ExecutionEventSchema, {
      eventId,
      status: statusToProto(order.status),
      remainingQuantity: BigInt(remaining),
      clientOrderId,
      quantity: BigInt(order.quantity),
    });
    return { key: clientOrderId, value: Buffer.from(toBinary(events.ExecutionEventSchema, event)) };
  }
}
