// Redis latency and spans for an ioredis client, without depending on
// ioredis here: every command of an ioredis client (single, pipelined or in
// MULTI) goes through its sendCommand, which this wraps.
import { context, SpanKind } from "@opentelemetry/api";
import { redisMetrics } from "./metrics.js";
import { insideTrace, markFailed, tracer } from "./tracing.js";

/** The part of an ioredis client (Redis or Cluster) this needs. */
export interface RedisCommandSender {
  sendCommand(command: { readonly name: string; readonly promise: Promise<unknown> }, stream?: unknown): unknown;
}

/**
 * Times every command (kuku_redis_command_duration_seconds, by client name,
 * command and outcome) and, inside a trace, gives it a CLIENT span. Keys and
 * values are not recorded: they may be user data.
 */
export function observeRedis<T extends RedisCommandSender>(redis: T, clientName: string): T {
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    const started = process.hrtime.bigint();
    const span = insideTrace()
      ? tracer().startSpan(
          `redis ${command.name}`,
          { kind: SpanKind.CLIENT, attributes: { "db.system": "redis", "db.operation.name": command.name } },
          context.active(),
        )
      : undefined;
    const done = (outcome: "ok" | "error") => {
      redisMetrics.commandDuration.observe(
        { client: clientName, command: command.name, outcome },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      span?.end();
    };
    command.promise.then(
      () => done("ok"),
      (error: unknown) => {
        if (span !== undefined) markFailed(span, error);
        done("error");
      },
    );
    return send(command, stream);
  };
  return redis;
}
