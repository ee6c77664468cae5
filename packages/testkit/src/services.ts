// The services, written once: what `make up` (scripts/services.sh, through
// services-cli), the test stack, the drills and the benchmarks start, and what
// deploy/test checks compose and k8s against. It lives with the tooling because
// no service reads it at run time: each reads only its own configuration.

export type ServiceName = "ledger" | "exchange" | "order" | "market" | "gateway";
export type Infra = "postgres" | "kafka" | "redis";

export interface ServiceSpec {
  readonly name: ServiceName;
  /** The fixed port of make up, compose and k8s; tests and stacks bind any free port. */
  readonly port: number;
  /** Its admin listener's fixed port (/metrics, /healthz, /readyz): never published beyond the host or the pod. */
  readonly adminPort: number;
  /** Reached from outside the host (compose publishes it on every interface, the ingress routes it); the rest on loopback only. */
  readonly public: boolean;
  /** Every variable the service reads is <envPrefix>_<NAME>, except the shared KAFKA_* ones. */
  readonly envPrefix: string;
  /** The services it calls (<PREFIX>_<CALLEE>_URL), each started before it; it is refused without them. */
  readonly calls: readonly ServiceName[];
  /** Services it calls when they are deployed and runs without (<PREFIX>_<CALLEE>_URL=none), started before it. */
  readonly callsIfPresent: readonly ServiceName[];
  /** Infrastructure: postgres (<PREFIX>_DATABASE_URL), kafka (KAFKA_BROKERS), redis (<PREFIX>_REDIS_URL). */
  readonly needs: readonly Infra[];
  /** A log line it writes once it is ready for its callers, beyond serving. */
  readonly readyLog?: string;
}

/** In start order: every service after the ones it calls. */
export const SERVICES: readonly ServiceSpec[] = [
  { name: "ledger", port: 50051, adminPort: 9051, public: false, envPrefix: "LEDGER", calls: [], callsIfPresent: [], needs: ["postgres"] },
  {
    name: "exchange",
    port: 50053,
    adminPort: 9053,
    public: false,
    envPrefix: "EXCHANGE",
    calls: [],
    callsIfPresent: [],
    needs: ["postgres", "kafka"],
  },
  {
    name: "order",
    port: 50052,
    adminPort: 9052,
    public: false,
    envPrefix: "ORDER",
    calls: ["ledger", "exchange"],
    callsIfPresent: [],
    needs: ["postgres", "kafka"],
    // A new consumer group reads from the topic's end: fills are only the service's once it has joined.
    readyLog: "executions consumer joined",
  },
  {
    name: "market",
    port: 50054,
    adminPort: 9054,
    public: false,
    envPrefix: "MARKET",
    calls: [],
    callsIfPresent: [],
    needs: ["postgres", "kafka", "redis"],
  },
  {
    name: "gateway",
    port: 8080,
    adminPort: 9080,
    public: true,
    envPrefix: "GATEWAY",
    calls: ["ledger", "order", "exchange"],
    // Without the market, quotes answer UNAVAILABLE and valuation uses the reference price.
    callsIfPresent: ["market"],
    // Kafka: order.events, which it turns into each user's order update stream.
    needs: ["postgres", "kafka", "redis"],
    // Order updates reach the streams once its consumer has joined.
    readyLog: "order events consumer joined",
  },
];

export const SERVICE_NAMES: readonly ServiceName[] = SERVICES.map((s) => s.name);

export function service(name: ServiceName): ServiceSpec {
  const spec = SERVICES.find((s) => s.name === name);
  if (spec === undefined) throw new Error(`no service named ${JSON.stringify(name)}`);
  return spec;
}

/** The name of one of a service's variables: envName("order", "PORT") is ORDER_PORT. */
export function envName(name: ServiceName, variable: string): string {
  return `${service(name).envPrefix}_${variable}`;
}

/** The variable holding the URL by which `from` reaches `to`, e.g. ORDER_LEDGER_URL. */
export function urlVariable(from: ServiceName, to: ServiceName): string {
  return envName(from, `${service(to).envPrefix}_URL`);
}

/** Every infrastructure variable a service reads, by what it needs. */
export function infraVariables(name: ServiceName): Record<Infra, string | undefined> {
  const needs = service(name).needs;
  return {
    postgres: needs.includes("postgres") ? envName(name, "DATABASE_URL") : undefined,
    kafka: needs.includes("kafka") ? "KAFKA_BROKERS" : undefined,
    redis: needs.includes("redis") ? envName(name, "REDIS_URL") : undefined,
  };
}
