// observeRedis on a real Redis (the project's, port 6379) with the real
// OpenTelemetry SDK in this process, its spans collected by a span processor.
import { randomUUID } from "node:crypto";
import { parsePrometheusText } from "@kuku/testkit";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { type ReadableSpan, type SpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { Redis } from "ioredis";
import t from "tap";
import { observeRedis, registry } from "../src/index.js";

const ended: ReadableSpan[] = [];
const collect: SpanProcessor = {
  onStart: () => {},
  onEnd: (span) => void ended.push(span),
  forceFlush: async () => {},
  shutdown: async () => {},
};
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [collect] }));

const redis = observeRedis(new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 }), "test-cache");
await redis.connect();
t.teardown(() => redis.quit());

t.test("inside a trace every command gets a CLIENT span under the caller's; outside, none", async (t) => {
  const key = `kuku:test:${randomUUID()}`;
  await redis.set(key, "1", "PX", 10_000); // outside any trace
  const outside = ended.length;
  await trace.getTracer("test").startActiveSpan("caller", async (caller) => {
    await redis.get(key);
    await redis.pipeline().incr(key).pexpire(key, 10_000).exec();
    await redis.hget(key, "x").catch(() => undefined); // WRONGTYPE
    caller.end();
  });
  const caller = ended.find((s) => s.name === "caller")!;
  const commands = ended.slice(outside).filter((s) => s.name.startsWith("redis "));
  t.equal(outside, 0, "no span for a command outside a trace");
  t.same(
    commands.map((s) => s.name),
    ["redis get", "redis incr", "redis pexpire", "redis hget"],
  );
  t.ok(
    commands.every((s) => s.parentSpanContext?.spanId === caller.spanContext().spanId),
    "children of the caller's span",
  );
  t.equal(commands[3]!.status.code, 2, "the failed command's span says so");
});

t.test("latency per client, command and outcome", async (t) => {
  const samples = parsePrometheusText(await registry.metrics());
  const count = (command: string, outcome: string) =>
    samples.find(
      (s) =>
        s.name === "kuku_redis_command_duration_seconds_count" &&
        s.labels["client"] === "test-cache" &&
        s.labels["command"] === command &&
        s.labels["outcome"] === outcome,
    )?.value;
  t.equal(count("set", "ok"), 1);
  t.equal(count("get", "ok"), 1);
  t.equal(count("hget", "error"), 1);
});
