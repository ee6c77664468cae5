import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import {
  Health,
  type HealthCheckRequest,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@kuku/contracts/grpc/health/v1/health_pb";
import { type ServiceRegistration, serviceOf } from "./registration.js";

export { ServingStatus };

/**
 * grpc.health.v1 with Check and Watch. "" is the whole server; every served
 * service has its own entry. Shutting down flips everything to NOT_SERVING
 * and ends the watches.
 */
export class HealthRegistry {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #listeners = new Set<() => void>();
  readonly #closed = new AbortController();

  set(service: string, status: ServingStatus): void {
    this.#statuses.set(service, status);
    for (const notify of this.#listeners) notify();
  }

  setAll(status: ServingStatus): void {
    for (const service of this.#statuses.keys()) this.set(service, status);
  }

  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  close(): void {
    this.setAll(ServingStatus.NOT_SERVING);
    this.#closed.abort();
  }

  registration(): ServiceRegistration {
    return serviceOf(Health, {
      check: (req: HealthCheckRequest) => {
        const status = this.get(req.service);
        if (status === undefined) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
        return create(HealthCheckResponseSchema, { status });
      },
      watch: (req: HealthCheckRequest, ctx: HandlerContext) => this.#watch(req.service, ctx.signal),
    });
  }

  async *#watch(service: string, signal: AbortSignal) {
    const stop = AbortSignal.any([signal, this.#closed.signal]);
    let wake: () => void = () => {};
    const listener = () => wake();
    this.#listeners.add(listener);
    stop.addEventListener("abort", listener);
    try {
      let last: ServingStatus | undefined;
      for (;;) {
        const status = this.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
        const changed = new Promise<void>((resolve) => (wake = resolve));
        if (status !== last) {
          last = status;
          yield create(HealthCheckResponseSchema, { status });
        }
        // On shutdown, end only once the last status was sent.
        if (stop.aborted) {
          if ((this.get(service) ?? ServingStatus.SERVICE_UNKNOWN) === last) return;
          continue;
        }
        await changed;
      }
    } finally {
      this.#listeners.delete(listener);
      stop.removeEventListener("abort", listener);
    }
  }
}
