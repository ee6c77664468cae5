// The Kafka topics. Each is declared once, on its event message in the protos
// (`option (kuku.options.v1.topic) = { name, key }`); this module reads those
// declarations so that publishers and consumers share one name, one payload
// schema and one record key, and a topic cannot be renamed on one side only.
import { type DescField, type DescMessage, getOption, type MessageShape, ScalarType } from "@bufbuild/protobuf";
import { BookEventSchema, ExecutionEventSchema, TradeEventSchema } from "./gen/kuku/exchange/v1/events_pb.js";
import { topic as topicOption } from "./gen/kuku/options/v1/options_pb.js";
import { OrderEventSchema } from "./gen/kuku/order/v1/events_pb.js";

export interface Topic<Desc extends DescMessage = DescMessage> {
  /** Before any KAFKA_TOPIC_PREFIX (the platform's prefixedTopics adds it). */
  readonly name: string;
  /** The payload: one message of this schema per record, in binary. */
  readonly schema: Desc;
  /** The declared key path, as in the proto ("order.order_id"). */
  readonly keyPath: string;
  /** The record key of an event: the string at the key path. */
  key(event: MessageShape<Desc>): string;
}

/** The topic an event message declares; throws when it declares none or its key path does not lead to a string. */
export function topicOf<Desc extends DescMessage>(schema: Desc): Topic<Desc> {
  const declared = getOption(schema, topicOption);
  if (declared.name === "") throw new Error(`${schema.typeName} declares no (kuku.options.v1.topic)`);
  const path = keyFields(schema, declared.key);
  return { name: declared.name, schema, keyPath: declared.key, key: (event) => keyAt(event, path, schema.typeName) };
}

function keyFields(schema: DescMessage, keyPath: string): readonly DescField[] {
  const fields: DescField[] = [];
  let message: DescMessage | undefined = schema;
  for (const name of keyPath.split(".")) {
    const field: DescField | undefined = message?.fields.find((f) => f.name === name);
    if (field === undefined) throw new Error(`${schema.typeName}: topic key "${keyPath}" names no field`);
    fields.push(field);
    message = field.fieldKind === "message" ? field.message : undefined;
  }
  const last = fields.at(-1)!;
  if (last.fieldKind !== "scalar" || last.scalar !== ScalarType.STRING) {
    throw new Error(`${schema.typeName}: topic key "${keyPath}" is not a string field`);
  }
  return fields;
}

function keyAt(event: unknown, path: readonly DescField[], typeName: string): string {
  let value = event;
  for (const field of path) {
    if (value === undefined) throw new Error(`${typeName} event without its key (${path.map((f) => f.name).join(".")})`);
    value = (value as Record<string, unknown>)[field.localName];
  }
  return value as string;
}

/** Executions for the brokers' order services, by client order id. */
export const EXCHANGE_EXECUTIONS = topicOf(ExecutionEventSchema);
/** Trades for market data, by symbol. */
export const EXCHANGE_TRADES = topicOf(TradeEventSchema);
/** Top-of-book snapshots for market data, by symbol. */
export const EXCHANGE_BOOK = topicOf(BookEventSchema);
/** The order service's state changes (from its outbox), by order id. */
export const ORDER_EVENTS = topicOf(OrderEventSchema);

/** Every topic, e.g. to create them up front. */
export const TOPICS: readonly Topic[] = [EXCHANGE_EXECUTIONS, EXCHANGE_TRADES, EXCHANGE_BOOK, ORDER_EVENTS];
