import type pg from "pg";
import type { Logger } from "pino";
import { enumVar } from "./config.js";
import { identityServerInterceptor, loadIdentity, setDefaultIdentity } from "./identity.js";
import { createLogger } from "./logger.js";
import { type DatabaseConfig, openDatabase } from "./pg.js";
import { type ServerOptions, shutdownOnSignal, startServer } from "./server.js";
import { initTracing } from "./tracing.js";

/** What every service's config carries besides its own settings. */
export interface ServiceConfig extends DatabaseConfig {
  readonly host: string;
  readonly port: number;
  /** The admin listener (/metrics, /healthz, /readyz): see adminConfigShape. */
  readonly adminHost: string;
  readonly adminPort: number;
  /** See identityConfigShape. */
  readonly identityKey: string | undefined;
  readonly identityTrust: string | undefined;
  readonly drainTimeoutMs: number;
}

export interface ServiceContext<C extends ServiceConfig> {
  readonly name: string;
  readonly logger: Logger;
  readonly config: C;
  /** The service's own database, migrated. */
  readonly pool: pg.Pool;
  /** Run at shutdown after the server drained, in reverse order of registration, before the pool closes. */
  onStop(stop: () => Promise<unknown> | unknown): void;
}

/** What a service's wiring hands back: its RPC services, server extras and what to do once serving. */
export interface ServiceWiring {
  readonly services: ServerOptions["services"];
  readonly server?: Omit<Partial<ServerOptions>, "name" | "host" | "port" | "logger" | "services">;
  /** Logged with "<name> ready". */
  readonly ready?: Readonly<Record<string, unknown>>;
  /** Work that may take long and must not hold up serving (e.g. joining a Kafka consumer group). */
  afterServing?(): Promise<void>;
}

export interface ServiceSpec<C extends ServiceConfig> {
  readonly name: string;
  readonly loadConfig: () => C;
  /** The service's migrations, applied before anything is served. */
  readonly migrationsDir: string;
  wire(context: ServiceContext<C>): Promise<ServiceWiring>;
}

/**
 * The skeleton every main.ts shares: logger, config, tracing, database,
 * the service's own wiring, the server, and a graceful drain on SIGTERM
 * (server first, then the service's resources, then the pool and tracing).
 */
export async function runService<C extends ServiceConfig>(spec: ServiceSpec<C>): Promise<void> {
  const logger = createLogger(spec.name);
  const config = spec.loadConfig();
  const identity = loadIdentity(spec.name, config);
  if (identity === undefined) logger.warn("development mode without identity keys: every caller is trusted");
  // Its clients present this identity; its server checks every caller's.
  setDefaultIdentity(identity);
  const stopTracing = await initTracing(spec.name);
  const pool = await openDatabase(config, { applicationName: `kuku-${spec.name}`, migrationsDir: spec.migrationsDir }, logger);
  const stops: (() => Promise<unknown> | unknown)[] = [];
  const wiring = await spec.wire({ name: spec.name, logger, config, pool, onStop: (stop) => stops.push(stop) });
  const server = await startServer({
    name: spec.name,
    host: config.host,
    port: config.port,
    admin: { host: config.adminHost, port: config.adminPort },
    logger,
    drainTimeoutMs: config.drainTimeoutMs,
    ...wiring.server,
    gateInterceptors: [
      ...(identity === undefined ? [] : [identityServerInterceptor(identity)]),
      ...(wiring.server?.gateInterceptors ?? []),
    ],
    // KUKU_GRPC_SERVER=connect|grpc-js overrides the service's choice: a way back without a build, and both measured on one build.
    grpcServer: enumVar("KUKU_GRPC_SERVER", wiring.server?.grpcServer ?? "connect", ["connect", "grpc-js"]).parse(process.env),
    services: wiring.services,
  });
  logger.info({ port: server.port, adminPort: server.adminPort, ...wiring.ready }, `${spec.name} ready`);
  shutdownOnSignal(server, logger, async () => {
    for (const stop of stops.reverse()) await stop();
    await pool.end();
    await stopTracing();
  });
  await wiring.afterServing?.();
}
