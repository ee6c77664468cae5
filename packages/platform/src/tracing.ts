import { context, propagation, trace } from "@opentelemetry/api";

let shutdownTracing: (() => Promise<void>) | undefined;

/**
 * Sets up OpenTelemetry once per process. With no exporter configured
 * (OTEL_EXPORTER_OTLP_ENDPOINT unset) the API stays a no-op, so spans cost
 * nothing; the SDK is imported only when it is needed.
 */
export async function initTracing(
  serviceName: string,
  env: Record<string, string | undefined> = process.env,
): Promise<() => Promise<void>> {
  if (shutdownTracing !== undefined) return shutdownTracing;
  const endpoint = env["OTEL_EXPORTER_OTLP_ENDPOINT"];
  if (endpoint === undefined || endpoint === "") {
    shutdownTracing = async () => {};
    return shutdownTracing;
  }
  const [{ TracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }] =
    await Promise.all([
      import("@opentelemetry/sdk-trace"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
      import("@opentelemetry/context-async-hooks"),
      import("@opentelemetry/core"),
    ]);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, "")}/v1/traces` }) })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  shutdownTracing = () => provider.shutdown();
  return shutdownTracing;
}
