import {
  type Attributes,
  type Context,
  context,
  ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { ConfigError, intVar } from "./config.js";
import { JaegerPropagator } from "./jaeger-propagator.js";

let shutdownTracing: (() => Promise<void>) | undefined;

/**
 * Sets up OpenTelemetry once per process. OTEL_TRACES_EXPORTER picks the
 * exporter: `zipkin` (OTEL_EXPORTER_ZIPKIN_ENDPOINT, default the local
 * Zipkin of `make tracing`), `otlp` (OTEL_EXPORTER_OTLP_ENDPOINT, e.g. a
 * Jaeger or an OpenTelemetry Collector) or `none`. Unset, it is `otlp` when
 * an OTLP endpoint is given, else `none`: the API stays a no-op, spans cost
 * nothing, and the SDK is not even imported.
 */
export async function initTracing(
  serviceName: string,
  env: Record<string, string | undefined> = process.env,
): Promise<() => Promise<void>> {
  if (shutdownTracing !== undefined) return shutdownTracing;
  const otlpEndpoint = env["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? "";
  const exporterName = env["OTEL_TRACES_EXPORTER"] || (otlpEndpoint === "" ? "none" : "otlp");
  if (exporterName !== "none" && exporterName !== "otlp" && exporterName !== "zipkin") {
    throw new Error(`OTEL_TRACES_EXPORTER must be none, otlp or zipkin, got ${JSON.stringify(exporterName)}`);
  }
  if (exporterName === "none") {
    shutdownTracing = async () => {};
    return shutdownTracing;
  }
  const [
    { TracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler },
    { resourceFromAttributes },
    { AsyncLocalStorageContextManager },
    core,
  ] = await Promise.all([
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
  ]);
  const exporter =
    exporterName === "zipkin"
      ? new (await import("@opentelemetry/exporter-zipkin")).ZipkinExporter({
          url: env["OTEL_EXPORTER_ZIPKIN_ENDPOINT"] || "http://127.0.0.1:9411/api/v2/spans",
          serviceName,
        })
      : new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter({
          url: `${(otlpEndpoint || "http://127.0.0.1:4318").replace(/\/$/, "")}/v1/traces`,
        });
  const scheduledDelayMillis = intVar("OTEL_BSP_SCHEDULE_DELAY", 1_000, { min: 10, max: 60_000 }).parse(env);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    // A caller's decision is kept (its trace stays whole); new traces are sampled at the ratio.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(samplingRatio(env)) }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  // Inject both formats; on extract the last propagator that finds a context wins, so W3C goes last.
  propagation.setGlobalPropagator(
    new core.CompositePropagator({
      propagators: [new JaegerPropagator(), new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
    }),
  );
  trace.setGlobalTracerProvider(provider);
  shutdownTracing = () => provider.shutdown();
  return shutdownTracing;
}

/**
 * OTEL_TRACES_SAMPLER_ARG: the share of new traces recorded, 0 to 1 (the
 * parentbased_traceidratio sampler's argument); 1, every trace, when unset.
 */
export function samplingRatio(env: Record<string, string | undefined>): number {
  const text = env["OTEL_TRACES_SAMPLER_ARG"] ?? "";
  const ratio = text === "" ? 1 : Number(text);
  if (!(ratio >= 0 && ratio <= 1))
    throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, got ${JSON.stringify(text)}`);
  return ratio;
}

const TRACER_NAME = "@kuku/platform";

export const tracer = () => trace.getTracer(TRACER_NAME);

/**
 * The platform's tracer once an SDK is installed; undefined before (or
 * without) one, when spans and propagation are no-ops, so that hot paths can
 * skip building them.
 */
export function activeTracer(): Tracer | undefined {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider ? provider.getDelegateTracer(TRACER_NAME) : provider.getTracer(TRACER_NAME);
}

/**
 * Runs fn inside a new span and ends it when fn settles; a throw marks the
 * span as failed and goes on to the caller.
 */
export async function inSpan<T>(
  name: string,
  options: { kind: SpanKind; attributes?: Attributes; parent?: Context; tracer?: Tracer },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = (options.tracer ?? tracer()).startSpan(name, { kind: options.kind, attributes: options.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    markFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

export function markFailed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** Only inside a trace: background loops (relay polling, reconciliation) would otherwise flood the backend with root spans. */
export const insideTrace = () => trace.getActiveSpan() !== undefined;

// Carriers: HTTP headers (Connect) and Kafka message headers.
export const headersGetter: TextMapGetter<Headers> = {
  keys: (h) => [...h.keys()],
  get: (h, key) => h.get(key) ?? undefined,
};
export const headersSetter: TextMapSetter<Headers> = { set: (h, key, value) => h.set(key, value) };

export type KafkaHeaders = Record<string, string | Buffer | (string | Buffer)[] | undefined>;
const kafkaHeadersGetter: TextMapGetter<KafkaHeaders> = {
  keys: (h) => Object.keys(h),
  get: (h, key) => {
    const value = h[key];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  },
};

/** The active trace context as Kafka message headers (empty when tracing is off). */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(ctx, headers);
  return headers;
}

/** The trace context a Kafka message carries (none: a fresh root). */
export function contextFromKafkaHeaders(headers: KafkaHeaders | undefined): Context {
  return headers === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, headers, kafkaHeadersGetter);
}
