import type { DescMethodUnary, DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { type FaultRule, faultInjectionInterceptor } from "./fault-injection.js";
import { channelFor, createGrpcJsTransport } from "./grpc-js-transport.js";
import { getDefaultIdentity, identityClientInterceptor, type ServiceIdentity } from "./identity.js";
import { clientObservabilityInterceptor } from "./interceptors.js";
import type { Resilience } from "./resilience.js";
import { unaryMethods } from "./unary-client.js";

export interface ClientOptions {
  /** e.g. http://127.0.0.1:50051 */
  readonly baseUrl: string;
  /** Deadline for every call that does not set its own timeoutMs; with retries, for all attempts together. */
  readonly timeoutMs: number;
  /** Connect client interceptors, outermost; a client given any sends its unary calls through Connect's client too (slower). */
  readonly interceptors?: readonly Interceptor[];
  /** Bulkhead, retries of idempotent calls, rate limit, breaker, attempt timeout (see resilience.ts). */
  readonly resilience?: Resilience;
  /** A fault drill's rules (or where to get the current ones), applied closest to the wire so that the policies above see the faults. */
  readonly faults?: readonly FaultRule[] | (() => readonly FaultRule[]);
  /** Who the calls come from; default: the process's (set by runService, or the testkit's operator). */
  readonly identity?: ServiceIdentity;
}

/**
 * A service-to-service client: gRPC over HTTP/2 (a shared @grpc/grpc-js channel per target) with a default deadline,
 * traced and timed. Unary calls go straight to grpc-js through the platform's own steps (unary-client.ts); streams,
 * and every call of a client given Connect `interceptors`, through Connect's client on the grpc-js transport.
 */
export function createServiceClient<T extends DescService>(service: T, options: ClientOptions): Client<T> {
  if (!(options.timeoutMs > 0)) throw new Error(`timeoutMs must be positive, got ${options.timeoutMs}`);
  const identity = options.identity ?? getDefaultIdentity();
  const transport = createGrpcJsTransport({
    baseUrl: options.baseUrl,
    defaultTimeoutMs: options.timeoutMs,
    // The first interceptor is the outermost: a span per attempt, inside the retries; injected faults innermost.
    interceptors: [
      ...(options.interceptors ?? []),
      ...(options.resilience !== undefined ? [options.resilience.interceptor] : []),
      clientObservabilityInterceptor(),
      ...(identity === undefined ? [] : [identityClientInterceptor(identity)]),
      ...(options.faults !== undefined ? [faultInjectionInterceptor(options.faults)] : []),
    ],
  });
  const client = createClient(service, transport);
  if (options.interceptors !== undefined && options.interceptors.length > 0) return client;
  const unaryMethod = unaryMethods(channelFor(options.baseUrl).getChannel(), {
    timeoutMs: options.timeoutMs,
    resilience: options.resilience,
    identity,
    faults: options.faults,
  });
  const methods = client as Record<string, unknown>;
  for (const method of service.methods) {
    if (method.methodKind === "unary") methods[method.localName] = unaryMethod(method as DescMethodUnary);
  }
  return client;
}
