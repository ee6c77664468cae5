// Which calls of each service may be repeated, for the retry policy
// (resilience.ts). Declared next to nothing else so that every client of a
// service (order, gateway) retries by the same rules. `satisfies` ties each
// entry to a real method of the generated service.
import type { Client } from "@connectrpc/connect";
import type { ExchangeService } from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import type { LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import type { Idempotency } from "./resilience.js";

type TableOf<S> = Partial<Record<keyof S, Idempotency>>;

/** Every ledger mutation stores its answer under its request id: a repeat gets the first answer. */
export const LEDGER_IDEMPOTENCY = {
  openAccount: { keyField: "requestId" },
  deposit: { keyField: "requestId" },
  withdraw: { keyField: "requestId" },
  transfer: { keyField: "requestId" },
  placeHold: { keyField: "requestId" },
  releaseHold: { keyField: "requestId" },
  settleHold: { keyField: "requestId" },
  // Creates the system account on first use, the same one every time.
  getSystemAccount: "read",
  getBalances: "read",
  getHold: "read",
  listEntries: "read",
  verifyIntegrity: "read",
} as const satisfies TableOf<Client<typeof LedgerService>>;

/**
 * The exchange keeps one record per client order id: a repeated SubmitOrder
 * returns that record (it does not trade twice), and an id fenced by a
 * cancel stays refused. CancelOrder is keyed the same way. Left out on
 * purpose: CloseSession (a repeat expires orders that arrived in between)
 * and SetFaultMode (an operator's switch, not a call to hide failures of).
 */
export const EXCHANGE_IDEMPOTENCY = {
  submitOrder: { keyField: "clientOrderId" },
  cancelOrder: { keyField: "clientOrderId" },
  orderStatus: "read",
  listInstruments: "read",
} as const satisfies TableOf<Client<typeof ExchangeService>>;
