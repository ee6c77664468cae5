// What the contracts promise beyond what protoc checks: every rpc of a
// service called through the platform's retry policy states whether a repeat
// is safe, every IDEMPOTENT rpc names its key field, and every topic an event
// message declares is exported by @kuku/contracts/topics with a key that
// leads to a string.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { create, type DescFile, type DescMessage, getOption, isFieldSet, ScalarType } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel as Level, MethodOptionsSchema } from "@bufbuild/protobuf/wkt";
import t from "tap";
import { ExecutionEventSchema } from "../src/gen/kuku/exchange/v1/events_pb.js";
import { FillSchema } from "../src/gen/kuku/exchange/v1/exchange_pb.js";
import { idempotency_key, topic } from "../src/gen/kuku/options/v1/options_pb.js";
import { OrderEventSchema } from "../src/gen/kuku/order/v1/events_pb.js";
import { OrderSchema } from "../src/gen/kuku/order/v1/order_pb.js";
import { EXCHANGE_BOOK, EXCHANGE_EXECUTIONS, EXCHANGE_TRADES, ORDER_EVENTS, TOPICS, topicOf } from "../src/topics.js";

// Our own files (kuku/...), found on disk so that a new proto is covered without being listed here.
const genDir = join(import.meta.dirname, "../src/gen/kuku");
const files: DescFile[] = [];
for (const path of readdirSync(genDir, { recursive: true, encoding: "utf8" }).filter((p) => p.endsWith("_pb.ts"))) {
  const module = (await import(join(genDir, path))) as Record<string, unknown>;
  files.push(...Object.values(module).filter((v): v is DescFile => (v as DescFile | undefined)?.kind === "file"));
}
const messages = (list: readonly DescMessage[]): DescMessage[] => list.flatMap((m) => [m, ...messages(m.nestedMessages)]);
const services = files.flatMap((f) => f.services);
// Called service to service through createServiceClient; the gateway's public API is not.
const OURS = ["kuku.ledger.v1", "kuku.order.v1", "kuku.exchange.v1", "kuku.market.v1", "kuku.gateway.v1"];

t.test("the generated files were found", async (t) => {
  t.ok(files.length >= 8, `${files.length} files`);
  t.ok(services.length >= 6, `${services.length} services`);
});

t.test("every rpc of an internal service states its idempotency level", async (t) => {
  for (const service of services.filter((s) => OURS.includes(s.file.proto.package))) {
    for (const method of service.methods) {
      const options = method.proto.options ?? create(MethodOptionsSchema);
      t.ok(
        isFieldSet(options, MethodOptionsSchema.field.idempotencyLevel),
        `${service.typeName}.${method.name}: option idempotency_level (IDEMPOTENCY_UNKNOWN when a repeat is not safe)`,
      );
    }
  }
});

t.test("every IDEMPOTENT rpc marks exactly one string field as its key", async (t) => {
  for (const method of services.flatMap((s) => s.methods)) {
    const keys = method.input.fields.filter((f) => getOption(f, idempotency_key));
    const where = `${method.parent.typeName}.${method.name}`;
    if (method.idempotency !== Level.IDEMPOTENT) {
      t.same(keys, [], `${where}: a key only on an IDEMPOTENT rpc`);
      continue;
    }
    t.equal(keys.length, 1, `${where}: one (kuku.options.v1.idempotency_key) field`);
    const key = keys[0];
    if (key === undefined) continue;
    t.ok(key.fieldKind === "scalar" && key.scalar === ScalarType.STRING, `${where}: the key is a string`);
  }
});

t.test("every declared topic is exported once, by a unique name", async (t) => {
  const declared = files.flatMap((f) => messages(f.messages)).filter((m) => getOption(m, topic).name !== "");
  t.same(declared.map((m) => m.typeName).sort(), TOPICS.map((x) => x.schema.typeName).sort(), "TOPICS lists every event message");
  t.equal(new Set(TOPICS.map((x) => x.name)).size, TOPICS.length, "no two messages on one topic");
  t.same(
    TOPICS.map((x) => [x.name, x.keyPath]),
    [
      ["exchange.executions", "client_order_id"],
      ["exchange.trades", "symbol"],
      ["exchange.book", "symbol"],
      ["order.events", "order.order_id"],
    ],
    "the names the services publish and consume today",
  );
});

t.test("a topic's key is read from the event, nested fields included", async (t) => {
  t.equal(EXCHANGE_EXECUTIONS.key(create(ExecutionEventSchema, { clientOrderId: "c-1" })), "c-1");
  t.equal(EXCHANGE_TRADES.key(create(EXCHANGE_TRADES.schema, { symbol: "005930" })), "005930");
  t.equal(EXCHANGE_BOOK.key(create(EXCHANGE_BOOK.schema, { symbol: "000660" })), "000660");
  t.equal(ORDER_EVENTS.key(create(OrderEventSchema, { order: { orderId: "o-1" } })), "o-1");
  t.throws(() => ORDER_EVENTS.key(create(OrderEventSchema, {})), /without its key/);
});

t.test("a message that declares no topic has none", async (t) => {
  t.throws(() => topicOf(FillSchema), /declares no/);
  t.throws(() => topicOf(OrderSchema), /declares no/);
});
