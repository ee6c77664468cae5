import type { BenchCommand } from "../lib/command.js";
import { architectureMonolith } from "./architecture-monolith.js";
import { drillCommands } from "./drill.js";
import { exchangeJournal } from "./exchange-journal.js";
import { exchangeLegacy } from "./exchange-legacy.js";
import { exchangeMatching } from "./exchange-matching.js";
import { gatewayAuth } from "./gateway-auth.js";
import { gatewayHop } from "./gateway-hop.js";
import { identity } from "./identity.js";
import { infraFootprint } from "./infra-footprint.js";
import { ledgerBulk } from "./ledger-bulk.js";
import { ledgerEngines } from "./ledger-engines.js";
import { ledgerIsolation } from "./ledger-isolation.js";
import { ledgerTransfers } from "./ledger-transfers.js";
import { locks } from "./locks.js";
import { locksDrill } from "./locks-drill.js";
import { marketBrokers } from "./market-brokers.js";
import { marketCache } from "./market-cache.js";
import { marketFanout } from "./market-fanout.js";
import { observability } from "./observability.js";
import { orderUpdates } from "./order-updates.js";
import { orders } from "./orders.js";
import { orders2pc } from "./orders-2pc.js";
import { ordersPool } from "./orders-pool.js";
import { reads } from "./reads.js";
import { rpc } from "./rpc.js";
import { rpcFormats } from "./rpc-formats.js";
import { rpcNetwork } from "./rpc-network.js";
import { runtimeGc } from "./runtime-gc.js";
import { runtimeKernel } from "./runtime-kernel.js";
import { soak } from "./soak.js";
import { surge } from "./surge.js";

/** Every benchmark the CLI knows, by name. */
export const COMMANDS: readonly BenchCommand[] = [
  ledgerTransfers,
  ledgerBulk,
  ledgerIsolation,
  ledgerEngines,
  exchangeMatching,
  exchangeJournal,
  exchangeLegacy,
  orders,
  orders2pc,
  ordersPool,
  orderUpdates,
  surge,
  reads,
  soak,
  locks,
  locksDrill,
  marketFanout,
  marketBrokers,
  marketCache,
  gatewayAuth,
  gatewayHop,
  identity,
  observability,
  rpc,
  rpcFormats,
  rpcNetwork,
  runtimeGc,
  runtimeKernel,
  infraFootprint,
  architectureMonolith,
  ...drillCommands(),
];
