// Which calls of each service may be repeated, for the retry policy
// (resilience.ts). Declared next to nothing else so that every client of a
// service (order, gateway) retries by the same rules. `satisfies` ties each
// entry to a real method of the generated service.
import type { Client } from "@connectrpc/connect";
import type { ExchangeService } from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import type { LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import type { MarketDataService } from "@kuku/contracts/kuku/market/v1/market_pb";
import type { OrderService } from "@kuku/contracts/kuku/order/v1/order_pb";
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

/**
 * PlaceOrder is unique per (user, idempotency key): a repeat returns the first
 * order. A repeated CancelOrder never cancels twice; at worst it answers
 * FAILED_PRECONDITION for an order the first attempt already cancelled.
 */
export const ORDER_IDEMPOTENCY = {
  placeOrder: { keyField: "idempotencyKey" },
  cancelOrder: { keyField: "orderId" },
  getOrder: "read",
  listOrders: "read",
  listOrderTransitions: "read",
} as const satisfies TableOf<Client<typeof OrderService>>;

/** Market data is read-only. StreamQuotes is a stream, which the policies leave alone. */
export const MARKET_IDEMPOTENCY = {
  getQuote: "read",
  getOrderBook: "read",
  listTrades: "read",
  listCandles: "read",
} as const satisfies TableOf<Client<typeof MarketDataService>>;
