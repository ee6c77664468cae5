// The trading services as real processes, wired to each other as deploy/
// wires them: what the services' integration tests, the benchmarks and the
// drills run against. Each service gets a database of its own, the stack a
// Kafka topic prefix, consumer groups and Redis key prefixes of its own, so
// that stacks share the servers but never each other's data. Any service can
// be killed and started again on the same port, so every client stays valid.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, eventually, type ServiceProcess, startServiceProcess } from "./testing.js";

export type ServiceName = "ledger" | "exchange" | "order" | "market" | "gateway";

/** Start order: every service after the ones it calls. */
const START_ORDER: readonly ServiceName[] = ["ledger", "exchange", "order", "market", "gateway"];
const SERVICES_DIR = fileURLToPath(new URL("../../../services/", import.meta.url));

/** A log line each service writes once it is ready for the stack's callers, beyond serving. */
const READY_LOG: Partial<Record<ServiceName, string>> = {
  // A new consumer group reads from the topic's end: fills are only the service's once it has joined.
  order: "executions consumer joined",
};

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
  process(service: ServiceName): ServiceProcess;
  databaseUrl(service: ServiceName): string;
  readonly kafkaTopicPrefix: string;
  /** Stops the service (SIGKILL: no drain, as a crash) and starts it again on the same port and database. */
  restart(service: ServiceName, signal?: NodeJS.Signals): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

const DEPENDS_ON: Record<ServiceName, readonly ServiceName[]> = {
  ledger: [],
  exchange: [],
  order: ["ledger", "exchange"],
  market: [],
  gateway: ["ledger", "order", "exchange"],
};

export async function startTradingStack(options: TradingStackOptions): Promise<TradingStack> {
  const running = START_ORDER.filter((s) => options.services.includes(s));
  for (const service of running) {
    for (const needed of DEPENDS_ON[service]) {
      if (!running.includes(needed)) throw new Error(`the ${service} service needs the ${needed} service in the stack`);
    }
  }
  const id = randomUUID().slice(0, 8);
  const kafkaTopicPrefix = `stack-${id}.`;
  const processes = new Map<ServiceName, ServiceProcess>();
  const databaseUrls = new Map<ServiceName, string>();
  const links = new Map<string, string>();
  const drops: (() => Promise<void>)[] = [];
  const port = (s: ServiceName) => processes.get(s)?.port ?? 0;
  const direct = (s: ServiceName) => `http://127.0.0.1:${port(s)}`;
  const link = (from: ServiceName, to: ServiceName) => links.get(`${from}>${to}`)!;

  const envOf = (service: ServiceName): Record<string, string> => {
    const database = databaseUrls.get(service)!;
    const own: Record<ServiceName, () => Record<string, string>> = {
      ledger: () => ({ LEDGER_PORT: String(port("ledger")), LEDGER_DATABASE_URL: database }),
      exchange: () => ({ EXCHANGE_PORT: String(port("exchange")), EXCHANGE_DATABASE_URL: database, KAFKA_TOPIC_PREFIX: kafkaTopicPrefix }),
      order: () => ({
        ORDER_PORT: String(port("order")),
        ORDER_DATABASE_URL: database,
        KAFKA_TOPIC_PREFIX: kafkaTopicPrefix,
        ORDER_LEDGER_URL: link("order", "ledger"),
        ORDER_EXCHANGE_URL: link("order", "exchange"),
        ORDER_CONSUMER_GROUP: `kuku-order-${id}`,
      }),
      market: () => ({
        MARKET_PORT: String(port("market")),
        MARKET_DATABASE_URL: database,
        KAFKA_TOPIC_PREFIX: kafkaTopicPrefix,
        MARKET_CONSUMER_GROUP_PREFIX: `kuku-market-${id}`,
      }),
      gateway: () => ({
        GATEWAY_PORT: String(port("gateway")),
        GATEWAY_DATABASE_URL: database,
        GATEWAY_LEDGER_URL: link("gateway", "ledger"),
        GATEWAY_ORDER_URL: link("gateway", "order"),
        GATEWAY_EXCHANGE_URL: link("gateway", "exchange"),
        GATEWAY_MARKET_URL: running.includes("market") ? link("gateway", "market") : "none",
        GATEWAY_REDIS_KEY_PREFIX: `kuku:stack-${id}`,
        // Stacks sign many users up: a cheaper scrypt keeps them fast; production keeps 17.
        GATEWAY_SCRYPT_LOG2_N: "14",
      }),
    };
    return { ...options.env, ...own[service](), ...options.envOf?.[service] };
  };

  const start = async (service: ServiceName): Promise<ServiceProcess> => {
    const started = await startServiceProcess({
      cwd: `${SERVICES_DIR}${service}`,
      env: envOf(service),
      startTimeoutMs: options.startTimeoutMs ?? 60_000,
      ...(options.logDir === undefined ? {} : { logFile: join(options.logDir, `${service}.log`) }),
    });
    processes.set(service, started);
    const readyLog = READY_LOG[service];
    if (readyLog !== undefined) {
      await eventually(
        `the ${service} service logged "${readyLog}"`,
        () => started.logs.some((l) => l.includes(readyLog)),
        options.startTimeoutMs ?? 60_000,
      ).catch(async (error: unknown) => {
        await started.stop("SIGKILL");
        throw new Error(`${(error as Error).message}\n${started.logs.slice(-30).join("\n")}`);
      });
    }
    return started;
  };

  const stopAll = async (signal: NodeJS.Signals) => {
    for (const service of [...running].reverse()) await processes.get(service)?.stop(signal);
    for (const drop of drops) await drop();
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
      for (const to of [...DEPENDS_ON[service], ...(service === "gateway" && running.includes("market") ? ["market" as const] : [])]) {
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
