// Ledger, exchange and order as real processes on fresh databases, the order
// service reaching the ledger and the exchange through a private toxiproxy
// (links "ledger" and "exchange"). Any service can be killed (SIGKILL) and
// started again on the same port. The order service watches `faultFile`: a
// drill is applied by writing it, lifted by removing it.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Client } from "@connectrpc/connect";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { createServiceClient } from "@kuku/platform";
import { createTestDatabase, startServiceProcess, type ServiceProcess, type TestDatabase } from "@kuku/platform/testing";
import { PrivatePostgres } from "./private-postgres.js";
import { Toxiproxy } from "./toxiproxy.js";

const SERVICES_DIR = fileURLToPath(new URL("../../../../services/", import.meta.url));
export type ServiceName = "ledger" | "exchange" | "order";

export interface DrillStack {
  readonly ledger: Client<typeof ledger.LedgerService>;
  readonly exchange: Client<typeof exchange.ExchangeService>;
  readonly orders: Client<typeof api.OrderService>;
  readonly toxiproxy: Toxiproxy;
  /** Where the order service looks for a fault file (absent at start). */
  readonly faultFile: string;
  /** The drill's own PostgreSQL, when asked for (it may be crashed); else the shared one. */
  readonly postgres: PrivatePostgres | undefined;
  /** Every log line of every process of this service so far (the order service's carry the policy events). */
  logsOf(service: ServiceName): string[];
  /** SIGKILL (no drain) or SIGTERM, then the same service again on the same port. */
  restart(service: ServiceName, signal: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export async function startDrillStack(options: { orderEnv: Record<string, string>; privatePostgres?: boolean }): Promise<DrillStack> {
  const faultFile = join(mkdtempSync(join(tmpdir(), "kuku-drill-")), "faults.yaml");
  const postgres = options.privatePostgres === true ? await PrivatePostgres.start() : undefined;
  const databases: TestDatabase[] =
    postgres === undefined ? [await createTestDatabase("drill_ledger"), await createTestDatabase("drill_order")] : [];
  const ledgerDb = { url: postgres === undefined ? databases[0]!.url : await postgres.createDatabase("kuku_drill_ledger") };
  const orderDb = { url: postgres === undefined ? databases[1]!.url : await postgres.createDatabase("kuku_drill_order") };
  const toxiproxy = await Toxiproxy.start();
  const processes = new Map<ServiceName, ServiceProcess>();
  const ports = new Map<ServiceName, number>();
  const earlierLogs = new Map<ServiceName, string[]>([["ledger", []], ["exchange", []], ["order", []]]);
  const consumerGroup = `kuku-order-drill-${randomUUID()}`;
  let ledgerLink = 0;
  let exchangeLink = 0;

  const envOf = (service: ServiceName): Record<string, string> => {
    const port = String(ports.get(service) ?? 0);
    switch (service) {
      case "ledger":
        return { LEDGER_PORT: port, LEDGER_DATABASE_URL: ledgerDb.url, LOG_LEVEL: "info" };
      case "exchange":
        return { EXCHANGE_PORT: port, LOG_LEVEL: "info" };
      case "order":
        return {
          ORDER_PORT: port, ORDER_DATABASE_URL: orderDb.url, ORDER_CONSUMER_GROUP: consumerGroup, LOG_LEVEL: "debug",
          ORDER_LEDGER_URL: `http://127.0.0.1:${ledgerLink}`, ORDER_EXCHANGE_URL: `http://127.0.0.1:${exchangeLink}`,
          ORDER_FAULT_FILE: faultFile, ...options.orderEnv,
        };
    }
  };
  const start = async (service: ServiceName) => {
    const started = await startServiceProcess({ cwd: `${SERVICES_DIR}${service}`, env: envOf(service), startTimeoutMs: 60_000 });
    processes.set(service, started);
    ports.set(service, started.port);
    return started;
  };

  try {
    await start("ledger");
    await start("exchange");
    ledgerLink = await toxiproxy.link("ledger", `127.0.0.1:${ports.get("ledger")}`);
    exchangeLink = await toxiproxy.link("exchange", `127.0.0.1:${ports.get("exchange")}`);
    const order = await start("order");
    // A new consumer group reads from the topic's end: fills are only ours once it has joined.
    for (let waited = 0; !order.logs.some((l) => l.includes("executions consumer joined")); waited += 100) {
      if (waited > 60_000) throw new Error("the order service did not join its consumer group");
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    for (const p of processes.values()) await p.stop("SIGKILL");
    await toxiproxy.stop();
    for (const d of databases) await d.drop();
    await postgres?.stop();
    throw error;
  }

  const url = (s: ServiceName) => `http://127.0.0.1:${ports.get(s)}`;
  return {
    ledger: createServiceClient(ledger.LedgerService, { baseUrl: url("ledger"), timeoutMs: 10_000 }),
    exchange: createServiceClient(exchange.ExchangeService, { baseUrl: url("exchange"), timeoutMs: 10_000 }),
    orders: createServiceClient(api.OrderService, { baseUrl: url("order"), timeoutMs: 10_000 }),
    toxiproxy,
    faultFile,
    postgres,
    logsOf: (service) => [...earlierLogs.get(service)!, ...(processes.get(service)?.logs ?? [])],
    async restart(service, signal) {
      const old = processes.get(service)!;
      await old.stop(signal);
      earlierLogs.get(service)!.push(...old.logs);
      // Same port, so every client and link stays valid; the listening socket is gone with the process.
      await start(service);
    },
    async stop() {
      for (const p of processes.values()) await p.stop("SIGTERM");
      await toxiproxy.stop();
      for (const d of databases) await d.drop();
      await postgres?.stop();
      rmSync(dirname(faultFile), { recursive: true, force: true });
    },
  };
}
