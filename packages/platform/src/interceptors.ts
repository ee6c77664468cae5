import type { DescMessage, DescMethod, MessageShape } from "@bufbuild/protobuf";
import { createValidator, type Violation, violationsToProto } from "@bufbuild/protovalidate";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { type Attributes, type Context, context, propagation, ROOT_CONTEXT, SpanKind } from "@opentelemetry/api";
import type { Logger } from "pino";
import { toConnectError } from "./errors.js";
import { malformedAsInvalidArgument } from "./malformed.js";
import { rpcMetrics } from "./metrics.js";
import { oncePer } from "./once-per.js";
import { activeTracer, headersGetter, headersSetter, inSpan } from "./tracing.js";

const validator = createValidator();

function rejectInvalid(schema: DescMessage, violations: Violation[]): ConnectError {
  const [details, detailsSchema] = violationsToProto(violations);
  const summary = violations.map((v) => v.toString()).join("; ");
  return new ConnectError(`invalid ${schema.name}: ${summary}`, Code.InvalidArgument, undefined, [{ desc: detailsSchema, value: details }]);
}

function check(schema: DescMessage, message: MessageShape<DescMessage>): void {
  const result = validator.validate(schema, message);
  if (result.kind === "invalid") throw rejectInvalid(schema, result.violations);
  // A rule that cannot be evaluated is our bug, not the caller's.
  if (result.kind === "error") throw result.error;
}

/** A streamed request's messages are parsed as they are read, here: a malformed one is the caller's INVALID_ARGUMENT (malformed.ts). */
async function* checkEach(schema: DescMessage, messages: AsyncIterable<MessageShape<DescMessage>>) {
  const reading = messages[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<MessageShape<DescMessage>>;
    try {
      next = await reading.next();
    } catch (error) {
      throw malformedAsInvalidArgument(error);
    }
    if (next.done === true) return;
    check(schema, next.value);
    yield next.value;
  }
}

/**
 * Enforces the protovalidate rules declared in the protos on every request
 * message, before any handler runs: a bad request gets INVALID_ARGUMENT
 * naming each field, with buf.validate.Violations attached as details.
 */
export function validationInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (req.stream) {
      return next({ ...req, message: checkEach(req.method.input, req.message) });
    }
    check(req.method.input, req.message);
    return next(req);
  };
}

/**
 * The one error edge of every server: a DomainError becomes its gRPC status
 * (errors.ts), a ConnectError passes through, anything else is a bug: logged
 * with its cause, and the caller sees INTERNAL without internals. Errors a
 * response stream throws after its first message are mapped the same way.
 */
export function errorMappingInterceptor(logger: Logger): Interceptor {
  const mapped = (error: unknown, procedure: string): ConnectError => {
    const known = toConnectError(error);
    if (known !== undefined) return known;
    logger.error({ err: error, procedure }, "unexpected error in handler");
    return new ConnectError("internal error", Code.Internal);
  };
  async function* mapStream<T>(messages: AsyncIterable<T>, procedure: string): AsyncIterable<T> {
    try {
      yield* messages;
    } catch (error) {
      throw mapped(error, procedure);
    }
  }
  return (next) => async (req) => {
    try {
      const res = await next(req);
      return res.stream ? { ...res, message: mapStream(res.message, req.url) } : res;
    } catch (error) {
      throw mapped(error, req.url);
    }
  };
}

/** The gRPC status name of an outcome, as Prometheus' gRPC exporters spell it (OK, InvalidArgument, ...). */
function codeName(error: unknown): string {
  return error === undefined ? "OK" : Code[error instanceof ConnectError ? error.code : Code.Internal];
}

type Histogram = typeof rpcMetrics.serverDuration;
type Counter = typeof rpcMetrics.serverHandled;

/**
 * What a method's telemetry needs, built on its first call and kept: the span
 * name and attributes, and per status code the metric series with their
 * labels bound (prom-client's labels() children), so that a call allocates
 * no label objects.
 */
class MethodTelemetry {
  readonly spanName: string;
  readonly attributes: Attributes;
  readonly #byCode = new Map<
    string,
    { readonly handled?: ReturnType<Counter["labels"]>; readonly duration: ReturnType<Histogram["labels"]> }
  >();

