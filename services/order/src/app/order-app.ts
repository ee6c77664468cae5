// The order use cases wired to each other: intake, settlement, cancel, reads
// and the reconciler share the order records and the downstream clients.
import type { Client } from "@connectrpc/connect";
import type * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import type * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import type { Logger } from "@kuku/platform";
import type pg from "pg";
import type { FeeSchedule } from "../domain/order.js";
import { Cancellation } from "./cancellation.js";
import type { Instruments } from "./instruments.js";
import { type CallFailures, Intake } from "./intake.js";
import { LedgerAccounts } from "./ledger-accounts.js";
import { createOrderMetrics } from "./metrics.js";
import { OrderRecords } from "./orders.js";
import { Queries } from "./queries.js";
import { Reconciler } from "./reconciler.js";
import { Settlement } from "./settlement.js";

export interface OrderAppDeps {
  readonly pool: pg.Pool;
  readonly ledger: Client<typeof ledger.LedgerService>;
  readonly exchange: Client<typeof exchange.ExchangeService>;
  readonly failures: CallFailures;
  readonly instruments: Instruments;
  readonly fees: FeeSchedule;
  /** How long SubmitOrder may take before the order is in doubt. */
  readonly exchangeTimeoutMs: number;
  readonly reconcile: { readonly intervalMs: number; readonly concurrency: number; readonly settleGraceMs: number };
  readonly logger: Logger;
}

export interface OrderApp {
  readonly intake: Intake;
  readonly settlement: Settlement;
  readonly cancellation: Cancellation;
  readonly queries: Queries;
  readonly reconciler: Reconciler;
}

export function createOrderApp(deps: OrderAppDeps): OrderApp {
  const { pool, ledger, exchange, exchangeTimeoutMs, fees, logger } = deps;
  const records = new OrderRecords(pool, logger);
  const accounts = new LedgerAccounts(ledger);
  const metrics = createOrderMetrics(pool);
  const settlement = new Settlement({
    pool,
    ledger,
    accounts,
    fees,
    instruments: deps.instruments,
    records,
    failures: deps.failures,
    logger,
    metrics,
  });
  const intake = new Intake({ ...deps, accounts, records, settlement, metrics });
  const queries = new Queries(pool, fees);
  const cancellation = new Cancellation({ exchange, exchangeTimeoutMs, records, settlement, queries });
  const reconciler = new Reconciler({ pool, exchange, exchangeTimeoutMs, ...deps.reconcile, intake, cancellation, settlement, logger });
  return { intake, settlement, cancellation, queries, reconciler };
}
