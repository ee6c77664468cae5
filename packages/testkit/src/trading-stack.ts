// The trading services as real processes, wired to each other as deploy/
// wires them: what the services' integration tests, the benchmarks and the
// drills run against. Each service gets a database of its own, the stack a
// Kafka topic prefix, consumer groups and Redis key prefixes of its own, so
// that stacks share the servers but never each other's data. Any service can
// be killed and started again on the same port, so every client stays valid.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createTestDatabase } from "./database.js";
import { eventually } from "./eventually.js";
import { dropTopics } from "./kafka-topics.js";
import { type ServiceProcess, startService } from "./process.js";
import { infraVariables, SERVICES, type ServiceName, service as spec, urlVariable } from "./services.js";

export interface TradingStackOptions {
  /** Which services run; the gateway without the market answers quotes UNAVAILABLE. */
  readonly services: readonly ServiceName[];
  /** Environment for every service (tracing, log level). */
  readonly env?: Readonly<Record<string, string>>;
  /** Environment for one service, over everything else. */
  readonly envOf?: Partial<Record<ServiceName, Readonly<Record<string, string>>>>;
  /** A database URL for a service; default: a fresh database on the shared server, dropped at stop. */
  readonly database?: (service: ServiceName) => Promise<string>;
  /** The URL by which `from` reaches `to` (default: `to` itself), e.g. through a proxy a drill can cut. */
  readonly link?: (from: ServiceName, to: ServiceName, url: string) => Promise<string>;
  readonly startTimeoutMs?: number;
  /** A folder for each service's log (<service>.log, every process it has been, appended); default: logs kept in memory only. */
  readonly logDir?: string;
}

export interface TradingStack {
  url(service: ServiceName): string;
  /** The service's admin listener (/metrics, /healthz, /readyz); a restarted service has a new one. */
  adminUrl(service: ServiceName): string;
  process(service: ServiceName): ServiceProcess;
  databaseUrl(service: ServiceName): string;
  readonly kafkaTopicPrefix: string;
  /** Stops the service (SIGKILL: no drain, as a crash) and starts it again on the same port and database. */
  restart(service: ServiceName, signal?: NodeJS.Signals): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

/** The services `service` reaches in this stack: every one it calls, and those it calls if present that run. */
const callees = (service: ServiceName, running: readonly ServiceName[]): ServiceName[] => [
  ...spec(service).calls,
  ...spec(service).callsIfPresent.filter((s) => running.includes(s)),
];

/** What keeps stacks that share the servers apart, beyond their databases and topic prefix. */
const isolation = (id: string): Partial<Record<ServiceName, Record<string, string>>> => ({
  order: { ORDER_CONSUMER_GROUP: `kuku-order-${id}` },
  market: { MARKET_CONSUMER_GROUP_PREFIX: `kuku-market-${id}` },
  gateway: {
    GATEWAY_CONSUMER_GROUP: `kuku-gateway-${id}`,
    GATEWAY_REDIS_KEY_PREFIX: `kuku:stack-${id}`,
    // Stacks sign many users up: a cheaper scrypt keeps them fast; production keeps 17.
    GATEWAY_SCRYPT_LOG2_N: "14",
    // ... all from one address, many at once: the per-address hashing budget is for strangers, not the harness.
    GATEWAY_HASH_PER_ADDRESS_MAX: "64",
    GATEWAY_HASH_QUEUE_MAX: "1000",
  },
});

/** Waits for the service's ready line, if it has one; a service that never writes it is killed. */
async function untilReady(service: ServiceName, started: ServiceProcess, timeoutMs: number): Promise<void> {
  const readyLog = spec(service).readyLog;
  if (readyLog === undefined) return;
  await eventually(`the ${service} service logged "${readyLog}"`, () => started.logs.some((l) => l.includes(readyLog)), timeoutMs).catch(
    async (error: unknown) => {
      await started.stop("SIGKILL");
      throw new Error(`${(error as Error).message}\n${started.logs.slice(-30).join("\n")}`);
    },
  );
}

export async function startTradingStack(options: TradingStackOptions): Promise<TradingStack> {
  const running = SERVICES.map((s) => s.name).filter((s) => options.services.includes(s));
  for (const service of running) {
    const missing = spec(service).calls.find((s) => !running.includes(s));
    if (missing !== undefined) throw new Error(`the ${service} service needs the ${missing} service in the stack`);
  }
  const id = randomUUID().slice(0, 8);
  const kafkaTopicPrefix = `stack-${id}.`;
  const processes = new Map<ServiceName, ServiceProcess>();
  const databaseUrls = new Map<ServiceName, string>();
  const links = new Map<string, string>();
  const drops: (() => Promise<void>)[] = [];
  const port = (s: ServiceName) => processes.get(s)?.port ?? 0;
  const direct = (s: ServiceName) => `http://127.0.0.1:${port(s)}`;

  const envOf = (service: ServiceName): Record<string, string> => {
    const urls: Record<string, string> = {};
    for (const to of spec(service).calls) urls[urlVariable(service, to)] = links.get(`${service}>${to}`)!;
    for (const to of spec(service).callsIfPresent) urls[urlVariable(service, to)] = links.get(`${service}>${to}`) ?? "none";
    const kafka: Record<string, string> = infraVariables(service).kafka === undefined ? {} : { KAFKA_TOPIC_PREFIX: kafkaTopicPrefix };
    return { ...options.env, ...kafka, ...urls, ...isolation(id)[service], ...options.envOf?.[service] };
  };

  const start = async (service: ServiceName): Promise<ServiceProcess> => {
    const started = await startService(service, {
      port: port(service),
      database: databaseUrls.get(service)!,
      env: envOf(service),
      startTimeoutMs: options.startTimeoutMs ?? 60_000,
      ...(options.logDir === undefined ? {} : { logFile: join(options.logDir, `${service}.log`) }),
    });
    processes.set(service, started);
    await untilReady(service, started, options.startTimeoutMs ?? 60_000);
    return started;
  };

  const stopAll = async (signal: NodeJS.Signals) => {
    for (const service of [...running].reverse()) await processes.get(service)?.stop(signal);
    for (const drop of drops) await drop();
    if (running.some((s) => infraVariables(s).kafka !== undefined)) await dropTopics(kafkaTopicPrefix);
  };

  try {
    for (const service of running) {
      if (options.database !== undefined) databaseUrls.set(service, await options.database(service));
      else {
        const db = await createTestDatabase(`stack_${service}`);
        drops.push(() => db.drop());
        databaseUrls.set(service, db.url);
      }
    }
    for (const service of running) {
      for (const to of callees(service, running)) {
        links.set(`${service}>${to}`, options.link === undefined ? direct(to) : await options.link(service, to, direct(to)));
      }
      await start(service);
    }
  } catch (error) {
    await stopAll("SIGKILL");
    throw error;
  }

  return {
    url: direct,
    adminUrl: (service) => `http://127.0.0.1:${processes.get(service)?.adminPort}`,
    process: (service) =>
      processes.get(service) ??
      (() => {
        throw new Error(`the ${service} service is not in this stack`);
      })(),
    databaseUrl: (service) => databaseUrls.get(service)!,
    kafkaTopicPrefix,
    async restart(service, signal = "SIGKILL") {
      await processes.get(service)!.stop(signal);
      // Same port: the listening socket is gone with the process.
      return start(service);
    },
    stop: () => stopAll("SIGTERM"),
  };
}
