import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { createValidator, type Violation, violationsToProto } from "@bufbuild/protovalidate";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { context, propagation, ROOT_CONTEXT, SpanKind } from "@opentelemetry/api";
import type { Logger } from "pino";
import { toConnectError } from "./errors.js";
import { rpcMetrics } from "./metrics.js";
import { headersGetter, headersSetter, inSpan } from "./tracing.js";

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

async function* checkEach(schema: DescMessage, messages: AsyncIterable<MessageShape<DescMessage>>) {
  for await (const message of messages) {
    check(schema, message);
    yield message;
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

/**
 * The outermost server interceptor: a SERVER span continuing the caller's
 * trace (W3C traceparent or Jaeger uber-trace-id in the request headers),
 * and the RPC rate, errors and duration per method. For a streaming
 * response both cover the call up to its first response, not the stream.
 */
export function serverObservabilityInterceptor(): Interceptor {
  return (next) => async (req) => {
    const labels = { rpc_service: req.service.typeName, rpc_method: req.method.name };
    const parent = propagation.extract(ROOT_CONTEXT, req.header, headersGetter);
    const started = process.hrtime.bigint();
    let failure: unknown;
    try {
      return await inSpan(
        `${req.service.typeName}/${req.method.name}`,
        {
          kind: SpanKind.SERVER,
          parent,
          attributes: { "rpc.system": "grpc", "rpc.service": req.service.typeName, "rpc.method": req.method.name },
        },
        async (span) => {
          try {
            const response = await next(req);
            span.setAttribute("rpc.grpc.status_code", 0); // OK: Connect's Code has no member for it
            return response;
          } catch (error) {
            span.setAttribute("rpc.grpc.status_code", error instanceof ConnectError ? error.code : Code.Internal);
            throw error;
          }
        },
      );
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      const code = codeName(failure);
      rpcMetrics.serverHandled.inc({ ...labels, code });
      rpcMetrics.serverDuration.observe({ ...labels, code }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
}

/** A CLIENT span per call whose context goes out in the request headers, and the call's duration. */
export function clientObservabilityInterceptor(): Interceptor {
  return (next) => async (req) => {
    const labels = { rpc_service: req.service.typeName, rpc_method: req.method.name };
    const started = process.hrtime.bigint();
    let failure: unknown;
    try {
      return await inSpan(
        `${req.service.typeName}/${req.method.name}`,
        { kind: SpanKind.CLIENT, attributes: { "rpc.system": "grpc", "rpc.service": req.service.typeName, "rpc.method": req.method.name } },
        () => {
          propagation.inject(context.active(), req.header, headersSetter);
          return next(req);
        },
      );
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      rpcMetrics.clientDuration.observe({ ...labels, code: codeName(failure) }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
}
