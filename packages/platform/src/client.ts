import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { DescService } from "@bufbuild/protobuf";
import { clientObservabilityInterceptor } from "./interceptors.js";

export interface ClientOptions {
  /** e.g. http://127.0.0.1:50051 */
  readonly baseUrl: string;
  /** Deadline for every call that does not set its own timeoutMs. */
  readonly timeoutMs: number;
  readonly interceptors?: readonly Interceptor[];
}

/** A service-to-service client: gRPC over HTTP/2 with a default deadline, traced and timed. */
export function createServiceClient<T extends DescService>(service: T, options: ClientOptions): Client<T> {
  if (!(options.timeoutMs > 0)) throw new Error(`timeoutMs must be positive, got ${options.timeoutMs}`);
  const transport = createGrpcTransport({
    baseUrl: options.baseUrl,
    defaultTimeoutMs: options.timeoutMs,
    interceptors: [clientObservabilityInterceptor(), ...(options.interceptors ?? [])],
  });
  return createClient(service, transport);
}
