// Jaeger's `uber-trace-id` header, so services still instrumented with the
// (archived) jaeger-client libraries join our traces and we join theirs.
// Written here rather than taken from @opentelemetry/propagator-jaeger: its
// latest release (2.12.0) declares a peer @opentelemetry/api below 1.10.0,
// which the platform uses (ADR 0015). Baggage (`uberctx-*`) is not carried.
import {
  type Context,
  isSpanContextValid,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  TraceFlags,
  trace,
} from "@opentelemetry/api";

export const UBER_TRACE_ID = "uber-trace-id";

// {trace-id}:{span-id}:{parent-span-id (deprecated)}:{flags}, ids in hex.
const FORMAT = /^([0-9a-f]{1,32}):([0-9a-f]{1,16}):[0-9a-f]{1,16}:([0-9a-f]{1,2})$/i;

export class JaegerPropagator implements TextMapPropagator {
  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const spanContext = trace.getSpanContext(context);
    if (spanContext === undefined || !isSpanContextValid(spanContext)) return;
    const sampled = (spanContext.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? "01" : "00";
    setter.set(carrier, UBER_TRACE_ID, `${spanContext.traceId}:${spanContext.spanId}:0:${sampled}`);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const raw = getter.get(carrier, UBER_TRACE_ID);
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined) return context;
    // Jaeger clients URL-encode the colons in HTTP headers.
    const match = FORMAT.exec(decodeURIComponent(value));
    if (match === null) return context;
    const spanContext = {
      traceId: match[1]!.toLowerCase().padStart(32, "0"),
      spanId: match[2]!.toLowerCase().padStart(16, "0"),
      // Bit 1 is "sampled"; Jaeger's debug bit (2) has no OpenTelemetry counterpart.
      traceFlags: parseInt(match[3]!, 16) & TraceFlags.SAMPLED,
      isRemote: true,
    };
    if (!isSpanContextValid(spanContext)) return context;
    return trace.setSpanContext(context, spanContext);
  }

  fields(): string[] {
    return [UBER_TRACE_ID];
  }
}