  constructor(
    private readonly method: DescMethod,
    private readonly duration: Histogram,
    private readonly handled?: Counter,
  ) {
    this.spanName = `${method.parent.typeName}/${method.name}`;
    this.attributes = { "rpc.system": "grpc", "rpc.service": method.parent.typeName, "rpc.method": method.name };
  }

  /** Records one call that took `seconds` and ended with `error` (undefined: OK). */
  record(error: unknown, seconds: number): void {
    const code = codeName(error);
    let series = this.#byCode.get(code);
    if (series === undefined) {
      const labels = [this.method.parent.typeName, this.method.name, code] as const;
      series = { handled: this.handled?.labels(...labels), duration: this.duration.labels(...labels) };
      this.#byCode.set(code, series);
    }
    series.handled?.inc();
    series.duration.observe(seconds);
  }
}

/**
 * The outermost server interceptor: a SERVER span continuing the caller's
 * trace (W3C traceparent or Jaeger uber-trace-id in the request headers),
 * and the RPC rate, errors and duration per method. For a streaming
 * response both cover the call up to its first response, not the stream.
 * Without a tracing SDK the span work is skipped: it would be a no-op.
 */
export function serverObservabilityInterceptor(): Interceptor {
  const telemetryOf = oncePer((method: DescMethod) => new MethodTelemetry(method, rpcMetrics.serverDuration, rpcMetrics.serverHandled));
  return (next) => async (req) => {
    const telemetry = telemetryOf(req.method);
    const started = performance.now();
    let failure: unknown;
    try {
      const tracer = activeTracer();
      if (tracer === undefined) return await next(req);
      const parent = propagation.extract(ROOT_CONTEXT, req.header, headersGetter);
      return await inSpan(telemetry.spanName, { kind: SpanKind.SERVER, parent, attributes: telemetry.attributes, tracer }, async (span) => {
        try {
          const response = await next(req);
          span.setAttribute("rpc.grpc.status_code", 0); // OK: Connect's Code has no member for it
          return response;
        } catch (error) {
          span.setAttribute("rpc.grpc.status_code", error instanceof ConnectError ? error.code : Code.Internal);
          throw error;
        }
      });
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      telemetry.record(failure, (performance.now() - started) / 1e3);
    }
  };
}

/**
 * What a client does around one call, whatever carries it (a Connect
 * interceptor, or the service client's own unary path): a CLIENT span whose
 * context `inject` puts into the outgoing request, and the call's duration
 * per method and status. Without a tracing SDK no span is made.
 */
export type ClientCallObserver = <T>(method: DescMethod, inject: (ctx: Context) => void, call: () => Promise<T>) => Promise<T>;

export function clientCallObserver(): ClientCallObserver {
  const telemetryOf = oncePer((method: DescMethod) => new MethodTelemetry(method, rpcMetrics.clientDuration));
  return (method, inject, call) => {
    const telemetry = telemetryOf(method);
    const started = performance.now();
    const tracer = activeTracer();
    let calling: ReturnType<typeof call>;
    try {
      calling =
        tracer === undefined
          ? call()
          : inSpan(telemetry.spanName, { kind: SpanKind.CLIENT, attributes: telemetry.attributes, tracer }, () => {
              inject(context.active());
              return call();
            });
    } catch (error) {
      calling = Promise.reject(error);
    }
    // then() rather than an async frame: this runs on every service-to-service call.
    return calling.then(
      (response) => {
        telemetry.record(undefined, (performance.now() - started) / 1e3);
        return response;
      },
      (error: unknown) => {
        telemetry.record(error, (performance.now() - started) / 1e3);
        throw error;
      },
    );
  };
}

/** A CLIENT span per call whose context goes out in the request headers, and the call's duration. */
export function clientObservabilityInterceptor(): Interceptor {
  const observe = clientCallObserver();
  return (next) => (req) =>
    observe(
      req.method,
      (ctx) => propagation.inject(ctx, req.header, headersSetter),
      () => next(req),
    );
}
